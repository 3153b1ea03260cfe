"""Self-contained HTML reports: summary tables and charts in one file, readable offline.

The Vega, Vega-Lite and vega-embed JavaScript comes from vl-convert-python's bundle and is
inlined into the page (no CDN, no network at view time). Specs are embedded as JSON in
``<script type="application/json">`` blocks; embedding uses ``actions: false`` so the page
has no links out to the Vega editor either.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from lens.analysis import stats
from lens.analysis.cost import PricingReport, cost_summary, price_frame
from lens.analysis.prices import PriceOverrides


@dataclass
class Report:
    """What goes into the page: titled tables and named charts (Altair objects)."""

    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script (assigns window.vegaEmbed)."""
    import vl_convert as vlc

    # vl-convert's stubs mark ``snippet`` required; called without one it returns the bundle.
    js: Any = vlc.javascript_bundle
    return str(js())


def build_report(
    requests: pd.DataFrame,
    chunks: pd.DataFrame | None = None,
    *,
    title: str = "LLM Latency Lens report",
    prices: PriceOverrides | str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    group: str = "target",
    seed: int = 0,
) -> Report:
    """Tables and charts for the request rows of one or more runs.

    With ``baseline`` and ``candidate`` run ids (both in ``requests``), a comparison table
    and forest plot are added. Costs come from lens.analysis.cost (unpriced models listed).
    """
    from lens.analysis import changepoints, charts

    rep = Report(title)
    runs = list(pd.unique(requests["run_id"].astype("object")))
    measured = requests.loc[~requests["warmup"].fillna(False).astype(bool)]
    if len(measured):
        t0, t1 = measured["started_at"].min(), measured["started_at"].max()
        rep.notes.append(f"{len(measured)} measured requests ({len(requests) - len(measured)} "
                         f"warm-up excluded) in {len(runs)} run(s): {', '.join(map(str, runs[:10]))}"
                         f"{' ...' if len(runs) > 10 else ''}; {t0:%Y-%m-%d %H:%M} to "
                         f"{t1:%Y-%m-%d %H:%M} UTC.")
    priced, pricing = price_frame(requests, prices)
    keys = [k for k in stats.GROUP_KEYS if k in requests.columns]
    rep.tables.append(("Requests and error rates", stats.error_rates(requests, keys)))
    summary = stats.summarize(requests, keys, seed=seed)
    for metric in ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s"):
        if (summary["metric"] == metric).any():
            rep.tables.append((f"{metric}: mean and percentiles [95% bootstrap CI]",
                               stats.summary_table(summary, metric)))
    if "cached_input_tokens" in requests.columns and (
            pd.to_numeric(requests["cached_input_tokens"], errors="coerce").fillna(0) > 0).any():
        from lens.analysis.cache import cache_hit_rates

        rep.tables.append(("Prompt cache (cached / input tokens)", cache_hit_rates(requests, keys)))
    rep.tables.append(("Cost (USD)", cost_summary(priced, (group,))))
    _pricing_notes(rep, pricing)
    rep.charts["ttft_ecdf"] = charts.ecdf(requests, "ttft_ms", group)
    rep.charts["ttft_by_region"] = charts.region_box(requests, "ttft_ms", "region")
    rep.charts["ttft_vs_prompt"] = charts.ttft_vs_prompt(requests, group)
    if requests["concurrency"].nunique() > 1:
        rep.charts["latency_vs_concurrency"] = charts.latency_vs_load(requests, "ttft_ms",
                                                                      "concurrency", group)
    if priced["cost_usd"].notna().any():
        rep.charts["cost_vs_latency"] = charts.cost_latency_pareto(priced, "ttft_ms", 0.95, group)
    rep.charts["error_rates"] = charts.error_rate_chart(requests, group)
    if "turn" in requests.columns and requests["turn"].notna().any():
        rep.charts["ttft_by_turn"] = charts.ttft_by_turn(requests, "ttft_ms", group)
    if chunks is not None and len(chunks):
        rep.charts["token_waterfall"] = charts.token_waterfall(chunks)
    if len(runs) >= 6:
        series = changepoints.series(requests, "ttft_ms", 0.95)
        points = changepoints.detect(series)
        rep.charts["ttft_over_time"] = charts.timeseries_chart(series, points)
        if points:
            rep.tables.append(("Change points in p95 TTFT per run", changepoints.to_frame(points)))
    if baseline and candidate:
        b = requests.loc[requests["run_id"] == baseline]
        c = requests.loc[requests["run_id"] == candidate]
        cmp = stats.compare(b, c, seed=seed)
        rep.tables.append((f"Candidate {candidate} vs baseline {baseline}", cmp))
        rep.charts["comparison_forest"] = charts.forest_plot(cmp)
    return rep


