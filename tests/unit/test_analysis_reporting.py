"""The report reads as sentences and tables for people: verdicts that match the statistics,
units and CIs in cells, no internal or empty columns, and sections that plug in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers_analysis import make_records

from lens.analysis import power, stats
from lens.analysis.frames import records_to_frame
from lens.analysis.report import build_report, render_html
from lens.analysis.reporting import SECTIONS, Paragraph, ReportContext, Section, Table, fmt
from lens.analysis.reporting.model import table
from lens.importers import import_file

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"


def test_numbers_for_people() -> None:
    assert fmt.ci(466.2, 442.4, 483.0, "ms") == "466 ms [442, 483]"
    assert fmt.ci(12.345, 11.02, 13.9, "ms") == "12.3 ms [11.0, 13.9]"
    assert fmt.ci(0.01234, 0.011, 0.013, "") == "0.0123 [0.0110, 0.0130]"
    assert fmt.qty(2099.4, "ms") == "2,099 ms" and fmt.qty(float("nan"), "ms") == "-"
    assert fmt.pct(0.253) == "25%" and fmt.pct(0.0523) == "5.2%" and fmt.pct(0.004) == "0.40%"
    assert fmt.change(1.25, 1.14, 1.36) == "+25% [+14%, +36%]"
    assert fmt.usd(12.4) == "$12.40" and fmt.usd(0.000412) == "$0.000412"
    assert fmt.cliffs_words(0.5) == "+0.50 (large)" and fmt.cliffs_words(-0.1).endswith(
        "(negligible)")
    assert fmt.pvalue(0.0001) == "p < 0.001"
    assert str(fmt.ci_html(466, 442, 483, "ms")) == "466 ms<span class='ci'>[442, 483]</span>"


def test_tables_drop_empty_columns_and_name_groups_once() -> None:
    t = table("t", pd.DataFrame(), {"metric": ["TTFT", "TTFT", "TPOT"], "pctl": ["p50", "p95",
                                                                             "p50"],
                                    "empty": ["-", "", "-"], "value": ["1", "2", "3"]},
              once=("metric",))
    assert t.columns == ["metric", "pctl", "value"]
    assert [r[0] for r in t.rows] == ["TTFT", "", "TPOT"]
    assert t.row_classes == ["", "cont", ""]


def _pair(scale: float = 1.25, errors: int = 0) -> pd.DataFrame:
    base = make_records(400, run_id="base", seed=1, target="openai/gpt-4o-mini",
                        model="gpt-4o-mini")
    cand = make_records(400, run_id="cand", seed=2, ttft_scale=scale, error_every=errors,
                        target="openai/gpt-4o-mini", model="gpt-4o-mini")
    for r in base:
        r.system_fingerprint = "fp_a"
    for r in cand:
        r.system_fingerprint = "fp_b"
    return records_to_frame(base + cand)


def test_verdict_sentences_match_the_statistics() -> None:
    df = _pair(1.3, errors=10)
    rep = build_report(df, baseline="base", candidate="cand", seed=0)
    cmp = stats.compare(df[df["run_id"] == "base"], df[df["run_id"] == "cand"],
                        ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s"), (50, 95, 99),
                        0.10, seed=0)
    row = cmp[(cmp["metric"] == "ttft_ms") & (cmp["stat"] == "p95")].iloc[0]
    assert row.verdict == "regressed"
    want = (f"p95 TTFT of openai/gpt-4o-mini rose {fmt.pct(row.ratio - 1)} "
            f"[{fmt.pct(row.ratio_low - 1)}, {fmt.pct(row.ratio_high - 1)}] (regressed): "
            f"{fmt.qty(row.base, 'ms')} \u2192 {fmt.qty(row.cand, 'ms')}")
    assert want in rep.verdicts
    err = stats.error_rate_test(df[df["run_id"] == "base"], df[df["run_id"] == "cand"])
    assert any(v.startswith(f"Error rate rose from 0% to {fmt.pct(err.cand_rate)}")
               and "(regressed)" in v for v in rep.verdicts)
    assert "At the same time, the servers reported: fingerprint fp_a \u2192 fp_b" in rep.verdicts
    assert any(v.startswith("Cost per request ") for v in rep.verdicts)
    assert rep.verdicts[-1].startswith("lens gate with its default thresholds") and (
        "(FAIL)" in rep.verdicts[-1])


def test_unchanged_runs_say_what_they_could_have_detected() -> None:
    df = _pair(1.0)
    rep = build_report(df, baseline="base", candidate="cand", seed=0)
    det = power.detectable(df[df["run_id"] == "base"], df[df["run_id"] == "cand"],
                           ["ttft_ms"], [95], seed=0).iloc[0]
    assert not any("(regressed)" in v for v in rep.verdicts[:-1])
    assert any(v.startswith(f"These runs detect p95 TTFT shifts of {fmt.pct(det.mde)} or more")
               for v in rep.verdicts)
    assert "(PASS)" in rep.verdicts[-1]


def test_tables_have_units_cis_and_no_internal_columns() -> None:
    rep = build_report(_pair(), baseline="base", candidate="cand")
    html = render_html(rep)
    heads = set(re.findall(r"<th[^>]*>([^<]+)</th>", html))
    internal = {"stat", "ci_low", "ci_high", "value", "mw_p", "cliffs_delta", "ratio_low",
                "diff", "n_base", "rate_ok", "rate_rate_limited", "usd_per_request", "run_id"}
    assert not heads & internal, heads & internal
    assert re.search(r"\d+ ms<span class='ci'>\[\d+, \d+\]</span>", html)  # "466 ms [442, 483]"
    assert "<span class='badge bad'>regressed</span>" in html
    # the contents list links every section, and every link has its anchor
    links = re.findall(r"<li><a href='#([\w-]+)'>", html)
    assert links == [s.id for s in rep.sections] and all(f"id='{i}'" in html for i in links)
    assert not re.search(r"(src|href)=['\"]?https?://", html)  # nothing loads from elsewhere
    assert "$schema" not in "".join(re.findall(r"id='spec-\d+'>(.*?)</script>", html))


def test_a_section_is_one_function_and_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def slo_section(ctx: ReportContext) -> Section | None:
        limit = ctx.options.get("ttft_limit")
        if limit is None:
            return None
        ok = ctx.measured[ctx.measured["status"].astype(str) == "ok"]
        share = float((ok["ttft_ms"] <= limit).mean())
        return Section("slo", "SLOs", [Paragraph(f"{share:.0%} of requests met TTFT <= {limit} ms")])

    monkeypatch.setattr("lens.analysis.reporting.registry.SECTIONS", [*SECTIONS, slo_section])
    df = _pair()
    assert build_report(df).section("slo") is None  # not asked for: left out
    rep = build_report(df, options={"ttft_limit": 300})
    html = render_html(rep)
    assert "<li><a href='#slo'>SLOs</a></li>" in html and "of requests met TTFT &lt;= 300 ms" in html


@pytest.mark.parametrize("peer", ["guidellm/benchmarks.json", "aiperf/profile_export.jsonl",
                                  "csv/loadtest.csv"])
def test_reports_of_imported_runs_show_what_they_have(peer: str) -> None:
    opts = {"map": ["ttft=ttft_s:s", "e2e=latency_s:s", "started_at=ts_epoch:s", "ok=success"]} \
        if peer.startswith("csv") else {}
    run = import_file(PEERS / peer, **opts)
    rep = build_report(run.requests, run.chunks)
    for t in rep.blocks(Table):
        for c, col in enumerate(t.columns):  # no column of dashes only
            assert any(str(r[c]).strip() not in ("", "-") for r in t.rows), (t.title, col)
    assert rep.section("latency") is not None
    if peer.startswith("csv"):  # no TPOT in the file: no TPOT table
        titles = [t.title for t in rep.blocks(Table)]
        assert not any(x.startswith("TPOT") for x in titles)
    json.dumps(rep.verdicts)  # plain strings
