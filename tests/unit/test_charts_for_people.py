"""Charts read by people (issue #18): human axis titles with units, a colour per target that
stays put, dates on time axes, a waterfall labelled by target, forest plots that clip an
outlying CI, a Pareto line that exists, and empty states in words."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("altair")

from lens.analysis import charts, stats
from lens.analysis.charts import theme
from lens.analysis.charts.pareto import money_format, staircase


def _walk(spec: Any) -> Any:
    if isinstance(spec, dict):
        yield spec
        for v in spec.values():
            yield from _walk(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _walk(v)


def axis_titles(spec: dict[str, Any]) -> list[str]:
    out = []
    for node in _walk(spec):
        enc = node.get("encoding") if isinstance(node, dict) else None
        for ch in ("x", "y"):
            if isinstance(enc, dict) and isinstance(enc.get(ch), dict) and "title" in enc[ch]:
                out.append(str(enc[ch]["title"]))
    return out


def requests(n: int = 60, targets: tuple[str, ...] = ("sim-fast", "sim-slow")) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for k, t in enumerate(targets):
        for i in range(n):
            rows.append({"target": t, "region": "local", "status": "ok", "warmup": False,
                         "request_id": f"{t}-{i:03d}", "ttft_ms": rng.lognormal(4 + k, 0.2),
                         "itl_p50_ms": rng.lognormal(1, 0.2), "e2e_ms": rng.lognormal(6, .2),
                         "input_tokens": 100 + i, "concurrency": 1 + i % 4,
                         "started_at": pd.Timestamp("2026-11-20", tz="UTC")
                         + pd.Timedelta(seconds=i)})
    return pd.DataFrame(rows)


def test_axis_titles_are_words_with_units_not_column_names() -> None:
    df = requests()
    assert theme.axis_title("ttft_ms") == "TTFT (ms)"
    assert theme.axis_title("ttft_ms", "p95") == "p95 TTFT (ms)"
    assert theme.axis_title("some_new_ms") == "some new (ms)"
    specs = [charts.ecdf(df, "itl_p50_ms").to_dict(), charts.region_box(df, "ttft_ms").to_dict(),
             charts.ttft_vs_prompt(df).to_dict(), charts.latency_vs_load(df).to_dict()]
    titles = [t for s in specs for t in axis_titles(s)]
    assert "TTFT (ms)" in titles and "ITL (per-request median, ms)" in titles
    raw = [t for t in titles if re.search(r"\b[a-z]+_[a-z0-9_]+\b", t)]
    assert raw == [], raw


def test_a_target_keeps_its_colour_across_runs_and_subsets() -> None:
    df = requests(targets=("t-alpha", "t-beta", "t-gamma"))
    full = charts.ecdf(df).to_dict()["encoding"]["color"]["scale"]
    # a later run without t-alpha, and a live redraw where only t-gamma has rows yet
    later = charts.ecdf(df[df["target"] != "t-alpha"]).to_dict()["encoding"]["color"]["scale"]
    live = charts.ecdf(df[df["target"] == "t-gamma"], domain=["t-alpha", "t-beta", "t-gamma"]
                       ).to_dict()["encoding"]["color"]["scale"]
    colour = dict(zip(full["domain"], full["range"], strict=True))
    assert len(set(colour.values())) == 3
    assert dict(zip(later["domain"], later["range"], strict=True)) == {
        k: colour[k] for k in ("t-beta", "t-gamma")}
    assert dict(zip(live["domain"], live["range"], strict=True)) == colour


def test_daily_runs_get_date_labels() -> None:
    import vl_convert as vlc

    idx = pd.date_range("2026-11-14 00:25", periods=10, freq="D", tz="UTC")
    s = pd.Series(np.r_[np.full(5, 94.0), np.full(5, 184.0)], index=idx)
    spec = charts.timeseries_chart(s, [], metric="median TTFT (ms)").to_dict()
    svg = vlc.vegalite_to_svg(spec)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    days = [t for t in labels if re.fullmatch(r"Nov \d\d", t)]
    assert len(set(days)) >= 5, labels  # dates, not ten identical "12 PM"
    assert not any("PM" in t or "AM" in t for t in labels)


def test_waterfall_rows_are_labelled_by_target_and_tokens_are_whole() -> None:
    reqs = requests(3)
    chunks = pd.DataFrame([{"request_id": rid, "index": i, "t_ms": 10.0 * i + k,
                            "kind": "text", "n_tokens": 1 + i % 3}
                           for k, rid in enumerate(reqs["request_id"]) for i in range(6)])
    spec = charts.token_waterfall(chunks, request_ids=list(reqs["request_id"][:2])
                                  + list(reqs["request_id"][3:5]), requests=reqs).to_dict()
    _rule, pts = spec["layer"]
    assert pts["encoding"]["y"]["sort"] == ["sim-fast #1", "sim-fast #2", "sim-slow #1",
                                            "sim-slow #2"]
    assert pts["encoding"]["color"]["field"] == "target"
    assert pts["encoding"]["size"]["legend"]["values"] == [1, 2, 3]


def _cmp_with_one_wide_ci() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    mk = lambda k, n: pd.DataFrame({"ttft_ms": rng.lognormal(5, .3, n) * k,  # noqa: E731
                                    "tpot_ms": rng.lognormal(2, .3, n), "status": "ok",
                                    "warmup": False})
    cmp = stats.compare(mk(1.0, 300), mk(1.1, 300), ["ttft_ms", "tpot_ms"], [50, 95], seed=0)
    i = cmp.index[-1]
    cmp.loc[i, ["ratio_low", "ratio_high"]] = [0.3, 11.6]  # one tiny slice's CI
    return cmp


def test_forest_plot_clips_an_outlying_ci_instead_of_squashing_the_rest() -> None:
    cmp = _cmp_with_one_wide_ci()
    spec = charts.forest_plot(cmp).to_dict()
    _ref, ci, _pt, arrows = spec["layer"]
    lo, hi = ci["encoding"]["x"]["scale"]["domain"]
    assert ci["encoding"]["x"]["scale"]["clamp"] is True
    assert 0.3 < lo < 1 < hi < 11.6 and hi < 3, (lo, hi)
    others = cmp.iloc[:-1]
    assert (others["ratio_low"] >= lo).all() and (others["ratio_high"] <= hi).all()
    clipped = [r for r in spec["datasets"][arrows["data"]["name"]]]
    assert {r["shape"] for r in clipped} == {"triangle-left", "triangle-right"}


def test_pareto_line_exists_with_a_single_frontier_point_and_money_reads_as_money() -> None:
    pts = pd.DataFrame({"target": ["a", "b", "c"], "latency": [100.0, 200.0, 300.0],
                        "cost_usd": [0.000016, 0.0004, 0.0002], "frontier": [True, False, False]})
    line = staircase(pts)
    assert len(line) >= 3 and line["latency"].iloc[-1] == 300.0
    assert line["cost_usd"].iloc[0] == pytest.approx(0.0004)  # drops from the top edge
    fmt = money_format(pts["cost_usd"])
    assert fmt.startswith("$") and "e" not in fmt
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(charts.pareto.pareto_chart(pts, "p95 TTFT (ms)").to_dict())
    assert "$0.0004" in svg and "e-" not in "".join(re.findall(r">([^<]*)<", svg))


def test_error_chart_says_no_errors_in_words() -> None:
    spec = charts.error_rate_chart(requests(5)).to_dict()
    assert spec["mark"]["type"] == "text"
    assert spec["datasets"][spec["data"]["name"]] == [
        {"message": "no errors in this selection (10 requests)"}]
