"""SLO attainment, goodput and the attainment test on rows whose answers are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from lens.analysis import slo
from lens.analysis.frames import records_to_frame
from lens.analysis.summary import summarize
from lens.errors import AnalysisError
from lens.record import RequestRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(i: int, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id="r", request_id=f"q-{i}", started_at=T0 + timedelta(seconds=i), target="a",
        provider="sim", model="m", dialect="openai_chat", ttft_ms=100.0, tpot_ms=10.0,
        e2e_ms=1000.0, n_chunks=50, itl_p99_ms=20.0, stalls=0, output_tokens=50,
    )  # fmt: skip
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def frame(*recs: RequestRecord) -> pd.DataFrame:
    return records_to_frame(list(recs))


def test_meets_every_rule() -> None:
    df = frame(
        rec(0),                                        # meets
        rec(1, ttft_ms=501.0),                         # misses the TTFT bound
        rec(2, status="timeout"),                      # failed requests never meet
        rec(3, ttft_ms=None),                          # a missing bound value misses
        rec(4, tpot_ms=None, itl_p99_ms=None, stalls=None, n_chunks=1),  # no gap: meets
        rec(5, tpot_ms=None, n_chunks=50),             # gap metric missing with gaps: misses
        rec(6, stalls=2),                              # two stalls
        rec(7, ttft_ms=500.0),                         # on the bound: meets (<=)
    )  # fmt: skip
    got = slo.meets(df, ["ttft_ms<=500", "tpot_ms<=40", "stalls<1"]).tolist()
    assert got == [True, False, False, False, True, False, False, True]
    assert slo.meets(df, {"ttft_ms": "<500"}).tolist()[7] is False
    with pytest.raises(AnalysisError, match="no SLOs"):
        slo.meets(df, [])


def test_attainment_counts_excludes_warmup_and_cancelled() -> None:
    df = frame(*[rec(i) for i in range(6)], rec(6, ttft_ms=900.0), rec(7, status="overloaded"),
               rec(8, status="cancelled", ttft_ms=50.0), rec(9, warmup=True, ttft_ms=1.0))
    a = slo.attainment_of(df, ["ttft_ms<=500"])
    assert (a.n, a.met, a.cancelled) == (8, 6, 1)
    assert a.attainment == pytest.approx(6 / 8)
    assert a.by_objective == {"ttft_ms<=500": pytest.approx(6 / 8)}
    assert (a.ci_low, a.ci_high) == pytest.approx(slo.wilson_interval(6, 8))


def test_goodput_over_each_runs_wall_time() -> None:
    # run r: starts at 0 s .. 3 s, the last ends 3 s + 2 s = 5 s -> wall 5 s.
    # run s: one request 10 s after, lasting 1.5 s -> wall 1.5 s. Total 6.5 s, not 11.5 s.
    recs = [rec(i, output_tokens=10 * (i + 1)) for i in range(3)]
    recs.append(rec(3, e2e_ms=2000.0, ttft_ms=900.0, output_tokens=99))
    recs.append(rec(10, run_id="s", e2e_ms=1500.0, output_tokens=7))
    df = frame(*recs)
    assert slo.wall_seconds(df) == pytest.approx(6.5)
    a = slo.attainment_of(df, ["ttft_ms<=500"])
    assert a.met == 4 and a.goodput_rps == pytest.approx(4 / 6.5)
    assert a.goodput_tok_s == pytest.approx((10 + 20 + 30 + 7) / 6.5)  # the miss's 99 not counted


def test_attainment_table_per_group_with_per_slo_shares() -> None:
    df = frame(*[rec(i, target="a") for i in range(4)],
               *[rec(10 + i, target="b", ttft_ms=600.0 if i else 100.0, tpot_ms=50.0)
                 for i in range(4)])
    t = slo.attainment(df, ["ttft_ms<=500", "tpot_ms<=40"]).set_index("target")
    assert t.loc["a", "attainment"] == 1.0 and t.loc["b", "attainment"] == 0.0
    assert t.loc["b", "ttft_ms<=500"] == 0.25 and t.loc["b", "tpot_ms<=40"] == 0.0
    # concatenated runs repeat index labels: still counted once each
    both = pd.concat([df, df.assign(run_id="again")])
    assert slo.attainment_of(both, ["ttft_ms<=500"]).n == 16


def test_wilson_interval_known_values_and_coverage() -> None:
    lo, hi = slo.wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert slo.wilson_interval(0, 20)[0] == 0.0 and slo.wilson_interval(20, 20)[1] == 1.0
    assert all(np.isnan(slo.wilson_interval(0, 0)))
    # coverage at p = 0.95, n = 60 (where Wald under-covers): close to the nominal 95%
    rng = np.random.default_rng(7)
    k = rng.binomial(60, 0.95, 4000)
    cover = np.mean([lo <= 0.95 <= hi for lo, hi in (slo.wilson_interval(int(x), 60) for x in k)])
    assert 0.92 <= cover <= 0.98


def test_attainment_test_verdicts_and_tests() -> None:
    good = frame(*[rec(i) for i in range(200)])
    worse = frame(*[rec(i, ttft_ms=900.0 if i % 4 == 0 else 100.0) for i in range(200)])
    t = slo.attainment_test(good, worse, ["ttft_ms<=500"], max_drop=0.05)
    assert t.verdict == "regressed" and t.diff == pytest.approx(-0.25)
    assert t.test == "two-proportion z"
    p = 0.875
    z = -0.25 / np.sqrt(p * (1 - p) * (2 / 200))
    assert t.p_value == pytest.approx(2 * sps.norm.sf(abs(z)))
    # a drop smaller than the allowed one does not regress; the reverse improves
    assert slo.attainment_test(good, worse, ["ttft_ms<=500"], max_drop=0.30).verdict == \
        "no significant change"
    assert slo.attainment_test(worse, good, ["ttft_ms<=500"]).verdict == "improved"
    # small samples: Fisher's exact test
    small = slo.attainment_test(frame(*[rec(i) for i in range(8)]),
                                frame(*[rec(i, ttft_ms=900.0) for i in range(8)]), ["ttft_ms<=500"])
    assert small.test == "fisher exact"
    assert small.p_value == pytest.approx(sps.fisher_exact([[8, 0], [0, 8]]).pvalue)
    none = slo.attainment_test(good, frame(rec(0, status="cancelled")), ["ttft_ms<=500"])
    assert none.verdict == "insufficient data"


def test_summary_carries_slo_and_stalls() -> None:
    df = frame(rec(0), rec(1, stalls=3, itl_max_ms=900.0), rec(2, stalls=1, itl_max_ms=300.0),
               rec(3, status="timeout", stalls=5))
    (s,) = summarize(df, objectives=["stalls<=0"])
    assert (s.stalls, s.stalled_requests) == (4, 2)  # the failed request's stalls not counted
    assert s.itl_max_ms.n == 2 and s.itl_max_ms.p50 == pytest.approx(600.0)
    assert s.slo is not None and (s.slo["met"], s.slo["n"]) == (1, 4)
    assert s.to_dict()["slo"]["objectives"] == ["stalls<=0"]
    (plain,) = summarize(df)
    assert plain.slo is None
