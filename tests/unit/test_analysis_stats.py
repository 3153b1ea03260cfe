from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_analysis import make_frame

from lens.analysis import stats
from lens.errors import AnalysisError


def _frame(x: np.ndarray, status: list[str] | None = None, **cols: object) -> pd.DataFrame:
    n = len(x)
    return pd.DataFrame({"ttft_ms": x, "e2e_ms": x * 2, "warmup": False,
                         "status": status or ["ok"] * n, **cols})


def test_summary_matches_numpy_and_excludes_warmup() -> None:
    df = make_frame(300, warmup=20, error_every=10)
    s = stats.summarize(df, metrics=["ttft_ms"], reps=500)
    used = df.loc[~df.warmup.astype(bool) & (df.status == "ok"), "ttft_ms"].to_numpy()
    row = s.loc[s.stat == "p95"].iloc[0]
    assert row["n"] == len(used) == 280 - 28
    assert row["value"] == pytest.approx(np.quantile(used, 0.95))
    assert row["ci_low"] < row["value"] < row["ci_high"]
    assert s.loc[s.stat == "mean", "value"].iloc[0] == pytest.approx(used.mean())
    assert set(s.stat) == {"mean", "p50", "p90", "p95", "p99"}
    table = stats.summary_table(stats.summarize(df, reps=200))
    assert {"mean", "p50", "p99"} <= set(table.columns)


def test_summary_per_group() -> None:
    df = pd.concat([make_frame(50, region="us-east-1"), make_frame(70, region="eu-west-1",
                                                                 run_id="b")])
    s = stats.summarize(df, metrics=["e2e_ms"], reps=200)
    n = s.loc[s.stat == "p50"].set_index("region")["n"]
    assert n.to_dict() == {"eu-west-1": 70, "us-east-1": 50}


def test_error_rates_by_status() -> None:
    df = make_frame(100, error_every=4, warmup=4)
    er = stats.error_rates(df)
    row = er.iloc[0]
    assert row["count"] == 96 and row["errors"] == 24
    assert row["error_rate"] == pytest.approx(0.25)
    assert row["rate_rate_limited"] == pytest.approx(0.25)


