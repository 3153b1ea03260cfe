"""Cost against latency per group, with the Pareto frontier highlighted."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import measured


def pareto_points(df: pd.DataFrame, latency: str = "ttft_ms", q: float = 0.95,
                  group: str = "target") -> pd.DataFrame:
    """Per group: the ``q`` latency quantile, mean ``cost_usd`` and ``frontier`` (no other
    group is at least as cheap and as fast, and strictly better in one)."""
    if "cost_usd" not in df.columns:
        raise ValueError("the frame has no cost_usd column; price it with lens.analysis.cost.price_frame")
    d = measured(df)
    g = d.groupby(group, observed=True)
    out = pd.DataFrame({"latency": g[latency].quantile(q), "cost_usd": g["cost_usd"].mean(),
                        "n": g.size()}).reset_index().dropna(subset=["latency", "cost_usd"])
    out[group] = out[group].astype("object")
    lat, cost = out["latency"].to_numpy(), out["cost_usd"].to_numpy()
    dominated = np.array([
        bool(np.any((lat <= lat[i]) & (cost <= cost[i]) & ((lat < lat[i]) | (cost < cost[i]))))
        for i in range(len(out))], dtype=bool)
    out["frontier"] = ~dominated
    return out


def cost_latency_pareto(df: pd.DataFrame, latency: str = "ttft_ms", q: float = 0.95,
                        group: str = "target") -> alt.LayerChart | alt.FacetChart:
    data = pareto_points(df, latency, q, group)
    pname = f"p{q * 100:g} {latency}"
    tip = [alt.Tooltip(f"{group}:N"), alt.Tooltip("latency:Q", format=".1f", title=pname),
           alt.Tooltip("cost_usd:Q", format=".6f", title="mean $ / request"),
           alt.Tooltip("frontier:N"), alt.Tooltip("n:Q", title="requests")]
    x = alt.X("latency:Q", title=pname)
    y = alt.Y("cost_usd:Q", title="mean cost per request (USD)")
    pts = alt.Chart(data).mark_point(filled=True, size=90).encode(
        x=x, y=y, color=alt.Color(f"{group}:N", title=group),
        shape=alt.Shape("frontier:N", title="on frontier"), tooltip=tip)
    front = alt.Chart(data).transform_filter("datum.frontier").mark_line(
        color="black", strokeDash=[4, 3]).encode(x=x, y=y, order="latency:Q")
    return alt.layer(front, pts, title=f"Cost vs {pname} (Pareto frontier dashed)")
