"""Chart sections: distributions by run, change over time, load and prompt shape, method.

Comparisons colour by run (baseline blue, candidate red, the same in every chart) with a
panel per target; reports of one run or many colour by target.
"""

from __future__ import annotations

import pandas as pd

from lens.analysis.reporting import fmt
from lens.analysis.reporting.context import RUN_COLUMN, ReportContext
from lens.analysis.reporting.model import Chart, Paragraph, Section, Table, table


def _color_key(ctx: ReportContext) -> str:
    """What charts colour by: the run when comparing (or a few runs of one target)."""
    if ctx.comparing or (1 < len(ctx.runs) <= 6 and len(ctx.targets) == 1):
        return RUN_COLUMN
    return ctx.group


def forests(ctx: ReportContext) -> list[Chart]:
    """The comparison's forest plot, one per target, rows named for people."""
    from lens.analysis import charts

    cmp = ctx.comparison
    if cmp is None:
        return []
    cmp = cmp.assign(metric=[fmt.label(m) for m in cmp["metric"]])
    parts = (list(cmp.groupby("target", sort=False, observed=True)) if ctx.by_target
             else [(None, cmp)])
    out = []
    for i, (target, part) in enumerate(parts):
        title = f"{target}: candidate vs baseline" if target else "Candidate vs baseline"
        chart = charts.forest_plot(part).properties(title=f"{title}, percentiles with CIs")
        out.append(Chart("comparison_forest" if i == 0 else f"comparison_forest_{i + 1}", chart,
                         "Each percentile's change (candidate / baseline) with its CI; the "
                         "dashed line is no change." if i == len(parts) - 1 else None))
    return out


def distributions_section(ctx: ReportContext) -> Section | None:
    from lens.analysis import charts
    from lens.analysis.charts.runs import box_by_run, ecdf_by_run

    blocks: list[Chart | Paragraph] = []
    df = ctx.labelled
    key = _color_key(ctx)
    colors = ctx.run_colors
    for m in ("ttft_ms", "e2e_ms"):
        if m not in df.columns or pd.to_numeric(df[m], errors="coerce").notna().sum() == 0:
            continue
        name, axis = fmt.label(m), f"{fmt.label(m)} ({fmt.unit(m)})"
        stem = m.removesuffix("_ms")
        if key == RUN_COLUMN:
            blocks.append(Chart(f"{stem}_ecdf", ecdf_by_run(
                df, m, RUN_COLUMN, "target", colors, f"{name}: distribution per run", axis)))
            if m == "ttft_ms":
                blocks.append(Chart("ttft_box", box_by_run(
                    df, m, RUN_COLUMN, "target", colors, f"{name}: spread per run", axis)))
        elif m == "ttft_ms":
            blocks.append(Chart("ttft_ecdf", charts.ecdf(df, m, key).properties(
                title=f"{name}: distribution per {key}")))
    if "region" in df.columns and df["region"].nunique() > 1:
        blocks.append(Chart("ttft_by_region", charts.region_box(df, "ttft_ms", "region")))
    if not blocks:
        return None
    intro = ("Successful, measured requests. An ECDF reads as 'this share of requests took at "
             "most x': a curve further right is slower.")
    return Section("distributions", "Distributions", list(blocks), intro=intro)


def errors_chart(ctx: ReportContext) -> Chart | None:
    from lens.analysis import charts

    failed = (ctx.measured["status"].astype("object") != "ok").any()
    if not failed:
        return None
    return Chart("error_rates", charts.error_rate_chart(ctx.labelled, _color_key(ctx)))


def over_time_section(ctx: ReportContext) -> Section | None:
    """Scheduled runs: the p95 TTFT per run, change points, what changed at each."""
    from lens.analysis import changepoints, charts

    if ctx.over_time is None:
        return None
    series, points, changed = ctx.over_time
    n = len(points)
    chart = charts.timeseries_chart(series, points, "p95 TTFT (ms)").properties(
        title=f"p95 TTFT per run: {n} change point{'s' * (n != 1)}")
    blocks: list[Chart | Table | Paragraph] = [Chart("ttft_over_time", chart)]
    if not points:
        blocks.append(Paragraph("No change point: the level held across these runs."))
        return Section("over-time", "Over time", list(blocks))
    frame = changepoints.to_frame(points).assign(what_changed=changed)
    display = {
        "from the run at (UTC)": [f"{t:%Y-%m-%d %H:%M}" for t in frame["time"]],
        "p95 TTFT before": [fmt.qty(v, "ms") for v in frame["before"]],
        "after": [fmt.qty(v, "ms") for v in frame["after"]],
        "change": [fmt.pct(v, signed=True) for v in frame["rel_change"]],
        "what the servers reported at the same time": [c or "nothing different"
                                                       for c in changed],
    }
    blocks.append(table("Change points in p95 TTFT per run", frame, display,
                        ("p95 TTFT before", "after", "change")))
    return Section("over-time", "Over time", list(blocks))


def load_section(ctx: ReportContext) -> Section | None:
    """How latency depends on prompt size and load, cost against latency, token timing."""
    from lens.analysis import charts

    df, key = ctx.labelled, _color_key(ctx)
    blocks: list[Chart] = []
    if "input_tokens" in df.columns and pd.to_numeric(df["input_tokens"], errors="coerce").nunique() > 1:
        blocks.append(Chart("ttft_vs_prompt", charts.ttft_vs_prompt(df, key)))
    # a load curve needs several levels within one line (run or target), not across them
    by = list(dict.fromkeys([key, "target"]))
    levels = df.groupby(by, observed=True)["concurrency"].nunique() if "concurrency" in df else None
    if levels is not None and (levels > 1).any():
        blocks.append(Chart("latency_vs_concurrency",
                            charts.latency_vs_load(df, "ttft_ms", "concurrency", key)))
    priced = ctx.priced.assign(**{RUN_COLUMN: df[RUN_COLUMN]})
    if priced["cost_usd"].notna().any() and priced[key].nunique() > 2:
        blocks.append(Chart("cost_vs_latency",
                            charts.cost_latency_pareto(priced, "ttft_ms", 0.95, key)))
    if "turn" in df.columns and df["turn"].notna().any():
        blocks.append(Chart("ttft_by_turn", charts.ttft_by_turn(df, "ttft_ms", key)))
    if ctx.chunks is not None and len(ctx.chunks):
        blocks.append(Chart("token_waterfall", charts.token_waterfall(ctx.chunks)))
    if not blocks:
        return None
    return Section("load", "Prompt size, load and tokens", list(blocks))


def method_section(ctx: ReportContext) -> Section:
    from lens._version import __version__

    text = [
        "Rows: warm-up requests are left out everywhere; latency uses successful requests "
        "only, failures are counted by the error rates. Definitions of every metric: "
        "docs/metrics.md.",
        "Percentiles interpolate linearly (numpy). CIs are percentile-bootstrap intervals "
        f"(seed {ctx.seed}); a change is 'regressed' or 'improved' when it is larger than "
        f"{fmt.pct(ctx.threshold)} and the {fmt.pct(1 - ctx.alpha)} CI of the ratio excludes "
        "1, and 'insufficient data' when a run has fewer than one request beyond the "
        "percentile.",
        f"Made by lens {__version__}.",
    ]
    return Section("method", "Method", [Paragraph(t, muted=True) for t in text])
