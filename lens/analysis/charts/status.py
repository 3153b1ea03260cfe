"""Error rate by status per group (stacked; ``ok`` and client cancels left out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from lens.analysis.stats import CLIENT_STATUSES, error_rates


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
    data = status_frame(df, group)
    title = f"Error rate by status and {group}"
    if data.empty or not (data["rate"] > 0).any():
        # Nothing failed: say so, with a zero row per group, rather than draw an empty plot.
        er = error_rates(df, by=(group,))
        data = pd.DataFrame({group: er[group].astype("object"), "count": er["count"],
                             "status": "none", "rate": 0.0})  # fmt: skip
        title = f"{title}: no failed requests"
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("rate:Q", title="share of requests", axis=alt.Axis(format="%"), stack="zero"),
        y=alt.Y(f"{group}:N", title=group),
        color=alt.Color("status:N", title="status"),
        tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("status:N"),
                 alt.Tooltip("rate:Q", format=".2%"), alt.Tooltip("count:Q", title="requests")],
    )
