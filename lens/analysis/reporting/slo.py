"""Report sections on SLOs, stalls and drift within runs.

``slo_section`` shows attainment and goodput per target (and run) with Wilson intervals,
and attainment per time window; it needs SLOs: ``build_report(..., options={"slos": ...})``
(``lens report --slo``, else the runs' stored ``slo:`` blocks). ``stalls_section`` shows
stalled requests, the longest gaps and whether TTFT drifted within each run; it needs
nothing. Definitions: lens.analysis.slo, lens.analysis.stalls, lens.analysis.timeslices
(docs/metrics.md).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lens.analysis import slo, stalls, timeslices
from lens.analysis.reporting import fmt
from lens.analysis.reporting.context import ReportContext
from lens.analysis.reporting.model import Cell, Chart, Paragraph, Section, Table, table
from lens.spec.slo import as_objectives

__all__ = ["slo_section", "stalls_section"]


def _keys(ctx: ReportContext) -> list[str]:
    return ctx.varying() + (["run_id"] if len(ctx.runs) > 1 else [])


def _key_cells(frame: pd.DataFrame, keys: list[str], ctx: ReportContext) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for k in keys:
        vals = frame[k].astype(str).tolist()
        out["run" if k == "run_id" else k] = [ctx.run_label(v) for v in vals] if k == "run_id" \
            else vals
    return out


def _window_s(requests: pd.DataFrame) -> float:
    """A tenth of the longest run, at least 1 s: about ten windows per run."""
    t = timeslices.start_offsets(requests)
    return max(1.0, float(t.max()) / 10) if len(t) and t.notna().any() else 10.0


def slo_section(ctx: ReportContext) -> Section | None:
    """Attainment and goodput per target and run, and attainment per time window."""
    objectives = as_objectives(ctx.options.get("slos"), source="the report's SLOs")
    if not objectives or ctx.measured.empty:
        return None
    from lens.analysis import charts

    keys = _keys(ctx)
    att = slo.attainment(ctx.requests, objectives, keys, level=1 - ctx.alpha)
    names = [str(o) for o in objectives]
    display = _key_cells(att, keys, ctx)
    display["met / counted"] = [f"{fmt.count(m)} / {fmt.count(n)}"
                                for m, n in zip(att["met"], att["n"], strict=True)]
    display["attainment"] = [fmt.ci(a * 100, lo * 100, hi * 100, "%") for a, lo, hi in
                             zip(att["attainment"], att["ci_low"], att["ci_high"], strict=True)]
    display["goodput"] = [fmt.qty(v, "req/s") for v in att["goodput_rps"]]
    display["goodput tokens"] = [fmt.qty(v, "tok/s") for v in att["goodput_tok_s"]]
    for name in names:
        if name in att.columns:
            display[name] = [fmt.pct(v) for v in att[name]]
    blocks: list[Paragraph | Table | Chart] = [
        Paragraph(f"A request meets the SLOs ({' and '.join(names)}) when its status is ok and "
                  "every bound holds; failed requests never meet. Attainment = met / counted "
                  f"requests (warm-up and cancelled left out), with a Wilson "
                  f"{1 - ctx.alpha:.0%} interval; goodput = met requests, and their output "
                  "tokens, per second of each run's wall time."),
        table("SLO attainment and goodput", att, display,
              ("met / counted", "attainment", "goodput", "goodput tokens", *names)),
    ]
    sl = timeslices.timeslices(ctx.requests, window_s=_window_s(ctx.requests),
                               by=[k for k in keys if k != "run_id"] or ["target"],
                               objectives=objectives)
    if len(sl) and sl["window"].nunique() > 1:
        group = "target" if "target" in sl.columns else sl.columns[0]
        blocks.append(Chart("attainment_per_window", charts.timeslice_chart(
            sl, "attainment", group), "SLO attainment per time window of the run"))
    return Section("slo", "SLOs and goodput", list(blocks))


def stalls_section(ctx: ReportContext) -> Section | None:
    """Stalled streams (gaps over 250 ms), the longest gaps, and TTFT drift within runs."""
    d = ctx.requests
    if "status" not in d.columns or not (d["status"].astype("object") == "ok").any():
        return None
    from lens.analysis import charts

    keys = _keys(ctx)
    blocks: list[Paragraph | Table | Chart] = []
    st = stalls.stall_summary(d, by=keys or ["target"], level=1 - ctx.alpha)
    if len(st) and "stalls" in d.columns and pd.to_numeric(d["stalls"], errors="coerce").notna().any():
        display = _key_cells(st, [k for k in keys if k in st.columns], ctx)
        display["stalled requests"] = [
            f"{fmt.count(k)} / {fmt.count(n)}" for k, n in
            zip(st["stalled_requests"], st["requests"], strict=True)]
        display["stalled share"] = [fmt.ci(f * 100, lo * 100, hi * 100, "%") for f, lo, hi in
                                    zip(st["stalled_fraction"], st["ci_low"], st["ci_high"],
                                        strict=True)]
        display["stalls per request"] = [fmt.num(v) for v in st["stalls_per_request"]]
        for q in (50, 95, 99):
            display[f"longest gap p{q}"] = [fmt.qty(v, "ms") for v in st[f"itl_max_ms_p{q}"]]
        threshold = float(st["threshold_ms"].iloc[0])
        blocks.append(table(
            f"Stalls: inter-token gaps over {threshold:g} ms", st, display,
            ("stalled requests", "stalled share", "stalls per request",
             "longest gap p50", "longest gap p95", "longest gap p99"),
            note="Successful measured requests; a request's longest gap is its itl_max_ms."))
        if "itl_max_ms" in d.columns and pd.to_numeric(d["itl_max_ms"], errors="coerce").notna().any():
            blocks.append(Chart("stalls", charts.stall_chart(ctx.labelled, _color(ctx)),
                                "Each request's longest inter-token gap"))
    dr = timeslices.drift(d, "ttft_ms", by=keys or ["target"])
    if len(dr):
        display = _key_cells(dr, [k for k in keys if k in dr.columns], ctx)
        display["requests"] = [fmt.count(n) for n in dr["n"]]
        display["Spearman rho"] = [fmt.num(v, 2) for v in dr["rho"]]
        display["p-value"] = [fmt.pvalue(p) for p in dr["p_value"]]
        display["reading"] = [_drift_words(r, p, ctx.alpha) for r, p in
                              zip(dr["rho"], dr["p_value"], strict=True)]
        blocks.append(table("TTFT drift within runs", dr, display,
                            ("requests", "Spearman rho", "p-value"),
                            note="Rank correlation of TTFT with the time into the run."))
    if not blocks:
        return None
    return Section("stalls", "Stalls and drift", list(blocks))


def _color(ctx: ReportContext) -> str:
    return "run" if len(ctx.runs) > 1 else "target"


def _drift_words(rho: Any, p: Any, alpha: float) -> str:
    if pd.isna(rho) or pd.isna(p):
        return "-"
    if p >= alpha:
        return "steady (no trend)"
    return "rose during the run" if rho > 0 else "fell during the run"
