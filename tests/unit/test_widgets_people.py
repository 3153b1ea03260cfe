"""The cost explorer and filter panel read well (issue #18): the volume slider puts the
default mid-track, the chart follows the sliders and draws its frontier, money reads as
money, the time range is spelled out in full, and tables have aligned, human headers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

import lens
from lens.analysis.prices import overrides_from_dict
from lens.widgets import CostExplorer, FilterPanel
from lens.widgets._display import header, table_html

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
PRICES = {"model": [
    {"model": "sim-fast-*", "provider": "sim", "input_mtok": 0.15, "output_mtok": 0.60},
    {"model": "sim-steady-*", "provider": "sim", "input_mtok": 1.00, "output_mtok": 4.00},
    {"model": "sim-slow-*", "provider": "sim", "input_mtok": 3.00, "output_mtok": 15.00}]}


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return lens.load(path=SAMPLE / "baseline.parquet")


def test_volume_slider_puts_the_default_mid_track(base: pd.DataFrame) -> None:
    ce = CostExplorer(base, overrides_from_dict(PRICES), requests_per_day=100_000)
    for s, value in ((ce.requests_per_day, 100_000), (ce.prompt_tokens, 500),
                     (ce.output_tokens, 200)):
        share = s.index / (len(s.options) - 1)  # where the handle sits along the track
        assert 0.3 < share < 0.7 and s.value == value, (s.description, share)
    ce.requests_per_day.value, ce.output_tokens.value = 250_000, 400  # exact, not snapped
    assert round(ce.table["usd_per_day"].iloc[0] / ce.table["usd_per_request"].iloc[0]) == 250_000


def test_the_chart_follows_the_sliders_and_draws_the_frontier(base: pd.DataFrame) -> None:
    ce = CostExplorer(base, overrides_from_dict(PRICES), requests_per_day=100_000,
                      prompt_tokens=500, output_tokens=200)
    before = ce.pareto_frame().set_index("target")["cost_usd"]
    ce.output_tokens.value = 400
    after = ce.pareto_frame().set_index("target")["cost_usd"]
    # sim-slow: 200 more output tokens at $15/M = $0.003 more per request
    assert after["sim-slow"] - before["sim-slow"] == pytest.approx(0.003)
    spec = ce.chart.to_dict()
    front, _pts = spec["layer"]
    line = spec["datasets"][front["data"]["name"]]
    assert front["mark"]["type"] == "line" and len(line) >= 3  # one frontier point still draws
    assert "400 out" in spec["title"]


def test_money_reads_as_money(base: pd.DataFrame) -> None:
    ce = CostExplorer(base, overrides_from_dict(PRICES), requests_per_day=10_000_000,
                      prompt_tokens=32_000, output_tokens=8_000)
    html = ce.table_html.value
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert not any("e+" in c or "e-" in c for c in cells), cells
    assert any(re.fullmatch(r"\$\d{1,3}(,\d{3})+\.\d\d", c) for c in cells), cells
    assert "$ per month</th>" in html


def test_table_headers_align_with_their_cells() -> None:
    df = pd.DataFrame({"target": ["x"], "requests": [1234], "p50 ttft_ms": [26.96656]})
    html = table_html(df)
    assert '<th style="text-align:left;padding:2px 10px">target</th>' in html
    assert '<th style="text-align:right;padding:2px 10px">p50 TTFT (ms)</th>' in html
    assert '<td style="text-align:right;padding:2px 10px">1,234</td>' in html
    assert ">27.0</td>" in html and "index" not in html
    assert header("usd_per_request") == "$ per request" and header("p95 e2e_ms") == "p95 E2E latency (ms)"


def test_filter_time_range_is_spelled_out(base: pd.DataFrame) -> None:
    hist = lens.load(path=SAMPLE / "history.parquet")
    p = FilterPanel(hist, group="region", chart="errors")
    assert p.time_range.readout is False
    text = p.time_readout.value
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    spec = p.chart.to_dict()
    assert spec["mark"]["type"] == "text"  # no failures: said in words
