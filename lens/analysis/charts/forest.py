"""Baseline-vs-candidate forest plot: each percentile's ratio with its CI."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import VERDICT_COLORS, metric_name


def forest_domain(d: pd.DataFrame, value: str) -> tuple[float, float]:
    """The x range that shows every point estimate and the typical CI: intervals much wider
    than the others (one small sample's 0.3-11.6) are clipped to it rather than squashing
    every other row. Ratios are spaced on a log scale, differences linearly."""
    lo, hi = d[f"{value}_low"].astype(float), d[f"{value}_high"].astype(float)
    pts = d[value].astype(float)
    ref = 1.0 if value == "ratio" else 0.0
    if value == "ratio":
        lo, hi, pts, ref = np.log(lo.clip(lower=1e-9)), np.log(hi.clip(lower=1e-9)), \
            np.log(pts.clip(lower=1e-9)), 0.0
    half = ((hi - lo) / 2).dropna()
    # the range reaches twice the median half-width beyond the outermost point estimates
    reach = 2 * float(half.median()) if len(half) else 0.0
    left = min(float(pts.min()), ref) - reach
    right = max(float(pts.max()), ref) + reach
    left, right = max(left, float(lo.min())), min(right, float(hi.max()))
    left, right = min(left, ref), max(right, ref)
    pad = 0.05 * (right - left or 1.0)
    left, right = left - pad, right + pad
    if value == "ratio":
        return float(np.exp(left)), float(np.exp(right))
    return left, right


def forest_plot(comparison: pd.DataFrame, value: str = "ratio") -> alt.LayerChart | alt.FacetChart:
    """One row per metric and percentile from lens.analysis.stats.compare: a point at the
    ``ratio`` (candidate/baseline; or ``diff``) and a rule over its CI, coloured by verdict,
    with a reference line at no change. CIs beyond the shared range end in an arrow (their
    full bounds are in the tooltip)."""
    d = comparison.copy()
    d["row"] = d["metric"].astype(str).map(metric_name) + " " + d["stat"].astype(str)
    lo, hi = f"{value}_low", f"{value}_high"
    d = d[["row", "metric", "stat", value, lo, hi, "base", "cand", "verdict", "mw_p",
           "cliffs_delta"]]
    left, right = forest_domain(d, value) if len(d) else (0.5, 2.0)
    ref = pd.DataFrame({"x": [1.0 if value == "ratio" else 0.0]})
    colors = alt.Scale(domain=list(VERDICT_COLORS), range=list(VERDICT_COLORS.values()))
    y = alt.Y("row:N", title=None, sort=list(d["row"]))
    tip = [alt.Tooltip("row:N", title="metric"), alt.Tooltip(f"{value}:Q", format=".3f"),
           alt.Tooltip(f"{lo}:Q", format=".3f", title="CI low"),
           alt.Tooltip(f"{hi}:Q", format=".3f", title="CI high"),
           alt.Tooltip("base:Q", format=",.1f", title="baseline"),
           alt.Tooltip("cand:Q", format=",.1f", title="candidate"),
           alt.Tooltip("mw_p:Q", format=".3g", title="Mann-Whitney p"),
           alt.Tooltip("cliffs_delta:Q", format=".2f"), alt.Tooltip("verdict:N")]
    scale = alt.Scale(domain=[left, right], clamp=True, zero=False, nice=False,
                      type="log" if value == "ratio" else "linear")
    title = ("candidate ÷ baseline (1 = no change, with CI)" if value == "ratio"
             else "candidate - baseline (0 = no change, with CI)")
    base = alt.Chart(d)
    ci = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(f"{lo}:Q", title=title, scale=scale),
        x2=f"{hi}:Q", y=y, color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    pt = base.mark_point(filled=True, size=70).encode(
        x=f"{value}:Q", y=y, color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    clipped = pd.concat([
        d.loc[d[lo] < left].assign(edge=left, shape="triangle-left"),
        d.loc[d[hi] > right].assign(edge=right, shape="triangle-right"),
    ])
    arrows = alt.Chart(clipped).mark_point(filled=True, size=60).encode(
        x=alt.X("edge:Q", scale=scale), y=y, shape=alt.Shape("shape:N", scale=None),
        color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    refline = alt.Chart(ref).mark_rule(color="black", strokeDash=[3, 3]).encode(x="x:Q")
    return alt.layer(refline, ci, pt, arrows,
                     title="Candidate vs baseline, percentiles with CIs (arrows: CI clipped)"
                     ).properties(height=max(120, 30 * len(d)))
