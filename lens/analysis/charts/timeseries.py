"""A metric over time (one point per scheduled run) with change points marked."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from lens.analysis.changepoints import ChangePoint, detect
from lens.analysis.charts.theme import MAX_ROWS, time_axis


def timeseries_chart(series: pd.Series, points: Sequence[ChangePoint] | None = None,
                     metric: str = "p95 TTFT (ms)") -> alt.LayerChart | alt.FacetChart:
    """Line of ``series`` (index = time); vertical rules at change points (detected with
    lens.analysis.changepoints.detect when ``points`` is None), tooltips with the level
    before and after, and each segment's median level as a dashed step."""
    s = series.dropna()
    if len(s) > MAX_ROWS:  # keep the series' shape; change points come from all of it
        s = s.iloc[:: -(-len(s) // MAX_ROWS)]
    pts = list(points) if points is not None else detect(series)
    data = pd.DataFrame({"time": s.index, "value": s.to_numpy(dtype="float64")})
    data["utc"] = _utc_text(data["time"])
    cps = pd.DataFrame([{"time": p.time, "before": p.before, "after": p.after,
                         "rel_change": p.rel_change} for p in pts],
                       columns=["time", "before", "after", "rel_change"])
    cps["utc"] = _utc_text(cps["time"])
    edges = [series.index[0], *[p.time for p in pts], series.index[-1]]
    levels = [pts[0].before] if pts else [float(s.median())]
    levels += [p.after for p in pts]
    steps = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "level": levels})
    x = time_axis(data["time"])
    line = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title=metric),
        tooltip=[alt.Tooltip("utc:N", title="time"),
                 alt.Tooltip("value:Q", format=",.1f", title=metric)])
    level = alt.Chart(steps).mark_rule(strokeDash=[5, 3], color="#888").encode(
        x="start:T", x2="end:T", y="level:Q",
        tooltip=[alt.Tooltip("level:Q", format=".1f", title="segment median")])
    rules = alt.Chart(cps).mark_rule(color="#dc3912", strokeWidth=2).encode(
        x="time:T",
        tooltip=[alt.Tooltip("utc:N", title="change at"),
                 alt.Tooltip("before:Q", format=".1f"), alt.Tooltip("after:Q", format=".1f"),
                 alt.Tooltip("rel_change:Q", format="+.1%")])
    n = len(pts)
    name = metric.split(" (")[0]  # the unit is on the axis
    return alt.layer(line, level, rules,
                     title=f"{name} over time: {n} change point{'s' * (n != 1)}")


def _utc_text(times: pd.Series) -> list[str]:
    """'2026-11-23 00:25 UTC' for tooltips (the axis shows dates; this the exact time)."""
    ts = pd.to_datetime(times, utc=True)
    return [t.strftime("%Y-%m-%d %H:%M UTC") for t in ts]
