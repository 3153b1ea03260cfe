"""The evidence of a capacity search: throughput against latency per fired level, with the
knee ringed and the answer starred, beside attainment per level with its CI and the target."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import PALETTE


def capacity_frame(result: Any) -> pd.DataFrame:
    """A CapacityResult's levels as chart rows (``verdict``, ``knee``, ``answer`` flags)."""
    f = result.frame()
    if f.empty:
        return f
    f = f.sort_values("level").reset_index(drop=True)
    f["verdict"] = ["repeated" if r or ph == "stopped" else "saturated" if s and p else
                    "meets target" if p else "misses target"
                    for p, s, r, ph in zip(f["passed"], f["saturated"], f["retried"], f["phase"],
                                           strict=True)]
    knee = result.knee
    f["knee"] = f["level"] == knee if knee is not None else False
    f["answer"] = f["level"] == result.answer if result.answer is not None else False
    f["label"] = [f"{lv:g}" for lv in f["level"]]
    return f


def capacity_chart(result: Any, latency: str = "ttft_p95") -> alt.HConcatChart:
    """Left: ``throughput_rps`` (x) against ``latency`` (y, default p95 TTFT) for every fired
    level, the deciding ones joined in level order (a doubtful miss that was repeated, and a
    level cut short by Stop, in grey), labelled with the level; the knee (where latency
    starts to climb with load, lens.analysis.charts.knee) ringed; the answer in a diamond.
    Right: attainment per level with its Wilson CI and the target as a dashed rule."""
    f = capacity_frame(result)
    unit = "concurrency" if result.mode == "concurrency" else "req/s"
    colors = alt.Scale(domain=["meets target", "saturated", "misses target", "repeated"],
                       range=[PALETTE[3], PALETTE[2], PALETTE[1], "#bbbbbb"])
    tip = [alt.Tooltip("level:Q", title=unit), alt.Tooltip("phase:N"),
           alt.Tooltip("throughput_rps:Q", format=".2f", title="ok req/s"),
           alt.Tooltip(f"{latency}:Q", format=".1f"),
           alt.Tooltip("attainment:Q", format=".1%"), alt.Tooltip("n:Q", title="requests")]
    base = alt.Chart(f)
    x = alt.X("throughput_rps:Q", title="throughput (successful requests/s)")
    y = alt.Y(f"{latency}:Q", title=f"{latency} (ms)")
    line = base.transform_filter("datum.verdict != 'repeated'").mark_line(color="#999").encode(
        x=x, y=y, order="level:Q")
    points = base.mark_point(size=80, filled=True).encode(
        x=x, y=y, color=alt.Color("verdict:N", scale=colors, title="level"), tooltip=tip)
    labels = base.mark_text(dx=10, dy=-8, fontSize=10, color="#444").encode(
        x=x, y=y, text="label:N")
    knee = base.transform_filter("datum.knee").mark_point(
        size=350, shape="circle", filled=False, strokeWidth=2, color="black").encode(x=x, y=y)
    star = base.transform_filter("datum.answer").mark_point(
        size=400, shape="diamond", filled=False, strokeWidth=2.5, color=PALETTE[0]).encode(
        x=x, y=y)
    answer = "no level met the target" if result.answer is None else \
        f"answer: {result.answer:g} {unit}"
    left = alt.layer(line, points, labels, knee, star).properties(
        title=alt.TitleParams(f"Throughput vs {latency} per level ({answer})",
                              subtitle="knee ringed, answer in a diamond"))
    lvl = alt.X("level:Q", title=unit)
    bars = base.mark_rule().encode(x=lvl, y=alt.Y("ci_low:Q", title="SLO attainment",
                                                  scale=alt.Scale(domain=[0, 1])),
                                   y2="ci_high:Q")
    dots = base.mark_point(filled=True, size=60).encode(
        x=lvl, y="attainment:Q", color=alt.Color("verdict:N", scale=colors), tooltip=tip)
    goal = alt.Chart(pd.DataFrame({"target": [result.target]})).mark_rule(
        strokeDash=[5, 3], color="#444").encode(y="target:Q")
    right = alt.layer(bars, dots, goal).properties(
        width=260, title=f"Attainment per level (target {result.target:.0%}, 95% CI)")
    return alt.hconcat(left, right)
