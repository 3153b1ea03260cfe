"""Grafana dashboards: valid structure, and every PromQL metric is one the exporter emits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from helpers_observatory import ROOT, promql_metric_names, scraped_names

GRAFANA = ROOT / "observatory" / "grafana"
NAMES = ("overview", "latency", "cost", "errors")
BUILTIN_VARS = {"__rate_interval", "__range", "__interval", "__range_s"}


def load(name: str) -> dict[str, Any]:
    return json.loads((GRAFANA / f"{name}.json").read_text())


def panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # collapsed rows
    return out


def exprs(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in panels(d) for t in p.get("targets", [])]


@pytest.fixture(scope="module")
def emitted() -> set[str]:
    return scraped_names()


def test_all_four_dashboards_exist_with_unique_uids() -> None:
    assert sorted(p.stem for p in GRAFANA.glob("*.json")) == sorted(NAMES)
    uids = [load(n)["uid"] for n in NAMES]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", NAMES)
def test_structure(name: str) -> None:
    d = load(name)
    assert d["title"] and d["uid"] and isinstance(d["schemaVersion"], int)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    ps = panels(d)
    assert len(ps) >= 4
    ids = [p["id"] for p in ps]
    assert len(set(ids)) == len(ids), "panel ids must be unique"
    for p in ps:
        assert p["type"] in {"timeseries", "stat", "heatmap", "table", "bargauge", "gauge", "row"}
        assert p["title"]
        g = p["gridPos"]
        assert all(isinstance(g[k], int) for k in ("x", "y", "w", "h"))
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in p["targets"]]
        assert p["targets"] and len(set(refs)) == len(refs)
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}"
            assert t["expr"].count("(") == t["expr"].count(")")
            used = set(re.findall(r"\$\{?(\w+)\}?", t["expr"]))
            undefined = used - set(variables) - BUILTIN_VARS
            assert not undefined, f"{p['title']}: undefined variables {undefined}"
    # every query variable reads its values from a metric the exporter emits
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"]["uid"] == "${datasource}"
            assert "lens_requests_total" in v["definition"]


@pytest.mark.parametrize("name", NAMES)
def test_queries_use_only_emitted_metric_names(name: str, emitted: set[str]) -> None:
    for title, expr in exprs(load(name)):
        names = promql_metric_names(expr)
        assert names, f"{name}/{title}: no metric found in {expr!r}"
        unknown = names - emitted
        assert not unknown, f"{name}/{title}: not emitted by lens.exporters.prometheus: {unknown}"


def test_dashboards_cover_the_issue_metrics() -> None:
    text = "".join(expr for n in NAMES for _, expr in exprs(load(n)))
    for metric in ("lens_ttft_seconds_bucket", "lens_tpot_seconds_bucket", "lens_itl_seconds_bucket",
                   "lens_e2e_seconds_bucket", "lens_requests_total", "lens_tokens_total",
                   "lens_cost_usd_total", "lens_budget_used_ratio"):  # fmt: skip
        assert metric in text, metric


def test_metric_name_extraction() -> None:
    e = ('histogram_quantile(0.95, sum by (le, target) (rate(lens_ttft_seconds_bucket'
         '{provider=~"$provider",status!="ok"}[$__rate_interval]))) / on (target) '
         'group_left sum(lens_requests_total offset 5m) > bool 2 and lens_x:y')  # fmt: skip
    assert promql_metric_names(e) == {"lens_ttft_seconds_bucket", "lens_requests_total", "lens_x:y"}
    assert "lens_nope_total" not in scraped_names()
