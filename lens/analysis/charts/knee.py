"""Latency against concurrency (or offered load): where latency starts to climb (the knee)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import axis_title, category_color, measured, metric_name, names_of


def find_knee(x: np.ndarray, y: np.ndarray) -> float | None:
    """The x of the knee of an increasing, convex-ish curve: the point farthest below the
    chord from the first to the last point (Kneedle on normalised axes); None if flat."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    order = np.argsort(x)
    xn = (x[order] - x.min()) / np.ptp(x)
    yn = (y[order] - y[order][0]) / (y[order][-1] - y[order][0]) if y[order][-1] != y[order][0] \
        else np.zeros_like(xn)
    gap = xn - yn  # chord y=x minus curve
    i = int(np.argmax(gap))
    return float(x[order][i]) if gap[i] > 0.05 else None


def load_curve(df: pd.DataFrame, metric: str, x: str, group: str) -> pd.DataFrame:
    g = measured(df).groupby([group, x], observed=True)[metric]
    out = pd.DataFrame({"p50": g.median(), "p95": g.quantile(0.95), "n": g.count()}).reset_index()
    out[group] = out[group].astype("object")
    out[x] = out[x].astype("float64")
    out["knee"] = False
    for _, sub in out.groupby(group):
        k = find_knee(sub[x].to_numpy(), sub["p95"].to_numpy())
        if k is not None:
            out.loc[sub.index[sub[x] == k], "knee"] = True
    return out


def latency_vs_load(df: pd.DataFrame, metric: str = "ttft_ms", x: str = "concurrency",
                    group: str = "target") -> alt.LayerChart | alt.FacetChart:
    """p50 (dashed) and p95 (solid) of ``metric`` per level of ``x``; knees ringed."""
    data = load_curve(df, metric, x, group)
    long = data.melt(id_vars=[group, x, "n", "knee"], value_vars=["p50", "p95"],
                     var_name="stat", value_name=metric)
    tip = [alt.Tooltip(f"{group}:N"), alt.Tooltip(f"{x}:Q"), alt.Tooltip("stat:N"),
           alt.Tooltip(f"{metric}:Q", format=".1f"), alt.Tooltip("n:Q", title="requests")]
    base = alt.Chart(long)
    lines = base.mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=axis_title(x)), y=alt.Y(f"{metric}:Q", title=axis_title(metric)),
        color=category_color(group, names_of(long, group)),
        strokeDash=alt.StrokeDash("stat:N", title="percentile",
                                  scale=alt.Scale(domain=["p50", "p95"], range=[[4, 3], [1, 0]])),
        tooltip=tip)
    knees = base.transform_filter("datum.knee && datum.stat == 'p95'").mark_point(
        size=250, shape="circle", filled=False, strokeWidth=2, color="black").encode(
        x=f"{x}:Q", y=f"{metric}:Q", tooltip=tip)
    return alt.layer(lines, knees, title=f"{metric_name(metric)} vs {axis_title(x)} (knee ringed)")
