"""Table sections: the runs, latency with CIs, the comparison, errors, cost, sample size.

Each ``*_section(ctx)`` returns a Section or None (nothing to show). Cells are formatted
for people (lens.analysis.reporting.fmt); each Table keeps its raw frame as ``data``.
"""

from __future__ import annotations

import pandas as pd

from lens.analysis import stats
from lens.analysis.cost import cost_summary
from lens.analysis.reporting import fmt
from lens.analysis.reporting.context import COMPARE_METRICS, ReportContext
from lens.analysis.reporting.model import Cell, Chart, Paragraph, Section, Table, table

LATENCY_STATS: tuple[str, ...] = ("mean", "p50", "p90", "p95", "p99")


def _key_cells(frame: pd.DataFrame, keys: list[str], ctx: ReportContext) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for k in keys:
        vals = frame[k].astype(str).tolist()
        out["run" if k == "run_id" else k] = ([ctx.run_label(v) for v in vals]
                                              if k == "run_id" else vals)
    return out


def _row_keys(ctx: ReportContext) -> list[str]:
    """Rows per target (and region, scenario when they vary), then per run."""
    return ctx.varying() + (["run_id"] if len(ctx.runs) > 1 else [])


def runs_section(ctx: ReportContext) -> Section | None:
    d = ctx.requests
    g = d.groupby("run_id", observed=True, sort=False)
    warm = d["warmup"].fillna(False).astype(bool) if "warmup" in d.columns else False
    frame = pd.DataFrame({
        "started": g["started_at"].min(), "requests": g.size(),
        "warm-up": (d.assign(_w=warm)).groupby("run_id", observed=True, sort=False)["_w"].sum(),
        "targets": g["target"].agg(lambda s: ", ".join(dict.fromkeys(s.astype(str)))),
        "source": g["runner"].agg(lambda s: ", ".join(dict.fromkeys(s.astype(str)))),
    }).reset_index()
    display: dict[str, list[Cell]] = {
        "run": [ctx.run_label(str(r)) for r in frame["run_id"]],
        "started (UTC)": [f"{t:%Y-%m-%d %H:%M}" if pd.notna(t) else "-" for t in frame["started"]],
        "requests": [fmt.count(v) for v in frame["requests"]],
        "warm-up": [fmt.count(v) if v else "-" for v in frame["warm-up"]],
        "targets": frame["targets"].tolist(),
        "measured by": frame["source"].tolist(),
    }
    if set(frame["source"]) <= {"local"}:
        display.pop("measured by")
    return Section("runs", "Runs", [table("", frame, display, ("requests", "warm-up"))])


def latency_section(ctx: ReportContext) -> Section | None:
    keys = _row_keys(ctx)
    df = ctx.requests
    mets = [m for m in COMPARE_METRICS if m in df.columns
            and pd.to_numeric(df[m], errors="coerce").notna().any()]
    if not mets:
        return None
    summary = stats.summarize(df, keys, mets, (50, 90, 95, 99), seed=ctx.seed)
    blocks: list[Table | Paragraph] = []
    for m in mets:
        s = summary[summary["metric"] == m]
        if not len(s) or s["value"].isna().all():
            continue
        wide = s.pivot_table(index=keys, columns="stat", values=["value", "ci_low", "ci_high", "n"],
                             aggfunc="first", observed=True, sort=False).reset_index()
        u = fmt.unit(m)
        display = _key_cells(wide, keys, ctx)
        display["requests"] = [fmt.count(v) for v in wide[("n", "p50")]]
        for st in LATENCY_STATS:
            if ("value", st) in wide.columns:
                display[st] = [fmt.ci_html(v, lo, hi, u) for v, lo, hi in
                               zip(wide[("value", st)], wide[("ci_low", st)],
                                   wide[("ci_high", st)], strict=True)]
        blocks.append(table(f"{fmt.label(m)} ({u})", s.reset_index(drop=True), display,
                            ("requests", *LATENCY_STATS)))
    intro = ("Successful, measured requests (warm-up left out). Each figure has its 95% "
             "bootstrap CI below it; 'requests' counts those with a value.")
    return Section("latency", "Latency", list(blocks), intro=intro)