def _pricing_notes(rep: Report, pricing: PricingReport) -> None:
    rep.notes.append(f"Total cost of measured and warm-up requests: ${pricing.total_usd:.6f} "
                     f"({pricing.priced_rows} rows priced).")
    if pricing.unpriced:
        rep.notes.append("Not priced (add them to a price override file): "
                         + ", ".join(f"{k} ({v} rows)" for k, v in sorted(pricing.unpriced.items())))


def _table_html(df: pd.DataFrame) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.4g}"
        return str(v)

    return df.to_html(index=False, escape=True, border=0, classes="tbl",
                      formatters={c: fmt for c in df.columns}, na_rep="")


_EMBED_JS = (
    "for (const i of SPEC_IDS) { const spec = JSON.parse(document.getElementById('spec-' + i)"
    ".textContent); vegaEmbed('#chart-' + i, spec, {actions: false, renderer: 'svg'})"
    ".catch(e => { document.getElementById('chart-' + i).textContent = String(e); }); }"
)


def render_html(rep: Report) -> str:
    """The report as one HTML string, with every script inline."""
    parts = [f"<h1>{html.escape(rep.title)}</h1>",
             f"<p class='meta'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by lens.</p>"]
    parts += [f"<p>{html.escape(n)}</p>" for n in rep.notes]
    for name, table in rep.tables:
        parts.append(f"<h2>{html.escape(name)}</h2><div class='scroll'>{_table_html(table)}</div>")
    specs = []
    for i, (name, chart) in enumerate(rep.charts.items()):
        spec = json.dumps(chart.to_dict(), default=str).replace("</", "<\\/")
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2><div id='chart-{i}'></div>"
                     f"<script type='application/json' id='spec-{i}'>{spec}</script>")
        specs.append(i)
    embed = _EMBED_JS.replace("SPEC_IDS", json.dumps(specs))
    bundle = vega_bundle().replace("</script", "<\\/script")
    style = ("body{font-family:Inter,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;"
             "color:#222}h1{font-size:1.6em}h2{font-size:1.15em;margin-top:1.8em}"
             ".meta{color:#777}.tbl{border-collapse:collapse;font-size:.85em}"
             ".tbl td,.tbl th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}"
             ".scroll{overflow-x:auto}")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(rep.title)}</title><style>{style}</style>"
            f"<script>{bundle}</script></head><body>{''.join(parts)}"
            f"<script>{embed}</script></body></html>")


def write_report(rep: Report, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(rep), encoding="utf-8")
    return p


def save_images(charts: Mapping[str, Any], directory: str | os.PathLike[str],
                formats: Sequence[str] = ("png", "svg"), scale: float = 2.0) -> list[Path]:
    """Write each chart as NAME.png / NAME.svg with vl-convert (no browser needed)."""
    import vl_convert as vlc

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, chart in charts.items():
        spec = chart.to_dict()
        if "png" in formats:
            p = out_dir / f"{name}.png"
            p.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
            written.append(p)
        if "svg" in formats:
            p = out_dir / f"{name}.svg"
            p.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
            written.append(p)
    return written
