"""TTFT against prompt tokens, with a least-squares prefill slope per group."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import (
    MAX_ROWS,
    axis_title,
    category_color,
    limit_rows,
    measured,
    metric_name,
    names_of,
    plain,
)


def prefill_fit(df: pd.DataFrame, group: str = "target", x: str = "input_tokens",
                y: str = "ttft_ms") -> pd.DataFrame:
    """Per group: ``slope_ms_per_1k`` (ms per 1000 prompt tokens), ``intercept_ms``, the
    line's end points, and ``n`` -- fitted on every measured row, not the sample."""
    rows = []
    d = measured(df)
    for key, g in d.groupby(group, observed=True):
        xs = g[x].to_numpy(dtype="float64", na_value=np.nan)
        ys = g[y].to_numpy(dtype="float64", na_value=np.nan)
        ok = ~(np.isnan(xs) | np.isnan(ys))
        if ok.sum() < 2 or np.ptp(xs[ok]) == 0:
            continue
        slope, icpt = np.polyfit(xs[ok], ys[ok], 1)
        for xv in (xs[ok].min(), xs[ok].max()):
            rows.append({group: str(key), x: float(xv), y: float(icpt + slope * xv),
                         "slope_ms_per_1k": float(slope * 1000), "intercept_ms": float(icpt),
                         "n": int(ok.sum())})
    return pd.DataFrame(rows, columns=[group, x, y, "slope_ms_per_1k", "intercept_ms", "n"])


def ttft_vs_prompt(df: pd.DataFrame, group: str = "target", x: str = "input_tokens",
                   y: str = "ttft_ms") -> alt.LayerChart | alt.FacetChart:
    """Scatter of ``y`` vs ``x`` (sampled to MAX_ROWS) with the fitted line per group; the
    slope is in the tooltip and, for one group, in the title."""
    fit = prefill_fit(df, group, x, y)
    pts = plain(limit_rows(measured(df)[[group, x, y, "request_id"]].dropna(), MAX_ROWS - len(fit),
                           by=[group]))
    title = f"{metric_name(y)} vs {metric_name(x)}"
    if fit[group].nunique() == 1:
        title += f" (prefill slope {fit['slope_ms_per_1k'].iloc[0]:.2f} ms per 1k tokens)"
    color = category_color(group, names_of(pts, group))
    scatter = alt.Chart(pts).mark_circle(size=18, opacity=0.4).encode(
        x=alt.X(f"{x}:Q", title=axis_title(x)), y=alt.Y(f"{y}:Q", title=axis_title(y)), color=color,
        tooltip=[alt.Tooltip("request_id:N"), alt.Tooltip(f"{x}:Q"),
                 alt.Tooltip(f"{y}:Q", format=".1f")])
    line = alt.Chart(fit).mark_line(strokeWidth=2.5).encode(
        x=f"{x}:Q", y=f"{y}:Q", color=color,
        tooltip=[alt.Tooltip(f"{group}:N"),
                 alt.Tooltip("slope_ms_per_1k:Q", format=".3f", title="prefill ms / 1k tokens"),
                 alt.Tooltip("intercept_ms:Q", format=".1f"), alt.Tooltip("n:Q")])
    return alt.layer(scatter, line, title=title)