def _per_target(frame: pd.DataFrame, ctx: ReportContext) -> list[tuple[str, pd.DataFrame]]:
    """(title prefix, rows) per target when the comparison is per target, else one part."""
    if "target" not in frame.columns or not ctx.by_target:
        return [("", frame)]
    return [(f"{t}: ", g) for t, g in frame.groupby("target", sort=False, observed=True)]


def comparison_section(ctx: ReportContext) -> Section | None:
    cmp = ctx.comparison
    if cmp is None:
        return None
    note = ("Change: candidate / baseline - 1, with its bootstrap CI. Effect size: Cliff's "
            "delta of the whole distributions (P(candidate > baseline) - P(candidate < "
            "baseline)) with the Mann-Whitney U p-value.")
    tables: list[Table] = []
    for prefix, part in _per_target(cmp, ctx):
        units = [fmt.unit(m) for m in part["metric"]]
        display: dict[str, list[Cell]] = {
            "metric": [fmt.label(m) for m in part["metric"]],
            "pctl": part["stat"].tolist(),
            "baseline": [fmt.qty(v, u) for v, u in zip(part["base"], units, strict=True)],
            "candidate": [fmt.qty(v, u) for v, u in zip(part["cand"], units, strict=True)],
            "change [CI]": [fmt.change(r, lo, hi) for r, lo, hi in
                            zip(part["ratio"], part["ratio_low"], part["ratio_high"],
                                strict=True)],
            "verdict": [fmt.badge(v) for v in part["verdict"]],
            "effect size": [f"{fmt.cliffs_words(d)}, {fmt.pvalue(p)}" if pd.notna(d) else "-"
                            for d, p in zip(part["cliffs_delta"], part["mw_p"], strict=True)],
        }
        tables.append(table(f"{prefix}candidate {ctx.candidate} vs baseline {ctx.baseline}",
                            part.reset_index(drop=True), display,
                            ("baseline", "candidate", "change [CI]"), None,
                            once=("metric", "effect size")))
    tables[-1].note = note
    from lens.analysis.reporting.figures import forests

    return Section("comparison", "Baseline vs candidate", [*tables, *forests(ctx)])


def errors_section(ctx: ReportContext) -> Section | None:
    keys = _row_keys(ctx)
    er = stats.error_rates(ctx.requests, keys)
    if er.empty:
        return None
    rate_cols = [c for c in er.columns if c.startswith("rate_") and c != "rate_ok"]
    display = _key_cells(er, keys, ctx)
    display["requests"] = [fmt.count(v) for v in er["count"]]
    display["failed"] = [fmt.count(v) for v in er["errors"]]
    display["error rate"] = [fmt.pct(v) for v in er["error_rate"]]
    display["by status"] = [
        ", ".join(f"{c.removeprefix('rate_')} {round(row[c] * row['count'])}"
                  for c in rate_cols if row[c] > 0) or "-"
        for _, row in er.iterrows()]
    from lens.analysis.reporting.figures import errors_chart

    blocks: list[Table | Paragraph | Chart] = [table("Requests and errors", er, display,
                                                     ("requests", "failed", "error rate"))]
    chart = errors_chart(ctx)
    if chart is None:
        blocks.insert(0, Paragraph("No request failed."))
    else:
        blocks.append(chart)
    return Section("errors", "Errors", list(blocks))


def cost_section(ctx: ReportContext) -> Section | None:
    keys = _row_keys(ctx)
    cs = cost_summary(ctx.priced, tuple(keys))
    p = ctx.pricing
    notes = [f"Total of measured and warm-up requests: {fmt.usd(p.total_usd)} "
             f"({p.priced_rows:,} rows priced)."]
    if p.unpriced:
        notes.append("Not priced (add them to a price override file, --prices): "
                     + ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(p.unpriced.items())))
    if cs.empty or not cs["priced"].any():
        return Section("cost", "Cost", [Paragraph(n, muted=True) for n in notes])
    display = _key_cells(cs, keys, ctx)
    display["requests"] = [fmt.count(v) for v in cs["requests"]]
    display["priced"] = [fmt.count(v) for v in cs["priced"]]
    display["total"] = [fmt.usd(v) for v in cs["total_usd"]]
    display["per request"] = [fmt.usd(v) for v in cs["usd_per_request"]]
    if (cs["priced"] == cs["requests"]).all():
        display.pop("priced")
    t = table("Cost (USD, measured requests)", cs, display,
              ("requests", "priced", "total", "per request"))
    return Section("cost", "Cost", [t, *(Paragraph(n, muted=True) for n in notes)])


