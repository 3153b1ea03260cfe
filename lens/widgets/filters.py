"""The filter panel: slice an already-loaded frame and redraw, without re-running queries.

``FilterPanel(df)`` offers run, target, region, time range, metric, percentile, grouping
and chart kind. Every change filters the in-memory frame (``filtered()``) and redraws the
chart and the percentile table; nothing is read from a store again.
"""

from __future__ import annotations

from typing import Any

from lens.widgets._display import chart_bundle, error_html, info_html, ipw, table_html

CHARTS: tuple[str, ...] = ("ecdf", "box", "errors", "prompt")
PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
GROUPS: tuple[str, ...] = ("target", "region", "run_id", "model")


class FilterPanel:
    """Filters + chart + table over ``df`` (a request frame from lens.load or a panel)."""

    def __init__(self, df: Any, *, metric: str = "ttft_ms", percentile: int = 95,
                 group: str = "target", chart: str = "ecdf", max_time_steps: int = 200) -> None:
        w = ipw()
        import pandas as pd

        from lens.analysis.stats import METRICS

        self.df = df
        self.chart: Any = None
        self.table: Any = None
        self.error: BaseException | None = None
        self.redraws = 0
        style = {"description_width": "90px"}

        def values(col: str) -> list[str]:
            return sorted(str(v) for v in df[col].dropna().astype("object").unique()) if col in df else []

        self.runs = w.SelectMultiple(options=values("run_id"), value=tuple(values("run_id")),
                                     description="runs", rows=4, style=style)
        self.targets = w.SelectMultiple(options=values("target"), value=tuple(values("target")),
                                        description="targets", rows=4, style=style)
        self.regions = w.SelectMultiple(options=values("region"), value=tuple(values("region")),
                                        description="regions", rows=4, style=style)
        ts = pd.to_datetime(df["started_at"], utc=True) if len(df) else pd.Series([], dtype="datetime64[ns, UTC]")
        steps = _time_steps(ts, max_time_steps)
        self._steps = steps
        labels = [s.strftime("%Y-%m-%d %H:%M:%S") for s in steps] or ["(no rows)"]
        # the slider's own readout is cut off for two date-times: the range is spelled out
        # in full beside it instead
        self.time_range = w.SelectionRangeSlider(options=labels, index=(0, len(labels) - 1),
                                                 description="time", style=style,
                                                 readout=False, layout=w.Layout(width="520px"))
        self.time_readout = w.HTML(layout=w.Layout(margin="0 0 0 10px"))
        metrics = [m for m in (*METRICS, "e2e_ms", "headers_ms") if m in df.columns]
        from lens.analysis.reporting.fmt import label

        self.metric = w.Dropdown(options=[(label(m), m) for m in dict.fromkeys(metrics)],
                                 value=metric, description="metric", style=style)
        self.percentile = w.Dropdown(options=list(PERCENTILES), value=percentile,
                                     description="percentile", style=style)
        self.group = w.Dropdown(options=[g for g in GROUPS if g in df.columns], value=group,
                                description="group by", style=style)
        self.kind = w.Dropdown(options=list(CHARTS), value=chart, description="chart", style=style)
        self.status = w.HTML()
        self.chart_output = w.Output()
        self.table_html = w.HTML()
        for c in (self.runs, self.targets, self.regions, self.time_range, self.metric,
                  self.percentile, self.group, self.kind):
            c.observe(lambda _change: self.redraw(), names="value")
        self.widget = w.VBox([
            w.HBox([self.runs, self.targets, self.regions]),
            w.HBox([self.time_range, self.time_readout]),
            w.HBox([self.metric, self.percentile, self.group, self.kind]),
            self.status, self.chart_output, self.table_html,
        ])
        self.widget.add_class("lens-filter-panel")
        self.redraw()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = f"FilterPanel(rows={len(self.df)})"
        return bundle

    def filtered(self) -> Any:
        """The rows the controls select (a view of the loaded frame; no query is re-run)."""
        df = self.df
        mask = df["run_id"].astype("object").isin(self.runs.value)
        mask &= df["target"].astype("object").isin(self.targets.value)
        mask &= df["region"].astype("object").isin(self.regions.value)
        if self._steps:
            import pandas as pd

            lo, hi = self.time_range.index
            ts = pd.to_datetime(df["started_at"], utc=True)
            mask &= ts >= self._steps[lo]
            if hi + 1 < len(self._steps):  # a step stands for the rows up to the next step
                mask &= ts < self._steps[hi + 1]
        return df.loc[mask].reset_index(drop=True)

    def percentile_table(self, d: Any) -> Any:
        """Per group: requests, errors and the chosen percentile of the chosen metric."""
        from lens.widgets.live import live_summary

        return live_summary(d, self.metric.value, self.group.value, (int(self.percentile.value),))

    def redraw(self) -> None:
        """Recompute from the loaded frame and redraw chart and table."""
        from lens.analysis import charts

        try:
            lo, hi = self.time_range.value
            self.time_readout.value = (f'<span class="lens-time-readout">{lo} to {hi} UTC</span>'
                                       if self._steps else "")
            d = self.filtered()
            self.status.value = info_html(f"{len(d)} of {len(self.df)} requests selected")
            if not len(d):
                self.chart_output.outputs = ()
                self.table = None
                self.table_html.value = table_html(None)
                return
            m, g = self.metric.value, self.group.value
            kind = self.kind.value
            if kind == "ecdf":
                self.chart = charts.ecdf(d, m, g)
            elif kind == "box":
                self.chart = charts.region_box(d, m, g)
            elif kind == "errors":
                self.chart = charts.error_rate_chart(d, g)
            else:
                self.chart = charts.ttft_vs_prompt(d, g, y=m)
            self.table = self.percentile_table(d)
            self.table_html.value = table_html(self.table)
            self.chart_output.outputs = ({"output_type": "display_data",
                                          "data": chart_bundle(self.chart), "metadata": {}},)
            self.redraws += 1
            self.error = None
        except Exception as exc:
            self.error = exc
            self.status.value = error_html(exc)


def _time_steps(ts: Any, limit: int) -> list[Any]:
    """Sorted distinct start seconds, thinned to at most ``limit`` evenly spaced steps
    (whole seconds, so every step has a distinct slider label)."""
    uniq = sorted(ts.dropna().dt.floor("s").unique())
    if len(uniq) <= limit:
        return list(uniq)
    stride = -(-len(uniq) // limit)
    out = list(uniq[::stride])
    return out if out[-1] == uniq[-1] else [*out, uniq[-1]]
