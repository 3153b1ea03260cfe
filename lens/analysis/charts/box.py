"""Box (exact quartiles, p5-p95 whiskers) plus a sampled strip of requests, per region."""

from __future__ import annotations

import altair as alt
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


def box_stats(df: pd.DataFrame, metric: str, group: str) -> pd.DataFrame:
    g = measured(df).groupby(group, observed=True)[metric]
    out = pd.DataFrame({
        "p5": g.quantile(0.05), "q1": g.quantile(0.25), "median": g.median(),
        "q3": g.quantile(0.75), "p95": g.quantile(0.95), "n": g.count(),
    }).reset_index()
    out[group] = out[group].astype("object")
    return out


def region_box(df: pd.DataFrame, metric: str = "ttft_ms", group: str = "region") -> alt.LayerChart | alt.FacetChart:
    """Per ``group``: whisker p5-p95, box q1-q3, median tick, and up to MAX_ROWS points."""
    stats = box_stats(df, metric, group)
    pts = plain(limit_rows(measured(df)[[group, metric, "request_id"]].dropna(),
                           MAX_ROWS - len(stats) * 3, by=[group]))
    y = alt.Y(f"{group}:N", title=group)
    tip = [alt.Tooltip(f"{group}:N"), *(alt.Tooltip(f"{c}:Q", format=".1f")
                                        for c in ("p5", "q1", "median", "q3", "p95")),
           alt.Tooltip("n:Q", title="requests")]
    base = alt.Chart(stats)
    whisker = base.mark_rule().encode(
        x=alt.X("p5:Q", title=f"{axis_title(metric)}: p5, quartiles, median, p95"), x2="p95:Q",
        y=y, tooltip=tip)
    box = base.mark_bar(size=18, fill="#ffffff", fillOpacity=0.55, stroke="#333",
                        strokeWidth=1).encode(x="q1:Q", x2="q3:Q", y=y, tooltip=tip)
    med = base.mark_tick(size=18, thickness=2, color="black").encode(x="median:Q", y=y,
                                                                     tooltip=tip)
    strip = alt.Chart(pts).mark_circle(size=12, opacity=0.35).encode(
        x=f"{metric}:Q", y=y, yOffset=alt.YOffset("jitter:Q"),
        color=category_color(group, names_of(pts, group), legend=None),
        tooltip=[alt.Tooltip("request_id:N"), alt.Tooltip(f"{metric}:Q", format=",.1f", title=axis_title(metric))],
    ).transform_calculate(jitter="random() * 16 - 8")
    # a readable row per group (Altair's default band leaves three groups 60 px tall)
    return alt.layer(strip, whisker, box, med, title=f"{metric_name(metric)} by {group}"
                     ).properties(height=max(120, 44 * len(stats)))
