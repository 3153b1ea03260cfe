"""Tables for people in notebooks: ``show_table(df)`` renders any frame as an aligned HTML
table (lens.widgets._display.table_html), ``comparison_table(cmp)`` turns
lens.analysis.stats.compare rows into words and units ("+13% [+9%, +29%]")."""

from __future__ import annotations

from typing import Any

from lens.widgets._display import table_html, table_text


class Table:
    """A frame shown as a people table in a notebook (HTML), and as text elsewhere."""

    def __init__(self, df: Any, **kw: Any) -> None:
        self.df = df
        self.kw = kw

    def _repr_html_(self) -> str:
        return table_html(self.df, **self.kw)

    def __repr__(self) -> str:
        return table_text(self.df, self.kw.get("headers"))


def show_table(df: Any, **kw: Any) -> Table:
    """``df`` as an aligned table with human headers and formatted numbers (no index)."""
    return Table(df, **kw)


def comparison_table(cmp: Any, keys: tuple[str, ...] = ("target", "region")) -> Any:
    """stats.compare rows for people: the keys present, metric and percentile in words,
    baseline and candidate with units, the change with its CI, and the verdict."""
    import pandas as pd

    from lens.analysis.reporting import fmt

    rows = []
    for r in cmp.itertuples(index=False):
        d = r._asdict()
        u = fmt.unit(str(d["metric"]))
        row = {k: d[k] for k in keys if k in d}
        row.update({
            "metric": f"{fmt.label(str(d['metric']))} {d['stat']}",
            "baseline": fmt.qty(d["base"], u), "candidate": fmt.qty(d["cand"], u),
            "change [CI]": fmt.change(d.get("ratio"), d.get("ratio_low"), d.get("ratio_high")),
            "verdict": d["verdict"],
        })
        rows.append(row)
    return pd.DataFrame(rows)
