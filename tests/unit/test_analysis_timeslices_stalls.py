"""Stalls recounted from chunk rows, per-window summaries and drift, on known rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lens.analysis import charts, stalls, timeslices
from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.errors import AnalysisError
from lens.probe.measure import STALL_MS
from lens.record import ChunkTiming, RequestRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(i: int, t_s: float, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id="r", request_id=f"q-{i}", started_at=T0 + timedelta(seconds=t_s), target="a",
        provider="sim", model="m", dialect="openai_chat", ttft_ms=100.0, tpot_ms=10.0,
        e2e_ms=400.0, n_chunks=4, output_tokens=4, stalls=0, itl_max_ms=10.0,
        scheduled_ms=t_s * 1000)
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def chunk_rows() -> pd.DataFrame:
    def stream(rid: str, times: list[float], kinds: list[str] | None = None) -> list[ChunkTiming]:
        kinds = kinds or ["text"] * len(times)
        return [ChunkTiming(rid, i, t, k, 1 if k in ("text", "reasoning") else 0)
                for i, (t, k) in enumerate(zip(times, kinds, strict=True))]

    rows = stream("q-0", [10, 20, 30, 40])                            # no stall
    rows += stream("q-1", [10, 260, 270, 900])                        # gaps 250 (not >), 10, 630
    rows += stream("q-2", [5, 400, 401, 2000, 2100], ["reasoning", "text", "usage", "text", "other"])
    rows += stream("q-3", [50])                                       # one event, no gap
    # out of order on purpose: gaps follow the chunk index, not row order
    return chunks_to_frame(list(reversed(rows)))


def test_stall_frame_counts_gaps_strictly_over_the_threshold() -> None:
    f = stall_frame = stalls.stall_frame(chunk_rows()).set_index("request_id")
    assert stall_frame.loc["q-0", ["events", "gaps", "stalls"]].tolist() == [4, 3, 0]
    assert f.loc["q-1", "stalls"] == 1 and f.loc["q-1", "itl_max_ms"] == 630.0
    assert f.loc["q-1", "stalled_ms"] == 630.0
    # q-2: token events at 5 (reasoning), 400, 2000 -> gaps 395 and 1600; usage/other ignored
    assert f.loc["q-2", ["events", "gaps", "stalls"]].tolist() == [3, 2, 2]
    assert f.loc["q-2", "itl_max_ms"] == 1600.0 and f.loc["q-2", "stalled_ms"] == 1995.0
    assert f.loc["q-3", "gaps"] == 0 and np.isnan(f.loc["q-3", "itl_max_ms"])
    strict = stalls.stall_frame(chunk_rows(), threshold_ms=249.9).set_index("request_id")
    assert strict.loc["q-1", "stalls"] == 2  # the 250 ms gap counts below 250


def test_stall_summary_from_columns_and_recounted_from_chunks() -> None:
    reqs = records_to_frame([
        rec(0, 0), rec(1, 1, stalls=1, itl_max_ms=630.0), rec(2, 2, stalls=2, itl_max_ms=1600.0),
        rec(3, 3, n_chunks=1, stalls=0, itl_max_ms=None),
        rec(4, 4, status="timeout", stalls=3), rec(5, 5, warmup=True, stalls=9)])
    s = stalls.stall_summary(reqs).iloc[0]
    assert (s["requests"], s["stalled_requests"], s["stalls"]) == (4, 2, 3)
    assert s["threshold_ms"] == STALL_MS and s["stalled_fraction"] == 0.5
    assert s["itl_max_ms_max"] == 1600.0
    c = stalls.stall_summary(reqs, chunk_rows(), threshold_ms=100).iloc[0]
    # at 100 ms: q-1 has 250 and 630 -> 2; q-2 has 2
    assert (c["stalled_requests"], c["stalls"]) == (2, 4)
    with pytest.raises(AnalysisError, match="needs chunk rows"):
        stalls.stall_summary(reqs, threshold_ms=100)


def test_timeslices_windows_per_run_with_empty_and_partial_windows() -> None:
    recs = [rec(i, t) for i, t in enumerate([0.0, 1.0, 4.0, 25.0, 29.9])]
    recs[1].ttft_ms = 700.0
    recs += [rec(10, 12.0, status="overloaded", ttft_ms=None)]
    # a second run 1 h later: aligned at its own start
    recs += [RequestRecord(**{**rec(20, 3600.0).to_dict(), "run_id": "r2", "request_id": "z"})]
    recs += [rec(30, -5.0, warmup=True)]
    sl = timeslices.timeslices(records_to_frame(recs), window_s=10, objectives=["ttft_ms<=500"])
    assert sl["window"].tolist() == [0, 1, 2]
    assert sl["n"].tolist() == [4, 1, 2] and sl["ok"].tolist() == [4, 0, 2]
    assert sl["error_rate"].tolist() == [0.0, 1.0, 0.0]
    assert sl["partial"].tolist() == [False, False, True]
    assert sl["attainment"].tolist() == [0.75, 0.0, 1.0]
    assert sl["ttft_ms_p95"].iloc[0] == pytest.approx(np.quantile([100, 700, 100, 100], 0.95))
    assert np.isnan(sl["ttft_ms_p50"].iloc[1])
    assert sl["started_per_s"].tolist() == [0.4, 0.1, 0.2]
    by_plan = timeslices.timeslices(records_to_frame(recs[:5]), window_s=10, clock="scheduled")
    assert by_plan["n"].tolist() == [3, 0, 2]  # an empty window is listed
    with pytest.raises(AnalysisError, match="window_s"):
        timeslices.timeslices(records_to_frame(recs), window_s=0)


def test_drift_sees_a_rising_metric() -> None:
    rng = np.random.default_rng(3)
    recs = [rec(i, i * 0.5, ttft_ms=100 + 4 * i + float(rng.normal(0, 5))) for i in range(60)]
    recs += [rec(100 + i, i * 0.5, target="flat", ttft_ms=100 + float(rng.normal(0, 5)))
             for i in range(60)]
    d = timeslices.drift(records_to_frame(recs)).set_index("target")
    assert d.loc["a", "rho"] > 0.9 and d.loc["a", "p_value"] < 1e-6
    assert abs(d.loc["flat", "rho"]) < 0.4 and d.loc["flat", "n"] == 60


def test_charts_for_windows_and_stalls() -> None:
    reqs = records_to_frame([rec(i, i, itl_max_ms=float(50 * i + 1)) for i in range(20)])
    sl = timeslices.timeslices(reqs, window_s=5, objectives=["ttft_ms<=500"])
    spec = charts.timeslice_chart(sl, "attainment").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["area", "line", "point"]
    s = charts.stall_chart(reqs).to_dict()
    curve, rule = (s["datasets"][layer["data"]["name"]] for layer in s["layer"])
    assert rule == [{"threshold_ms": STALL_MS}]
    assert "75.0% of requests stalled" in s["title"]["subtitle"]  # gaps 251..951: 15 of 20
    assert [v["share_longer"] for v in curve][-1] == 0.0 and len(curve) == 20
