from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lens.analysis.changepoints import detect, series, to_frame


def test_steps_found_with_levels() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(200, 8, 40), rng.normal(260, 8, 30), rng.normal(180, 8, 30)]
    times = pd.date_range("2025-01-01", periods=100, freq="D", tz="UTC")
    pts = detect(x, times)
    assert [p.index for p in pts] == pytest.approx([40, 70], abs=1)
    assert pts[0].time == times[pts[0].index]
    assert pts[0].before == pytest.approx(200, abs=5) and pts[0].after == pytest.approx(260, abs=5)
    assert pts[1].after == pytest.approx(180, abs=5)
    assert pts[0].rel_change == pytest.approx(0.30, abs=0.04)
    assert list(to_frame(pts).columns) == ["index", "time", "before", "after", "change",
                                           "rel_change"]


def test_scale_free_and_robust_to_outliers() -> None:
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(1.0, 0.02, 50), rng.normal(1.1, 0.02, 50)]
    x[[10, 60, 80]] *= 3  # single spikes are not level shifts
    assert [p.index for p in detect(x)] == pytest.approx([50], abs=1)


def test_no_change_in_noise_mostly() -> None:
    flagged = sum(bool(detect(np.random.default_rng(s).lognormal(5, 0.3, 80)))
                  for s in range(40))
    assert flagged <= 4


def test_short_or_flat_series() -> None:
    assert detect([1.0, 2.0, 3.0]) == []
    assert detect(np.full(30, 5.0)) == []


def test_series_from_runs() -> None:
    rows = []
    for i in range(12):
        for k in range(20):
            rows.append({"run_id": f"r{i}", "started_at": pd.Timestamp("2025-01-01", tz="UTC")
                         + pd.Timedelta(days=i, seconds=k), "ttft_ms": 100.0 + k + (50 if i >= 6 else 0),
                         "status": "ok", "warmup": k == 0})
    s = series(pd.DataFrame(rows))
    assert len(s) == 12 and s.index.is_monotonic_increasing
    assert s.iloc[0] == pytest.approx(np.quantile(np.arange(1, 20) + 100.0, 0.95))
    pts = detect(s)
    assert len(pts) == 1 and pts[0].index == 6
