"""The HTML report's section on SLOs, stalls and drift within runs.

``report_section`` returns an HTML fragment (headings, notes and tables, every value
escaped); ``report_charts`` the section's Altair charts by name, for the report to embed
the way it embeds its others. Both take the report's request rows (and chunk rows, which
only the stall threshold needs). Definitions: lens.analysis.slo, lens.analysis.stalls,
lens.analysis.timeslices (docs/metrics.md).
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from lens.analysis import slo, stalls, timeslices
from lens.spec.slo import ObjectivesLike, as_objectives


def _table(df: pd.DataFrame) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.4g}"
        return str(v)

    return ("<div class='scroll'>" + df.to_html(index=False, escape=True, border=0,
            classes="tbl", formatters={c: fmt for c in df.columns}, na_rep="") + "</div>")


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def report_section(requests: pd.DataFrame, chunks: pd.DataFrame | None = None, *,
                   objectives: ObjectivesLike = None, group: str = "target",
                   threshold_ms: float | None = None, level: float = 0.95) -> str:
    """HTML: SLO attainment and goodput per ``group`` (when ``objectives`` are given),
    stall figures, and Spearman drift of TTFT over each run."""
    parts: list[str] = []
    objs = as_objectives(objectives)
    if objs:
        slos = " and ".join(str(o) for o in objs)
        att = slo.attainment(requests, objs, (group,), level=level)
        parts += [f"<h2>SLO attainment and goodput: {html.escape(slos)}</h2>",
                  _p(f"A request meets the SLOs when its status is ok and every bound holds; "
                     f"attainment = met / counted requests (warm-up and cancelled excluded), "
                     f"with a Wilson {level:.0%} interval; goodput = met requests (and their "
                     f"output tokens) per second of each run's wall time."),
                  _table(att)]
    threshold = threshold_ms if chunks is not None and len(chunks) else None
    st = stalls.stall_summary(requests, chunks, by=(group,), threshold_ms=threshold)
    if len(st):
        parts += [f"<h2>Stalls (gaps over {st['threshold_ms'].iloc[0]:g} ms)</h2>",
                  _p("Successful requests with at least one inter-token gap over the "
                     "threshold, the stalls counted, and each request's longest gap."),
                  _table(st)]
    dr = timeslices.drift(requests, "ttft_ms", by=(group,))
    if len(dr):
        parts += ["<h2>TTFT drift within runs</h2>",
                  _p("Spearman's rank correlation of TTFT with the time into the run: rho > 0 "
                     "with a small p-value says TTFT rose during the burst."), _table(dr)]
    return "<section class='lens-slo'>" + "".join(parts) + "</section>"


def report_charts(requests: pd.DataFrame, chunks: pd.DataFrame | None = None, *,
                  objectives: ObjectivesLike = None, group: str = "target",
                  window_s: float | None = None) -> dict[str, Any]:
    """The section's charts: ``ttft_per_window`` and, with SLOs, ``attainment_per_window``
    (lens.analysis.timeslices; ``window_s`` default: a tenth of the longest run, at least
    1 s), and ``stalls`` (longest gap per request)."""
    from lens.analysis import charts

    out: dict[str, Any] = {}
    if window_s is None:
        t = timeslices.start_offsets(requests)
        window_s = max(1.0, float(t.max()) / 10) if len(t) and t.notna().any() else 10.0
    objs = as_objectives(objectives)
    sl = timeslices.timeslices(requests, window_s=window_s, by=(group,), objectives=objs)
    if len(sl):
        out["ttft_per_window"] = charts.timeslice_chart(sl, "ttft_ms_p95", group)
        if objs:
            out["attainment_per_window"] = charts.timeslice_chart(sl, "attainment", group)
    if "itl_max_ms" in requests.columns and requests["itl_max_ms"].notna().any():
        out["stalls"] = charts.stall_chart(requests, group)
    return out
