"""TTFT by turn of multi-turn sessions: does a longer history cost more prefill, and does
the provider's prefix cache take it back?"""

from __future__ import annotations

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import (
    axis_title,
    category_color,
    measured,
    metric_name,
    names_of,
    plain,
)


def turn_frame(df: pd.DataFrame, metric: str = "ttft_ms", group: str = "target") -> pd.DataFrame:
    """Per group and ``turn``: p50/p90 of ``metric``, requests, median ``input_tokens`` and
    the token cache hit rate (successful measured turns of sessions only)."""
    d = measured(df)
    if "turn" not in d.columns:
        d = d.iloc[0:0]
    d = d.loc[d["turn"].notna()] if "turn" in d.columns else d
    cols = [group, "turn", "p50", "p90", "n", "input_tokens", "cache_hit_rate"]
    if d.empty:
        return pd.DataFrame(columns=cols)
    d = d.assign(turn=d["turn"].astype("int64"))
    g = d.groupby([group, "turn"], observed=True)
    out = pd.DataFrame({
        "p50": g[metric].median(), "p90": g[metric].quantile(0.9), "n": g[metric].count(),
        "input_tokens": g["input_tokens"].median(),
    })  # fmt: skip
    cached = pd.to_numeric(d["cached_input_tokens"], errors="coerce")
    inp = pd.to_numeric(d["input_tokens"], errors="coerce").where(cached.notna())
    sums = pd.DataFrame({"c": cached, "i": inp, group: d[group], "turn": d["turn"]}).groupby(
        [group, "turn"], observed=True)[["c", "i"]].sum(min_count=1)  # fmt: skip
    out["cache_hit_rate"] = sums["c"] / sums["i"]
    out = out.reset_index()
    out[group] = out[group].astype("object")
    return plain(out[cols])


def ttft_by_turn(df: pd.DataFrame, metric: str = "ttft_ms", group: str = "target") -> alt.Chart:
    """p50 (solid) and p90 (dashed) of ``metric`` per turn, one colour per ``group``."""
    data = turn_frame(df, metric, group)
    long = data.melt(id_vars=[group, "turn", "n", "input_tokens", "cache_hit_rate"],
                     value_vars=["p50", "p90"], var_name="stat", value_name=metric)
    title = f"{metric_name(metric)} by turn"
    if long.empty:
        title += ": no session turns (spec sessions)"
    return alt.Chart(long, title=title).mark_line(point=True).encode(
        x=alt.X("turn:O", title="turn"),
        y=alt.Y(f"{metric}:Q", title=axis_title(metric)),
        color=category_color(group, names_of(long, group)),
        strokeDash=alt.StrokeDash("stat:N", title="percentile",
                                  scale=alt.Scale(domain=["p50", "p90"], range=[[1, 0], [4, 3]])),
        tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("turn:O"), alt.Tooltip("stat:N"),
                 alt.Tooltip(f"{metric}:Q", format=".1f"), alt.Tooltip("n:Q", title="requests"),
                 alt.Tooltip("input_tokens:Q", title="input tokens (median)", format=".0f"),
                 alt.Tooltip("cache_hit_rate:Q", title="cache hit rate", format=".0%")],
    )