def test_cliffs_delta_known_values() -> None:
    d, p = stats.cliffs_delta(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    assert 0 < p < 0.2
    assert d == 1.0
    d, _ = stats.cliffs_delta(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert d == 0.0
    d, _ = stats.cliffs_delta(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    assert d == 0.0  # one above, one below each


def test_verdict_rule() -> None:
    assert stats.verdict(1.2, 1.05, 1.3, 0.10, False) == "regressed"
    assert stats.verdict(1.2, 0.95, 1.3, 0.10, False) == "no significant change"  # CI has 1
    assert stats.verdict(1.05, 1.01, 1.1, 0.10, False) == "no significant change"  # < thr
    assert stats.verdict(0.8, 0.7, 0.9, 0.10, False) == "improved"
    assert stats.verdict(0.8, 0.7, 0.9, 0.10, True) == "regressed"  # tokens/s fell
    # symmetric thresholds: a 10% threshold flags a drop of more than 10%, not 9.1%
    assert stats.verdict(0.905, 0.88, 0.93, 0.10, True) == "no significant change"
    assert stats.verdict(0.89, 0.86, 0.92, 0.10, True) == "regressed"
    assert stats.verdict(0.89, 0.86, 0.92, 0.10, False) == "improved"
    assert stats.verdict(float("nan"), float("nan"), float("nan"), 0.1, False) == "insufficient data"


def test_tail_percentiles_need_data_beyond_them() -> None:
    """p99 of 30 requests has no observation beyond it: no verdict, not a false alarm.
    (With the percentile bootstrap, identical distributions were flagged ~14% of the time.)"""
    rng = np.random.default_rng(3)
    b, c = _frame(rng.lognormal(5, 0.6, 30)), _frame(rng.lognormal(5, 0.6, 30) * 3)
    out = stats.compare(b, c, ["ttft_ms"], [50, 95, 99], 0.10).set_index("stat")
    assert out.loc["p99", "verdict"] == "insufficient data"
    assert out.loc["p50", "verdict"] == "regressed"
    assert out.loc["p95", "verdict"] != "insufficient data"  # 1.5 observations beyond it
    assert out.loc["p99", "cand"] > out.loc["p99", "base"]  # estimates are still reported


def test_compare_columns_and_thresholds() -> None:
    rng = np.random.default_rng(0)
    b, c = _frame(rng.lognormal(5, 0.3, 500)), _frame(rng.lognormal(5, 0.3, 500) * 1.5)
    out = stats.compare(b, c, ["ttft_ms", "e2e_ms"], [50, 95], {"ttft_ms": 0.1, "*": 0.8})
    assert list(out.metric) == ["ttft_ms", "ttft_ms", "e2e_ms", "e2e_ms"]
    t = out.set_index(["metric", "stat"])
    assert t.loc[("ttft_ms", "p50"), "verdict"] == "regressed"
    assert t.loc[("e2e_ms", "p50"), "verdict"] == "no significant change"  # 1.5 < 1.8
    row = t.loc[("ttft_ms", "p95")]
    assert row["ratio_low"] < row["ratio"] < row["ratio_high"]
    assert row["diff"] == pytest.approx(row["cand"] - row["base"])
    assert row["cliffs_delta"] > 0.5 and row["mw_p"] < 1e-6
    with pytest.raises(AnalysisError, match="unknown metric"):
        stats.compare(b, c, ["nope"])


def test_calibration_power_and_false_positives() -> None:
    """Over many seeds: a 30% shift of the whole distribution is flagged as a p95
    regression (threshold 10%) at least 90% of the time; identical distributions are
    flagged (either way, threshold 0) at most alpha + margin of the time."""
    reps, n, alpha = 120, 300, 0.05
    detected = false_pos = 0
    for seed in range(reps):
        rng = np.random.default_rng(seed)
        base = _frame(rng.lognormal(5, 0.4, n))
        shifted = _frame(rng.lognormal(5, 0.4, n) * 1.3)
        same = _frame(rng.lognormal(5, 0.4, n))
        r = stats.compare(base, shifted, ["ttft_ms"], [95], 0.10, reps=1000, seed=seed)
        detected += r["verdict"].iloc[0] == "regressed"
        r = stats.compare(base, same, ["ttft_ms"], [95], 0.0, reps=1000, seed=seed)
        false_pos += r["verdict"].iloc[0] != "no significant change"
    assert detected / reps >= 0.9
    assert false_pos / reps <= alpha + 0.04


def test_error_rate_tests() -> None:
    n = 400
    base = _frame(np.ones(n), ["ok"] * (n - 8) + ["timeout"] * 8)
    worse = _frame(np.ones(n), ["ok"] * (n - 40) + ["timeout"] * 40)
    t = stats.error_rate_test(base, worse)
    assert t.test == "two-proportion z" and t.verdict == "regressed" and t.p_value < 1e-4
    assert t.diff == pytest.approx(0.08)
    assert stats.error_rate_test(base, worse, max_increase=0.10).verdict == "no significant change"
    small_b = _frame(np.ones(20), ["ok"] * 20)
    small_c = _frame(np.ones(20), ["ok"] * 19 + ["network"])
    t = stats.error_rate_test(small_b, small_c)
    assert t.test == "fisher exact" and t.p_value == pytest.approx(1.0)
    assert t.verdict == "no significant change"


def test_error_rate_false_positive_rate() -> None:
    rng = np.random.default_rng(11)
    flagged = 0
    reps = 300
    for _ in range(reps):
        st = lambda: list(np.where(rng.random(300) < 0.05, "timeout", "ok"))  # noqa: E731
        flagged += stats.error_rate_test(_frame(np.ones(300), st()),
                                         _frame(np.ones(300), st())).verdict != "no significant change"
    assert flagged / reps <= 0.05 + 0.03


def test_markdown_table() -> None:
    md = stats.to_markdown(pd.DataFrame({"a": [1.23456, float("nan")], "b": ["x|y", "z"]}))
    assert md.splitlines()[0] == "| a | b |"
    assert "1.23" in md and "x\\|y" in md
