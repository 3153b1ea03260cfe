"""Cost what-ifs: how much would a volume of requests of a given size cost per target?

``CostExplorer(df, prices)`` prices the measured rows once (lens.analysis.cost.price_frame),
draws cost vs latency with its Pareto frontier, and answers "what if" from sliders
(requests per day, prompt tokens, output tokens) by pricing one hypothetical request per
target with lens.analysis.pricing.price_row, the one rule reports, budgets and the
Prometheus cost counter use: no separate price table to drift.
"""

from __future__ import annotations

import os
from typing import Any

from lens.widgets._display import chart_bundle, error_html, ipw, table_html


def whatif_costs(priced: Any, prices: Any, *, requests_per_day: int, prompt_tokens: int,
                 output_tokens: int, group: str = "target") -> Any:
    """Per group: USD per request, per day and per 30-day month for requests of the given
    size, priced as ``priced``'s rows were (same provider, model, endpoint, date, prices).

    A GPU-hour endpoint's request costs its group's median measured ``e2e_ms`` at the
    median concurrency (warm-up excluded): its duration does not follow the token sliders.
    Money is exact (Decimal) until the table's float columns; unpriced groups get NaN and
    say why in ``priced_by``.
    """
    import pandas as pd

    from lens.analysis.pricing import price_book

    book = price_book(prices)
    rows = []
    for name, g in priced.groupby(group, observed=True, sort=True):
        usd, source = book.price(_hypothetical(g, prompt_tokens, output_tokens))
        per = [float("nan") if usd is None else float(usd * k)
               for k in (1, requests_per_day, requests_per_day * 30)]
        rows.append((name, *per, source))
    return pd.DataFrame(rows, columns=[group, "usd_per_request", "usd_per_day",
                                       "usd_per_month", "priced_by"])


def _hypothetical(g: Any, prompt_tokens: int, output_tokens: int) -> Any:
    """One request of the given size to the group's endpoint, as measured there."""
    import pandas as pd

    from lens.analysis.pricing import UsageRow

    if "warmup" in g.columns and not g["warmup"].fillna(False).astype(bool).all():
        g = g.loc[~g["warmup"].fillna(False).astype(bool)]
    first = g.iloc[0]

    def median(col: str) -> float | None:
        m = pd.to_numeric(g[col], errors="coerce").median() if col in g.columns else None
        return None if m is None or pd.isna(m) else float(m)

    def text(col: str) -> str:
        v = first.get(col)
        return "" if v is None or pd.isna(v) else str(v)

    conc = median("concurrency")
    when = first.get("started_at")
    return UsageRow(
        text("provider"), text("model"), text("endpoint_host"),
        started_at=None if when is None or pd.isna(when) else when,
        input_tokens=prompt_tokens, output_tokens=output_tokens, e2e_ms=median("e2e_ms"),
        concurrency=1 if conc is None else max(1, round(conc)),
    )  # fmt: skip


def log_steps(lo: int, hi: int, *extra: int) -> list[int]:
    """Round numbers from ``lo`` to ``hi``, 9 per decade (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8),
    plus ``extra`` values, sorted."""
    out = set(extra)
    scale = 1
    while scale <= hi:
        for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            v = int(m * scale)
            if lo <= v <= hi and v == m * scale:
                out.add(v)
        scale *= 10
    return sorted(out)


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
        # sliders over round numbers spaced evenly in log (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per
        # decade): 100k a day sits mid-track, not at the far left, and a value stays exact
        def slider(value: int, lo: int, hi: int, description: str) -> Any:
            opts = log_steps(lo, hi, value)
            return w.SelectionSlider(options=[(f"{v:,}", v) for v in opts], value=value,
                                     description=description, style=style, layout=layout)

        self.requests_per_day = slider(requests_per_day, 100, 100_000_000, "requests / day")
        self.prompt_tokens = slider(prompt_tokens, 10, 200_000, "prompt tokens")
        self.output_tokens = slider(output_tokens, 1, 30_000, "output tokens")
        self.status = w.HTML()
        self.table_html = w.HTML()
        self.chart_output = w.Output()
        for s in (self.requests_per_day, self.prompt_tokens, self.output_tokens):
            s.observe(lambda _c: self.update(), names="value")
        self.widget = w.VBox([self.requests_per_day, self.prompt_tokens, self.output_tokens,
                              self.status, self.table_html, self.chart_output])
        self.widget.add_class("lens-cost-explorer")
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = f"CostExplorer(rows={len(self.priced)})"
        return bundle

    def whatif(self) -> Any:
        """Per target: $ per request, per day and per month at the sliders' values."""
        return whatif_costs(self.priced, self.prices,
                            requests_per_day=int(self.requests_per_day.value),
                            prompt_tokens=int(self.prompt_tokens.value),
                            output_tokens=int(self.output_tokens.value))

    def update(self) -> None:
        """Recompute the what-if table and redraw the chart from the sliders."""
        try:
            self.table = self.whatif()
            self.table_html.value = table_html(self.table)
            self.draw_pareto()
            self.status.value = ""
            self.error = None
        except Exception as exc:
            self.error = exc
            self.status.value = error_html(exc)

    def pareto_frame(self) -> Any:
        """Per target: measured latency (the ``q`` quantile) and the what-if $ per request."""
        from lens.analysis.charts.pareto import mark_frontier, pareto_points

        pts = pareto_points(self.priced, self.latency, self.q)
        cost = self.table.set_index("target")["usd_per_request"]
        pts["cost_usd"] = pts["target"].map(cost).astype("float64")
        return mark_frontier(pts.dropna(subset=["cost_usd"]).reset_index(drop=True))

    def draw_pareto(self) -> None:
        """Cost per request at the sliders' sizes against measured latency, frontier dashed."""
        from lens.analysis.charts.pareto import pareto_chart
        from lens.analysis.charts.theme import axis_title

        prompt, output = int(self.prompt_tokens.value), int(self.output_tokens.value)
        self.chart = pareto_chart(
            self.pareto_frame(), axis_title(self.latency, f"p{self.q * 100:g}"),
            cost_title="$ per request", sizes=f"{prompt:,} in / {output:,} out tokens")
        self.chart_output.outputs = ({"output_type": "display_data",
                                      "data": chart_bundle(self.chart), "metadata": {}},)
