"""Baseline vs candidate: distributions coloured by run, one panel per target.

``ecdf_by_run`` draws each run's exact ECDF (thinned to MAX_ROWS points in all);
``box_by_run`` its exact p5 / quartiles / median / p95. Colours come from ``colors``
((domain, range), e.g. baseline blue and candidate red) so the two runs read the same in
every chart; without it Altair's category palette applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import MAX_ROWS, axis_title, measured, metric_name

Colors = tuple[Sequence[str], Sequence[str]] | None


def _color(run: str, colors: Colors) -> alt.Color:
    scale = alt.Scale(domain=list(colors[0]), range=list(colors[1])) if colors else alt.Undefined
    return alt.Color(f"{run}:N", title="run", scale=scale,
                     legend=alt.Legend(orient="bottom", direction="horizontal"))


def _panels(df: pd.DataFrame, facet: str | None) -> str | None:
    return facet if facet and facet in df.columns and df[facet].nunique() > 1 else None


def _ecdf_rows(df: pd.DataFrame, metric: str, keys: list[str], points: int) -> pd.DataFrame:
    rows = []
    for key, g in df.groupby(keys, observed=True, sort=True):
        x = np.sort(g[metric].to_numpy(dtype="float64", na_value=np.nan))
        x = x[~np.isnan(x)]
        if x.size == 0:
            continue
        ranks = np.unique(np.linspace(0, x.size - 1, min(points, x.size)).round().astype(int))
        part = pd.DataFrame({metric: x[ranks], "ecdf": (ranks + 1) / x.size, "n": x.size})
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True):
            part[k] = str(v)
        rows.append(part)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[*keys, metric, "ecdf", "n"])


def ecdf_by_run(df: pd.DataFrame, metric: str = "ttft_ms", run: str = "run",
                facet: str | None = "target", colors: Colors = None,
                title: str | None = None, axis: str | None = None) -> alt.Chart | alt.FacetChart:
    """Step ECDF of ``metric`` per run (ok, non-warm-up rows), a panel per ``facet`` value
    when there are several."""
    d = measured(df)
    panel = _panels(d, facet)
    keys = [run] + ([panel] if panel else [])
    n_lines = max(1, d.groupby(keys, observed=True).ngroups)
    data = _ecdf_rows(d, metric, keys, max(50, MAX_ROWS // n_lines))
    base = alt.Chart(data).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=alt.X(f"{metric}:Q", title=axis or axis_title(metric)),
        y=alt.Y("ecdf:Q", title="share of requests", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=_color(run, colors),
        tooltip=[alt.Tooltip(f"{run}:N"), alt.Tooltip(f"{metric}:Q", format=".1f"),
                 alt.Tooltip("ecdf:Q", format=".1%", title="share at or below"),
                 alt.Tooltip("n:Q", title="requests")],
    )
    head = title or f"{metric_name(metric)}: distribution per run"
    if panel:
        # no empty grid cell for 3 panels; each panel its own x range (targets differ, the
        # runs of one target are what a panel compares)
        n = d[panel].nunique()
        cols = n if n <= 3 else 2 if n == 4 else 3
        return base.properties(width=300 if cols < 3 else 240, height=200).facet(
            facet=alt.Facet(f"{panel}:N", title=None), columns=cols, title=head,
        ).resolve_scale(x="independent")
    return base.properties(title=head)


def run_box_stats(df: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    g = measured(df).groupby(keys, observed=True)[metric]
    out = pd.DataFrame({"p5": g.quantile(0.05), "q1": g.quantile(0.25), "median": g.median(),
                        "q3": g.quantile(0.75), "p95": g.quantile(0.95), "n": g.count()})
    out = out.reset_index()
    for k in keys:
        out[k] = out[k].astype(str)
    return out.dropna(subset=["median"])


def box_by_run(df: pd.DataFrame, metric: str = "ttft_ms", run: str = "run",
               facet: str | None = "target", colors: Colors = None,
               title: str | None = None, axis: str | None = None,
               ) -> alt.LayerChart | alt.FacetChart:
    """Per run: whisker p5-p95, box q1-q3, median tick (exact quantiles), a row per
    ``facet`` value when there are several."""
    d = measured(df)
    panel = _panels(d, facet)
    keys = [run] + ([panel] if panel else [])
    data = run_box_stats(d, metric, keys)
    y = alt.Y(f"{run}:N", title=None)
    color = _color(run, colors)
    tip = [alt.Tooltip(f"{run}:N"), *(alt.Tooltip(f"{c}:Q", format=".1f")
                                      for c in ("p5", "q1", "median", "q3", "p95")),
           alt.Tooltip("n:Q", title="requests")]
    base = alt.Chart()
    whisker = base.mark_rule(strokeWidth=1.5).encode(
        x=alt.X("p5:Q", title=f"{axis or axis_title(metric)}: p5, quartiles, median, p95"), x2="p95:Q", y=y,
        color=color, tooltip=tip)
    box = base.mark_bar(size=16, opacity=0.35).encode(x="q1:Q", x2="q3:Q", y=y, color=color,
                                                      tooltip=tip)
    med = base.mark_tick(size=16, thickness=2.5).encode(x="median:Q", y=y, color=color,
                                                        tooltip=tip)
    head = title or f"{metric_name(metric)}: spread per run"
    layered = alt.layer(whisker, box, med, data=data)
    if panel:
        return layered.properties(width=520, height=60).facet(
            row=alt.Row(f"{panel}:N", title=None, header=alt.Header(labelAngle=0,
                                                                    labelAlign="left")),
            title=head)
    return layered.properties(title=head, height=90)
