"""Cost against latency per group, with the Pareto frontier drawn as a staircase."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import axis_title, category_color, measured, names_of


def mark_frontier(out: pd.DataFrame) -> pd.DataFrame:
    """Add ``frontier``: no other row is at least as cheap and as fast, and strictly better
    in one (columns ``latency`` and ``cost_usd``)."""
    lat, cost = out["latency"].to_numpy(), out["cost_usd"].to_numpy()
    dominated = np.array([
        bool(np.any((lat <= lat[i]) & (cost <= cost[i]) & ((lat < lat[i]) | (cost < cost[i]))))
        for i in range(len(out))], dtype=bool)
    return out.assign(frontier=~dominated)


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
    return mark_frontier(out)


def staircase(points: pd.DataFrame) -> pd.DataFrame:
    """The frontier as a line people can see even with one point on it: down from the top
    of the chart to the fastest frontier point, across and down through the others, and on
    to the right edge at the cheapest one's cost."""
    f = points.loc[points["frontier"]].sort_values("latency")
    if f.empty:
        return pd.DataFrame(columns=["latency", "cost_usd", "step"])
    xs, ys = [float(f["latency"].iloc[0])], [float(points["cost_usd"].max())]
    for i, (x, y) in enumerate(zip(f["latency"], f["cost_usd"], strict=True)):
        if i:
            xs.append(float(x))
            ys.append(ys[-1])
        xs.append(float(x))
        ys.append(float(y))
    xs.append(float(points["latency"].max()))
    ys.append(ys[-1])
    return pd.DataFrame({"latency": xs, "cost_usd": ys, "step": range(len(xs))})


def money_format(values: pd.Series) -> str:
    """A d3 format for dollar axes without scientific notation: cents for dollars, enough
    digits for fractions of a cent ('$0.00041')."""
    top = float(pd.to_numeric(values, errors="coerce").abs().max() or 0)
    digits = 2 if top >= 1 or top == 0 else min(8, 2 - math.floor(math.log10(top)))
    return f"$,.{digits}~f"


def pareto_chart(data: pd.DataFrame, latency_title: str, group: str = "target",
                 cost_title: str = "mean cost per request", sizes: str = ""
                 ) -> alt.LayerChart | alt.FacetChart:
    """Points (``latency``, ``cost_usd``, ``frontier`` per ``group``) and the frontier;
    ``sizes`` (e.g. '500 in / 200 out tokens') says in the title what the cost is of."""
    money = money_format(data["cost_usd"])
    tip = [alt.Tooltip(f"{group}:N"),
           alt.Tooltip("latency:Q", format=",.1f", title=latency_title),
           alt.Tooltip("cost_usd:Q", format=money, title=cost_title),
           alt.Tooltip("frontier:N", title="on frontier")]
    if "n" in data.columns:
        tip.append(alt.Tooltip("n:Q", title="requests"))
    x = alt.X("latency:Q", title=latency_title, scale=alt.Scale(zero=False, nice=True))
    y = alt.Y("cost_usd:Q", title=cost_title if "$" in cost_title else f"{cost_title} ($)",
              axis=alt.Axis(format=money))
    pts = alt.Chart(data).mark_point(filled=True, size=110).encode(
        x=x, y=y, color=category_color(group, names_of(data, group)),
        shape=alt.Shape("frontier:N", title="on frontier",
                        scale=alt.Scale(domain=[True, False], range=["diamond", "circle"])),
        tooltip=tip)
    front = alt.Chart(staircase(data)).mark_line(color="black", strokeDash=[4, 3]).encode(
        x="latency:Q", y="cost_usd:Q", order="step:Q")
    at = f" at {sizes}" if sizes else ""
    return alt.layer(front, pts, title=f"Cost{at} vs {latency_title}: Pareto frontier dashed")


def cost_latency_pareto(df: pd.DataFrame, latency: str = "ttft_ms", q: float = 0.95,
                        group: str = "target") -> alt.LayerChart | alt.FacetChart:
    """Mean measured cost per request against the ``q`` latency quantile, per ``group``."""
    data = pareto_points(df, latency, q, group)
    return pareto_chart(data, axis_title(latency, f"p{q * 100:g}"), group)
