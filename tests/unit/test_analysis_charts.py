"""Charts are checked through their Vega-Lite specs: marks, encodings, data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers_analysis import make_chunks, make_records

from lens.analysis import charts, stats
from lens.analysis.changepoints import detect
from lens.analysis.cost import price_frame
from lens.analysis.frames import chunks_to_frame, records_to_frame


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


def mark(layer: dict[str, Any]) -> str:
    m = layer["mark"]
    return m if isinstance(m, str) else m["type"]


def data_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    ref = layer.get("data", spec.get("data"))
    return spec["datasets"][ref["name"]]


def total_rows(spec: dict[str, Any]) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    recs = make_records(6000, concurrency=2, region="us-east-1")
    recs += make_records(3000, run_id="b", seed=2, concurrency=8, region="eu-west-1",
                         ttft_scale=1.5, error_every=10)
    recs += make_records(1500, run_id="c", seed=3, concurrency=32, region="eu-west-1",
                         ttft_scale=4.0)
    return records_to_frame(recs)


def test_theme_registered() -> None:
    import altair as alt

    assert alt.theme.active == "lens"
    spec = charts.ecdf(records_to_frame(make_records(20))).to_dict()
    assert spec["config"]["range"]["category"][0] == charts.theme.PALETTE[0]


def test_ecdf_exact_and_bounded(big: pd.DataFrame) -> None:
    spec = charts.ecdf(big).to_dict()
    (layer,) = layers(spec)
    assert mark(layer) == "line" and layer["mark"]["interpolate"] == "step-after"
    enc = layer["encoding"]
    assert enc["x"]["field"] == "ttft_ms" and enc["x"]["type"] == "quantitative"
    assert enc["y"]["field"] == "ecdf" and enc["color"]["field"] == "target"
    assert {t["field"] for t in enc["tooltip"]} >= {"ttft_ms", "ecdf"}
    rows = data_of(spec, layer)
    assert len(rows) <= charts.MAX_ROWS
    ok = big.loc[big.status == "ok", "ttft_ms"]
    assert max(r["ttft_ms"] for r in rows) == pytest.approx(ok.max())
    assert max(r["ecdf"] for r in rows) == 1.0
    # points lie on the exact ECDF of all rows
    for r in rows[::97]:
        assert (ok <= r["ttft_ms"]).mean() == pytest.approx(r["ecdf"])


def test_region_box_uses_exact_quartiles(big: pd.DataFrame) -> None:
    spec = charts.region_box(big).to_dict()
    marks = [mark(layer) for layer in layers(spec)]
    assert marks == ["circle", "rule", "bar", "tick"]
    box = layers(spec)[2]
    stats_rows = {r["region"]: r for r in data_of(spec, box)}
    eu = big.loc[(big.region == "eu-west-1") & (big.status == "ok"), "ttft_ms"]
    assert stats_rows["eu-west-1"]["q1"] == pytest.approx(eu.quantile(0.25))
    assert stats_rows["eu-west-1"]["n"] == len(eu)
    assert box["encoding"]["x"]["field"] == "q1" and box["encoding"]["x2"]["field"] == "q3"
    assert total_rows(spec) <= charts.MAX_ROWS
    strip = layers(spec)[0]
    assert strip["encoding"]["yOffset"]["field"] == "jitter"
    assert {r["region"] for r in data_of(spec, strip)} == {"us-east-1", "eu-west-1"}


def test_prefill_slope_fitted_on_all_rows() -> None:
    df = records_to_frame(make_records(8000))  # ttft = lognormal + 0.05 ms per prompt token
    spec = charts.ttft_vs_prompt(df).to_dict()
    scatter, line = layers(spec)
    assert mark(scatter) == "circle" and mark(line) == "line"
    fit = data_of(spec, line)
    assert fit[0]["slope_ms_per_1k"] == pytest.approx(50, rel=0.15)
    assert "prefill slope" in spec["title"] and "ms per 1k tokens" in spec["title"]
    assert any(t["field"] == "slope_ms_per_1k" for t in line["encoding"]["tooltip"])
    assert len(data_of(spec, scatter)) < charts.MAX_ROWS


def test_waterfall() -> None:
    recs = make_records(12)
    ch = chunks_to_frame(make_chunks(recs, per_request=6))
    spec = charts.token_waterfall(ch, n=3).to_dict()
    rule, pts = layers(spec)
    assert mark(rule) == "rule" and mark(pts) == "point"
    rows = data_of(spec, pts)
    assert len(rows) == 18 and len({r["request_id"] for r in rows}) == 3
    assert pts["encoding"]["x"]["field"] == "t_ms" and pts["encoding"]["color"]["field"] == "kind"
    spans = data_of(spec, rule)
    assert spans[0]["last_ms"] == pytest.approx(recs[0].last_token_ms)


def test_knee(big: pd.DataFrame) -> None:
    assert charts.find_knee(np.array([1, 2, 4, 8, 16, 32.0]),
                            np.array([100, 101, 103, 110, 200, 420.0])) == 8.0
    assert charts.find_knee(np.array([1, 2, 3.0]), np.array([5, 5, 5.0])) is None
    spec = charts.latency_vs_load(big).to_dict()
    lines, knees = layers(spec)
    assert mark(lines) == "line" and lines["encoding"]["x"]["field"] == "concurrency"
    assert lines["encoding"]["strokeDash"]["field"] == "stat"
    rows = data_of(spec, lines)
    assert {r["concurrency"] for r in rows} == {2.0, 8.0, 32.0}
    p95 = {r["concurrency"]: r["ttft_ms"] for r in rows if r["stat"] == "p95"}
    ok = big[(big.status == "ok") & (big.concurrency == 8)]["ttft_ms"]
    assert p95[8.0] == pytest.approx(ok.quantile(0.95))
    assert knees["transform"][0]["filter"].startswith("datum.knee")


def test_pareto_frontier() -> None:
    recs = (make_records(50, target="fast-dear", model="gpt-4o", provider="openai")
            + make_records(50, run_id="b", target="slow-cheap", model="gpt-4o-mini",
                           ttft_scale=2)
            + make_records(50, run_id="c", target="slow-dear", model="gpt-4o", ttft_scale=3))
    priced, _ = price_frame(records_to_frame(recs))
    spec = charts.cost_latency_pareto(priced).to_dict()
    front, pts = layers(spec)
    assert mark(front) == "line" and mark(pts) == "point"
    by = {r["target"]: r["frontier"] for r in data_of(spec, pts)}
    assert by == {"fast-dear": True, "slow-cheap": True, "slow-dear": False}
    assert pts["encoding"]["y"]["field"] == "cost_usd"


def test_error_rate_chart() -> None:
    df = records_to_frame(make_records(40, error_every=4))
    spec = charts.error_rate_chart(df).to_dict()
    (layer,) = layers(spec)
    assert mark(layer) == "bar"
    rows = data_of(spec, layer)
    assert rows == [{"target": "openai/gpt-4o", "count": 40, "status": "rate_limited",
                     "rate": 0.25}]
    assert layer["encoding"]["x"]["axis"]["format"] == "%"


def test_error_rate_chart_without_failures_says_so() -> None:
    df = records_to_frame(make_records(10))
    spec = charts.error_rate_chart(df).to_dict()
    (layer,) = layers(spec)
    # an empty state in words, not empty axes with a legend entry "none"
    assert mark(layer) == "text"
    assert data_of(spec, layer) == [{"message": "no errors in this selection (10 requests)"}]


def test_timeseries_with_change_points() -> None:
    rng = np.random.default_rng(0)
    idx = pd.date_range("2025-01-01", periods=60, freq="D", tz="UTC")
    s = pd.Series(np.r_[rng.normal(100, 3, 30), rng.normal(140, 3, 30)], index=idx)
    pts = detect(s)
    spec = charts.timeseries_chart(s, pts).to_dict()
    line, level, rules = layers(spec)
    assert [mark(x) for x in (line, level, rules)] == ["line", "rule", "rule"]
    assert line["encoding"]["x"]["type"] == "temporal"
    cps = data_of(spec, rules)
    assert len(cps) == 1 and cps[0]["after"] == pytest.approx(140, abs=3)
    assert len(data_of(spec, level)) == 2  # a dashed level per segment
    long = pd.Series(rng.normal(0, 1, 20_000),
                     index=pd.date_range("2025-01-01", periods=20_000, freq="min", tz="UTC"))
    assert total_rows(charts.timeseries_chart(long, []).to_dict()) <= charts.MAX_ROWS + 1


def test_forest_plot() -> None:
    rng = np.random.default_rng(0)
    mk = lambda k: pd.DataFrame({"ttft_ms": rng.lognormal(5, .3, 300) * k,  # noqa: E731
                                 "e2e_ms": rng.lognormal(6, .3, 300), "status": "ok",
                                 "warmup": False})
    cmp = stats.compare(mk(1.0), mk(1.4), ["ttft_ms", "e2e_ms"], [50, 95])
    spec = charts.forest_plot(cmp).to_dict()
    ref, ci, pt, _arrows = layers(spec)
    assert [mark(x) for x in (ref, ci, pt)] == ["rule", "rule", "point"]
    assert ci["encoding"]["x"]["field"] == "ratio_low" and ci["encoding"]["x2"]["field"] == "ratio_high"
    assert data_of(spec, ref) == [{"x": 1.0}]
    rows = {r["row"]: r for r in data_of(spec, pt)}
    assert rows["TTFT p95"]["verdict"] == "regressed"
    assert ci["encoding"]["color"]["scale"]["domain"][1] == "regressed"


def test_limit_rows_keeps_small_groups() -> None:
    df = pd.DataFrame({"g": ["a"] * 10_000 + ["b"] * 10, "v": range(10_010)})
    out = charts.limit_rows(df, 1000, by=["g"])
    assert len(out) <= 1000 and (out["g"] == "b").sum() >= 5


def test_every_view_renders_to_png(big: pd.DataFrame) -> None:
    import vl_convert as vlc

    png = vlc.vegalite_to_png(charts.region_box(big).to_dict())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
