"""Analysis of workload runs: client cancels are neither ok nor errors (stats, summary,
gate, status chart); prompt-cache hit rates; TTFT by turn."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from helpers_analysis import make_records

from lens.analysis import stats, summary
from lens.analysis.cache import cache_hit_rates, cold_warm, token_hit_rate
from lens.analysis.charts import error_rate_chart, ttft_by_turn
from lens.analysis.charts.status import status_frame
from lens.analysis.charts.turns import turn_frame
from lens.analysis.frames import records_to_frame
from lens.analysis.gate import GateThresholds, evaluate


def _with_cancels(n: int = 100, cancel_every: int = 4, **kw: object) -> pd.DataFrame:
    recs = make_records(n, error_every=10, **kw)  # type: ignore[arg-type]
    out = []
    for i, r in enumerate(recs):
        if r.status == "ok" and i % cancel_every == 0:
            r = dataclasses.replace(r, status="cancelled", error="cancelled by the client after 5 tokens",
                                    ttft_ms=r.ttft_ms, e2e_ms=(r.ttft_ms or 0) + 20)  # fmt: skip
        out.append(r)
    return records_to_frame(out)


def test_cancelled_is_neither_ok_nor_error() -> None:
    df = _with_cancels()
    st = df["status"].astype(str)
    n_cancel, n_fail, n_ok = (st == "cancelled").sum(), (st == "rate_limited").sum(), (st == "ok").sum()
    assert n_cancel > 10 and n_fail == 10
    er = stats.error_rates(df, by=("target",)).iloc[0]
    assert (er["count"], er["cancelled"], er["errors"]) == (100, n_cancel, 10)
    assert er["error_rate"] == pytest.approx(10 / (100 - n_cancel))
    assert er["rate_cancelled"] == pytest.approx(n_cancel / 100)
    (s,) = summary.summarize(df)
    assert (s.count, s.ok, s.cancelled, s.errors) == (100, n_ok, n_cancel, {"rate_limited": 10})
    assert s.error_rate == pytest.approx(10 / (100 - n_cancel))
    assert s.ttft_ms.n == n_ok  # latency from ok rows only
    # Latency summaries never see cancelled rows.
    long = stats.summarize(df, by=("target",), metrics=["ttft_ms"], reps=200)
    assert long["n"].iloc[0] == n_ok


def test_error_rate_test_and_gate_ignore_cancels() -> None:
    base = records_to_frame(make_records(200, error_every=20, seed=1))
    cand = _with_cancels(200, cancel_every=2, seed=2)  # half its ok requests cancelled
    t = stats.error_rate_test(base, cand)
    n_cancel = int((cand["status"].astype(str) == "cancelled").sum())
    assert t.cand_n == 200 - n_cancel and t.cand_errors == 20
    res = evaluate(base, cand, GateThresholds(max_p95_ttft_regression=None, max_error_rate=0.2))
    check = next(c for c in res.checks if c.name == "error rate")
    assert check.passed, check  # 20 errors of 200 - n_cancel judged requests, not 20 + n_cancel


def test_status_chart_leaves_cancels_out() -> None:
    df = _with_cancels()
    assert set(status_frame(df)["status"]) == {"rate_limited"}
    assert error_rate_chart(df).to_dict()["title"] == "Error rate by status and target"


def test_cache_hit_rates() -> None:
    recs = make_records(40)
    rows = []
    for i, r in enumerate(recs):
        cached = None if i % 10 == 0 else (r.input_tokens or 0) // 2 if i % 2 else 0
        rows.append(dataclasses.replace(r, cached_input_tokens=cached, warmup=i < 4))
    df = records_to_frame(rows)
    measured = [r for r in rows if not r.warmup and r.cached_input_tokens is not None]
    want = sum(r.cached_input_tokens for r in measured) / sum(r.input_tokens for r in measured)  # type: ignore[misc]
    assert token_hit_rate(df) == pytest.approx(want)
    h = cache_hit_rates(df).iloc[0]
    assert (h["requests"], h["reported"]) == (36, len(measured))
    assert h["hit_rate"] == pytest.approx(want)
    assert h["request_hit_rate"] == pytest.approx(sum(1 for r in measured if r.cached_input_tokens) / len(measured))
    assert token_hit_rate(df.assign(cached_input_tokens=pd.NA)) is None
    (s,) = summary.summarize(df)
    assert s.cache_hit_rate == pytest.approx(want)


def test_cold_warm_table() -> None:
    cold = records_to_frame([dataclasses.replace(r, cached_input_tokens=0) for r in make_records(200, seed=3)])
    warm = records_to_frame([dataclasses.replace(r, cached_input_tokens=(r.input_tokens or 0) * 3 // 4)
                             for r in make_records(200, seed=4, ttft_scale=0.5)])  # fmt: skip
    t = cold_warm(cold, warm, percentiles=(50,), reps=500)
    row = t.iloc[0]
    assert row["hit_rate_cold"] == 0 and row["hit_rate_warm"] == pytest.approx(0.75, abs=0.01)
    assert row["ratio"] < 0.8 and row["verdict"] == "improved"


def test_ttft_by_turn() -> None:
    recs = []
    for i, r in enumerate(make_records(60)):
        turn = i % 3 + 1
        recs.append(dataclasses.replace(r, session_id=f"s{i // 3}", turn=turn, ttft_ms=100.0 * turn,
                                        input_tokens=500 * turn, cached_input_tokens=400 * (turn - 1)))  # fmt: skip
    df = records_to_frame(recs)
    f = turn_frame(df)
    assert list(f["turn"]) == [1, 2, 3] and list(f["p50"]) == [100.0, 200.0, 300.0]
    assert list(f["n"]) == [20, 20, 20]
    assert list(f["cache_hit_rate"]) == pytest.approx([0.0, 400 / 1000, 800 / 1500])
    spec = ttft_by_turn(df).to_dict()
    assert spec["encoding"]["x"]["field"] == "turn"
    assert turn_frame(records_to_frame(make_records(5))).empty
    assert "no session turns" in ttft_by_turn(records_to_frame(make_records(5))).to_dict()["title"]


def test_report_shows_turns_and_prompt_cache() -> None:
    from lens.analysis.report import build_report

    recs = [dataclasses.replace(r, session_id=f"s{i // 2}", turn=i % 2 + 1,
                                cached_input_tokens=100 * (i % 2)) for i, r in enumerate(make_records(40))]  # fmt: skip
    rep = build_report(records_to_frame(recs))
    assert "ttft_by_turn" in rep.charts
    (cache,) = [t for name, t in rep.tables if name.startswith("Prompt cache")]
    assert cache["cached_input_tokens"].iloc[0] == 100 * 20
    plain = build_report(records_to_frame(make_records(40)))
    assert "ttft_by_turn" not in plain.charts
    assert not [n for n, _ in plain.tables if n.startswith("Prompt cache")]
