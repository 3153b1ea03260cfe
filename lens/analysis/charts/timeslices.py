"""A per-window metric within runs (lens.analysis.timeslices): drift during a burst."""

from __future__ import annotations

import altair as alt
import pandas as pd


def timeslice_chart(slices: pd.DataFrame, metric: str = "ttft_ms_p95",
                    group: str = "target") -> alt.LayerChart | alt.FacetChart:
    """``metric`` per time window (x: window start, s into the run) per ``group``; partial
    (last) windows hollow; for ``attainment`` its Wilson CI as a band."""
    data = slices.copy()
    if group not in data.columns:
        data[group] = "all"
    data[group] = data[group].astype("object").astype(str)
    data["t_mid_s"] = (data["t_start_s"] + data["t_end_s"]) / 2
    x = alt.X("t_mid_s:Q", title="time into the run (s, window midpoint)")
    color = alt.Color(f"{group}:N", title=group)
    tip = [alt.Tooltip(f"{group}:N"), alt.Tooltip("t_start_s:Q", title="window from (s)"),
           alt.Tooltip("t_end_s:Q", title="to (s)"), alt.Tooltip(f"{metric}:Q", format=".3g"),
           alt.Tooltip("n:Q", title="requests"), alt.Tooltip("partial:N")]
    base = alt.Chart(data)
    line = base.mark_line().encode(x=x, y=alt.Y(f"{metric}:Q", title=metric), color=color)
    points = base.mark_point(size=50, filled=False, strokeWidth=1.5, opacity=1).encode(
        x=x, y=f"{metric}:Q", color=color, tooltip=tip,
        fill=alt.condition("datum.partial", alt.value("white"),
                           alt.Fill(f"{group}:N", legend=None)))
    layers: list[alt.Chart] = [line, points]
    if metric == "attainment" and {"ci_low", "ci_high"} <= set(data.columns):
        layers.insert(0, base.mark_area(opacity=0.2).encode(
            x=x, y=alt.Y("ci_low:Q", scale=alt.Scale(domain=[0, 1])), y2="ci_high:Q",
            color=color))
    width = float(data["t_end_s"].iloc[0] - data["t_start_s"].iloc[0]) if len(data) else 0.0
    return alt.layer(*layers).properties(title=alt.TitleParams(
        f"{metric} per {width:g} s window", subtitle="hollow: the last, partial window"))