def sample_size_section(ctx: ReportContext) -> Section | None:
    det = ctx.detectable
    if det is None or det.empty:
        return None
    shift = fmt.pct(ctx.shift or ctx.threshold)
    need_col = f"requests per run for {shift}"
    blocks: list[Table] = []
    for prefix, part in _per_target(det, ctx):
        display: dict[str, list[Cell]] = {
            "metric": [fmt.label(m) for m in part["metric"]],
            "pctl": part["stat"].tolist(),
            "successful requests": [f"{b:,} / {c:,}" for b, c in
                                    zip(part["n_base"], part["n_cand"], strict=True)],
            "detects shifts of": [fmt.pct(v) if pd.notna(v) else "-" for v in part["mde"]],
            need_col: [fmt.count(v) if pd.notna(v) else "-" for v in part["n_needed"]],
            "fire more": [fmt.count(v) if pd.notna(v) and v > 0 else "enough"
                          for v in part["fire_more"]],
        }
        blocks.append(table(f"{prefix}what these runs can detect" if prefix else "",
                            part.reset_index(drop=True), display,
                            ("detects shifts of", need_col, "fire more"),
                            once=("metric", "successful requests")))
    intro = (f"The smallest change these runs detect with {fmt.pct(ctx.power)} power at "
             f"alpha {ctx.alpha:g} (the CI excludes no change), and the successful requests "
             f"per run (baseline / candidate now) that a {shift} change needs; 'fire more' "
             "adds the runs' failure share. Method: docs/stats.md.")
    return Section("sample-size", "How many requests", list(blocks), intro=intro)


def server_time_section(ctx: ReportContext) -> Section | None:
    """TTFT beside the time the server says it spent, per target (and run)."""
    from lens.analysis.server_time import server_split

    keys = _row_keys(ctx)
    split = server_split(ctx.measured, keys)
    if split.empty:
        return None
    display = _key_cells(split, keys, ctx)
    display["requests"] = [fmt.count(v) for v in split["requests"]]
    display["TTFT p50"] = [fmt.qty(v, "ms") for v in split["ttft_p50_ms"]]
    display["server p50"] = [fmt.qty(v, "ms") for v in split["server_p50_ms"]]
    display["network, queue and client p50"] = [fmt.qty(v, "ms") for v in split["outside_p50_ms"]]
    display["server's figure"] = split["kind"].tolist()
    note = ("Per request, TTFT minus the time the server reported for itself, then the median: "
            "what the network, queueing before the server's clock started, and the client add.")
    return Section("server-time", "Server-reported time", [
        table("TTFT and the server's own time", split, display,
              ("requests", "TTFT p50", "server p50", "network, queue and client p50"), note)])


def cache_section(ctx: ReportContext) -> Section | None:
    """Prompt-cache hit rate per target (and run), where a server reported cached tokens."""
    d = ctx.measured
    if "cached_input_tokens" not in d.columns or not (
            pd.to_numeric(d["cached_input_tokens"], errors="coerce").fillna(0) > 0).any():
        return None
    from lens.analysis.cache import cache_hit_rates

    keys = _row_keys(ctx)
    rates = cache_hit_rates(d, keys)
    display = _key_cells(rates, keys, ctx)
    for col in rates.columns:
        if col in keys:
            continue
        vals = rates[col].tolist()
        display[col.replace("_", " ")] = [fmt.pct(v) if "rate" in col else fmt.num(v) for v in vals]
    return Section("cache", "Prompt cache", [table(
        "Prompt cache hits (cached / input tokens)", rates, display,
        [c.replace("_", " ") for c in rates.columns if c not in keys])])
