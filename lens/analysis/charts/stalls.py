"""Stalls per group: the share of requests whose longest inter-token gap exceeds x."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lens.analysis.charts.ecdf import ecdf_frame
from lens.analysis.charts.theme import MAX_ROWS, measured
from lens.probe.measure import STALL_MS


def stall_chart(df: pd.DataFrame, group: str = "target",
                threshold_ms: float = STALL_MS) -> alt.LayerChart | alt.FacetChart:
    """Survival curve of ``itl_max_ms`` (successful, measured requests) per ``group``: at
    x, the fraction of requests with a gap longer than x (log scale); the stall threshold
    as a red rule, where the curve reads as the share of stalled requests."""
    d = measured(df)
    n_groups = max(1, d[group].nunique() if group in d else 1)
    data = ecdf_frame(d, "itl_max_ms", group, max(50, MAX_ROWS // n_groups))
    # survival at x = share of requests whose longest gap is *longer* than x
    data["share_longer"] = 1.0 - data["ecdf"]
    stalled = (pd.to_numeric(d["itl_max_ms"], errors="coerce") > threshold_ms).mean() \
        if len(d) else float("nan")
    tip = [alt.Tooltip(f"{group}:N"), alt.Tooltip("itl_max_ms:Q", format=".1f"),
           alt.Tooltip("share_longer:Q", format=".1%", title="share with a longer gap"),
           alt.Tooltip("n:Q", title="requests")]
    curve = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=alt.X("itl_max_ms:Q", title="longest inter-token gap per request (ms)",
                scale=alt.Scale(type="log")),
        y=alt.Y("share_longer:Q", title="share of requests with a longer gap",
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(f"{group}:N", title=group), tooltip=tip)
    rule = alt.Chart(pd.DataFrame({"threshold_ms": [threshold_ms]})).mark_rule(
        color="#dc3912", strokeDash=[5, 3]).encode(
        x="threshold_ms:Q", tooltip=[alt.Tooltip("threshold_ms:Q", title="stall threshold")])
    return alt.layer(curve, rule).properties(title=alt.TitleParams(
        "Longest gap per request (stalls right of the red rule)",
        subtitle=f"{stalled:.1%} of requests stalled (gap > {threshold_ms:g} ms)"))
