"""ECDF of a latency metric (TTFT by default) per group."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import MAX_ROWS, measured


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


def ecdf(df: pd.DataFrame, metric: str = "ttft_ms", group: str = "target") -> alt.Chart:
    """Step ECDF of ``metric`` per ``group`` (ok, non-warm-up rows)."""
    n_groups = max(1, measured(df)[group].nunique() if group in df else 1)
    data = ecdf_frame(df, metric, group, max(50, MAX_ROWS // n_groups))
    return alt.Chart(data, title=f"ECDF of {metric} by {group}").mark_line(
        interpolate="step-after").encode(
        x=alt.X(f"{metric}:Q", title=metric),
        y=alt.Y("ecdf:Q", title="fraction of requests", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(f"{group}:N", title=group),
        tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip(f"{metric}:Q", format=".1f"),
                 alt.Tooltip("ecdf:Q", format=".3f"), alt.Tooltip("n:Q", title="requests")],
    )
