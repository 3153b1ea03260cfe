"""Baseline-vs-candidate forest plot: each percentile's ratio with its CI."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import VERDICT_COLORS


def forest_plot(comparison: pd.DataFrame, value: str = "ratio") -> alt.LayerChart | alt.FacetChart:
    """One row per metric and percentile from lens.analysis.stats.compare: a point at the
    ``ratio`` (candidate/baseline; or ``diff``) and a rule over its CI, coloured by verdict,
    with a reference line at no change."""
    d = comparison.copy()
    d["row"] = d["metric"].astype(str) + " " + d["stat"].astype(str)
    lo, hi = f"{value}_low", f"{value}_high"
    d = d[["row", "metric", "stat", value, lo, hi, "base", "cand", "verdict", "mw_p",
           "cliffs_delta"]]
    ref = pd.DataFrame({"x": [1.0 if value == "ratio" else 0.0]})
    colors = alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values()))
    y = alt.Y("row:N", title=None, sort=list(d["row"]))
    tip = [alt.Tooltip("row:N", title="metric"), alt.Tooltip(f"{value}:Q", format=".3f"),
           alt.Tooltip(f"{lo}:Q", format=".3f"), alt.Tooltip(f"{hi}:Q", format=".3f"),
           alt.Tooltip("base:Q", format=".1f"), alt.Tooltip("cand:Q", format=".1f"),
           alt.Tooltip("mw_p:Q", format=".3g", title="Mann-Whitney p"),
           alt.Tooltip("cliffs_delta:Q", format=".2f"), alt.Tooltip("verdict:N")]
    base = alt.Chart(d)
    ci = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(f"{lo}:Q", title=f"candidate / baseline ({value}, CI)",
                scale=alt.Scale(zero=False)),
        x2=f"{hi}:Q", y=y, color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    pt = base.mark_point(filled=True, size=70).encode(
        x=f"{value}:Q", y=y, color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    refline = alt.Chart(ref).mark_rule(color="black", strokeDash=[3, 3]).encode(x="x:Q")
    return alt.layer(refline, ci, pt, title="Candidate vs baseline, percentiles with CIs")
