"""Error rate by status per group (stacked; ``ok`` and client cancels left out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import empty_chart, names_of
from lens.analysis.stats import CLIENT_STATUSES, error_rates

# one colour per failure kind (lens.record.columns.STATUSES), the same in every chart
STATUS_COLORS = {"http_error": "#dc3912", "rate_limited": "#ff9900", "overloaded": "#dd4477",
                 "timeout": "#316395", "network": "#990099", "stream_error": "#0099c6",
                 "truncated": "#66aa00"}


def status_frame(df: pd.DataFrame, group: str = "target") -> pd.DataFrame:
    er = error_rates(df, by=(group,))
    # ok and client cancels are not errors (lens.analysis.stats.CLIENT_STATUSES)
    skip = {"rate_ok", *(f"rate_{c}" for c in CLIENT_STATUSES)}
    cols = [c for c in er.columns if c.startswith("rate_") and c not in skip]
    long = er.melt(id_vars=[group, "count"], value_vars=cols, var_name="status",
                   value_name="rate")
    long["status"] = long["status"].str.removeprefix("rate_")
    long[group] = long[group].astype("object")
    return long


def error_rate_chart(df: pd.DataFrame, group: str = "target") -> alt.Chart:
    """Stacked share of failed requests by status per ``group``; with no failures, a chart
    that says "no errors in this selection" (with the request count) instead of empty axes."""
    data = status_frame(df, group)
    title = f"Error rate by status and {group}"
    if data.empty or not (data["rate"] > 0).any():
        n = len(df)
        return empty_chart(f"no errors in this selection ({n:,} request{'s' * (n != 1)})",
                           title)
    data = data.loc[data["rate"] > 0]
    statuses = names_of(data, "status")
    palette = [STATUS_COLORS.get(s, "#888888") for s in statuses]
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("rate:Q", title="share of requests", axis=alt.Axis(format="%"), stack="zero"),
        y=alt.Y(f"{group}:N", title=group),
        color=alt.Color("status:N", title="status",
                        scale=alt.Scale(domain=statuses, range=palette)),
        tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("status:N"),
                 alt.Tooltip("rate:Q", format=".2%"), alt.Tooltip("count:Q", title="requests")],
    )
