"""Cost what-ifs: how much would a volume of requests of a given size cost per target?

``CostExplorer(df, prices)`` prices the measured rows once (lens.analysis.cost.price_frame),
draws cost vs latency with its Pareto frontier, and answers "what if" from sliders
(requests per day, prompt tokens, output tokens) by pricing one hypothetical request per
target through the same price lookup: no separate price table to drift.
"""

from __future__ import annotations

import os
from typing import Any

from lens.widgets._display import chart_bundle, error_html, ipw, table_html


def whatif_costs(priced: Any, prices: Any, *, requests_per_day: int, prompt_tokens: int,
                 output_tokens: int, group: str = "target") -> Any:
    """Per group: USD per request, per day and per 30-day month for requests of the given
    size, priced as ``priced``'s rows were (same provider, model, endpoint, prices)."""
    import pandas as pd

    from lens.analysis.cost import price_frame

    first = priced.drop_duplicates(subset=[group]).reset_index(drop=True).copy()
    zeros = pd.array([0] * len(first), dtype="Int64")
    first["input_tokens"] = pd.array([prompt_tokens] * len(first), dtype="Int64")
    first["output_tokens"] = pd.array([output_tokens] * len(first), dtype="Int64")
    for col in ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
        if col in first.columns:
            first[col] = zeros
    first["status"] = "ok"
    first["tokens_estimated"] = False
    first["warmup"] = False
    hypo, _ = price_frame(first.drop(columns=["cost_usd", "cost_source"], errors="ignore"), prices)
    out = pd.DataFrame({
        group: hypo[group].astype("object"),
        "usd_per_request": hypo["cost_usd"],
        "usd_per_day": hypo["cost_usd"] * requests_per_day,
        "usd_per_month": hypo["cost_usd"] * requests_per_day * 30,
        "priced_by": hypo["cost_source"].astype("object"),
    })
    return out.sort_values(group).reset_index(drop=True)


class CostExplorer:
    """Sliders for volume and request size; a what-if table and a cost/latency Pareto chart."""

    def __init__(self, df: Any, prices: Any = None, *, latency: str = "ttft_ms",
                 q: float = 0.95, requests_per_day: int = 100_000, prompt_tokens: int = 500,
                 output_tokens: int = 200) -> None:
        from lens.analysis.cost import price_frame
        from lens.analysis.prices import load_overrides

        w = ipw()
        if isinstance(prices, str | os.PathLike):
            prices = load_overrides(prices)
        self.prices = prices
        self.priced, self.report = price_frame(df, prices)
        self.latency, self.q = latency, q
        self.error: BaseException | None = None
        self.table: Any = None
        style = {"description_width": "130px"}
        layout = w.Layout(width="520px")
        self.requests_per_day = w.IntSlider(value=requests_per_day, min=1_000, max=10_000_000,
                                            step=1_000, description="requests / day",
                                            style=style, layout=layout)
        self.prompt_tokens = w.IntSlider(value=prompt_tokens, min=1, max=32_000, step=1,
                                         description="prompt tokens", style=style, layout=layout)
        self.output_tokens = w.IntSlider(value=output_tokens, min=1, max=8_000, step=1,
                                         description="output tokens", style=style, layout=layout)
        self.status = w.HTML()
        self.table_html = w.HTML()
        self.chart_output = w.Output()
        for s in (self.requests_per_day, self.prompt_tokens, self.output_tokens):
            s.observe(lambda _c: self.update(), names="value")
        self.widget = w.VBox([self.requests_per_day, self.prompt_tokens, self.output_tokens,
                              self.status, self.table_html, self.chart_output])
        self.widget.add_class("lens-cost-explorer")
        self.draw_pareto()
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = f"CostExplorer(rows={len(self.priced)})"
        return bundle

    def whatif(self) -> Any:
        return whatif_costs(self.priced, self.prices,
                            requests_per_day=int(self.requests_per_day.value),
                            prompt_tokens=int(self.prompt_tokens.value),
                            output_tokens=int(self.output_tokens.value))

    def update(self) -> None:
        """Recompute the what-if table from the sliders."""
        try:
            self.table = self.whatif()
            self.table_html.value = table_html(self.table, floatfmt="{:,.6g}")
            self.status.value = ""
            self.error = None
        except Exception as exc:
            self.error = exc
            self.status.value = error_html(exc)

    def draw_pareto(self) -> None:
        from lens.analysis import charts

        try:
            self.chart = charts.cost_latency_pareto(self.priced, self.latency, self.q)
            self.chart_output.outputs = ({"output_type": "display_data",
                                          "data": chart_bundle(self.chart), "metadata": {}},)
        except Exception as exc:
            self.error = exc
            self.status.value = error_html(exc)
