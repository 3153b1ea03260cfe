"""The gate's SLO checks, the capacity chart and the report section, on known rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers_analysis import make_frame

from lens.analysis import gate
from lens.analysis.capacity import CapacityResult, LevelResult
from lens.errors import ConfigError


def with_misses(df: pd.DataFrame, every: int) -> pd.DataFrame:
    """``df`` with every ``every``-th request's TTFT pushed past 1 s."""
    out = df.copy()
    out.loc[out.index % every == 0, "ttft_ms"] = 5000.0
    return out


def test_thresholds_file_slo_table_and_flag_merge(tmp_path: Path) -> None:
    p = tmp_path / "g.toml"
    p.write_text("min_attainment = 0.9\nmax_attainment_drop = 0.02\n"
                 "[slo]\nttft_ms = 800\ntpot_ms = '<=40'\n")
    t = gate.load_thresholds(p, slo={"ttft_ms": "<=600", "e2e_ms": "<=9000"})
    assert t.slo is not None
    assert [str(o) for o in t.slo.objectives()] == ["ttft_ms<=600", "tpot_ms<=40", "e2e_ms<=9000"]
    p.write_text("min_attainment = 0.9\n")
    with pytest.raises(ConfigError, match="need SLOs") as err:
        gate.load_thresholds(p)
    assert str(p) in str(err.value)
    p.write_text("[slo]\nttft = 800\n")
    with pytest.raises(ConfigError) as err:
        gate.load_thresholds(p)
    assert err.value.field == "slo.ttft"


def test_attainment_drop_fails_the_gate_and_is_reported() -> None:
    base = make_frame(400, seed=1)
    cand = with_misses(make_frame(400, seed=2, run_id="c"), 4)  # 25% now miss
    t = gate.GateThresholds(max_p95_ttft_regression=None, slo={"ttft_ms": 1000},
                            min_attainment=0.9, max_attainment_drop=0.05)
    res = gate.evaluate(base, cand, t)
    assert res.exit_code == 1 and res.attainment is not None
    checks = {c.name: c for c in res.checks}
    assert not checks["SLO attainment"].passed and not checks["SLO attainment drop"].passed
    assert res.attainment.base.attainment == 1.0
    assert res.attainment.cand.attainment == pytest.approx(0.75)
    md = gate.to_markdown(res, "base", "cand")
    assert "| SLO attainment drop | **FAIL** | -25.00%" in md
    assert "### SLOs: ttft_ms<=1000" in md and "| cand | 300/400 | 75.00% [" in md
    # the same runs with a tolerated drop and floor pass; equal runs pass
    lax = gate.GateThresholds(max_p95_ttft_regression=None, slo={"ttft_ms": 1000},
                              min_attainment=0.7, max_attainment_drop=0.3)
    assert gate.evaluate(base, cand, lax).passed
    assert gate.evaluate(base, make_frame(400, seed=3, run_id="d"), t).passed


def test_small_insignificant_drop_passes() -> None:
    base = make_frame(40, seed=1)
    cand = with_misses(make_frame(40, seed=2, run_id="c"), 20)  # 2 of 40 miss: p > 0.05
    t = gate.GateThresholds(max_p95_ttft_regression=None, slo={"ttft_ms": 1000},
                            max_attainment_drop=0.0)
    res = gate.evaluate(base, cand, t)
    assert res.attainment is not None and res.attainment.test == "fisher exact"
    assert res.attainment.p_value > 0.05 and res.passed


def test_capacity_chart_marks_answer_and_knee() -> None:
    levels = [(1, 10.0, 50.0, True), (2, 20.0, 50.0, True), (4, 40.0, 52.0, True),
              (8, 41.0, 300.0, False), (6, 40.5, 120.0, False), (5, 40.2, 60.0, True)]
    results = [LevelResult(level=lv, phase="sweep" if i < 4 else "bisect", n=40,
                           attainment=1.0 if p else 0.5, ci_low=0.9 if p else 0.3,
                           ci_high=1.0 if p else 0.7, throughput_rps=thr, ttft_p95=lat,
                           passed=p) for i, (lv, thr, lat, p) in enumerate(levels)]
    res = CapacityResult("concurrency", 0.95, ["ttft_ms<=100"], results, 5.0, "bracketed")
    spec = res.chart().to_dict()
    left, right = spec["hconcat"]
    assert "answer: 5 concurrency" in left["title"]["text"]
    rows = spec["datasets"][left["data"]["name"]] if "data" in left else \
        next(iter(spec["datasets"].values()))
    marked = {r["level"]: (r["answer"], r["knee"], r["verdict"]) for r in rows}
    assert marked[5.0] == (True, res.knee == 5.0, "meets target")
    assert marked[8.0][2] == "misses target" and res.knee is not None
    assert "target 95%" in right["title"]


def test_report_sections_show_slos_stalls_and_drift_escaped() -> None:
    from lens.analysis.report import build_report, render_html

    df = make_frame(120, seed=4, error_every=6, target="<b>x</b>")
    rep = build_report(df, options={"slos": ["ttft_ms<=300"]})
    ids = [s.id for s in rep.sections]
    assert "slo" in ids and "stalls" in ids
    slo_sec = rep.sections[ids.index("slo")]
    att = next(b for b in slo_sec.blocks if getattr(b, "title", "") == "SLO attainment and goodput")
    counted = df.loc[~df["warmup"].astype(bool)]
    ok = counted["status"].eq("ok") & (counted["ttft_ms"] <= 300)
    assert att.data["met"].sum() == ok.sum() and att.data["n"].sum() == len(counted)
    html = render_html(rep)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "ttft_ms&lt;=300" in html and "TTFT drift within runs" in html
    no_slo = build_report(df)
    assert "slo" not in [s.id for s in no_slo.sections]  # no SLOs, no SLO section
