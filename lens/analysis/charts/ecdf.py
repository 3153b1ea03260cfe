"""ECDF of a latency metric (TTFT by default) per group."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import (
    MAX_ROWS,
    axis_title,
    category_color,
    measured,
    metric_name,
    names_of,
)


def ecdf_frame(df: pd.DataFrame, metric: str, group: str, points: int) -> pd.DataFrame:
    """Exact ECDF per group, thinned to ``points`` evenly spaced ranks (min and max kept)."""
    rows = []
    d = measured(df)
    for key, g in d.groupby(group, observed=True) if group in d else [("all", d)]:
        x = np.sort(g[metric].to_numpy(dtype="float64", na_value=np.nan))
        x = x[~np.isnan(x)]
        if x.size == 0:
            continue
        ranks = np.unique(np.linspace(0, x.size - 1, min(points, x.size)).round().astype(int))
        rows.append(pd.DataFrame({group: str(key), metric: x[ranks],
                                  "ecdf": (ranks + 1) / x.size, "n": x.size}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[group, metric, "ecdf", "n"])


def ecdf(df: pd.DataFrame, metric: str = "ttft_ms", group: str = "target",
         domain: Sequence[str] | None = None) -> alt.Chart:
    """Step ECDF of ``metric`` per ``group`` (ok, non-warm-up rows); ``domain`` fixes the
    colour legend's groups (e.g. every target of a panel, so colours stay put)."""
    n_groups = max(1, measured(df)[group].nunique() if group in df else 1)
    data = ecdf_frame(df, metric, group, max(50, MAX_ROWS // n_groups))
    names = list(domain) if domain is not None else names_of(data, group)
    return alt.Chart(data, title=f"{metric_name(metric)}: share of requests at or below").mark_line(
        interpolate="step-after").encode(
        x=alt.X(f"{metric}:Q", title=axis_title(metric)),
        y=alt.Y("ecdf:Q", title="share of requests", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=category_color(group, names),
        tooltip=[alt.Tooltip(f"{group}:N"),
                 alt.Tooltip(f"{metric}:Q", format=",.1f", title=axis_title(metric)),
                 alt.Tooltip("ecdf:Q", format=".1%", title="share at or below"),
                 alt.Tooltip("n:Q", title="requests")],
    )
