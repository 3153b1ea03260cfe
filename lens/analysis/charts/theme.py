"""The shared look of every lens chart, and the row budget that keeps charts embeddable.

``register()`` adds an Altair theme named ``lens`` and enables it (the charts package does
this on import; ``alt.theme.enable("default")`` undoes it). Charts never hand Altair more
than ``MAX_ROWS`` rows (Altair refuses more than 5000 by default): views aggregate exactly
where they can and sample (seeded, stratified by group) only for raw-point layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import pandas as pd

MAX_ROWS = 4000
FONT = "Inter, Helvetica, Arial, sans-serif"
PALETTE = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477",
           "#66aa00", "#b82e2e", "#316395"]
VERDICT_COLORS = {"improved": "#109618", "regressed": "#dc3912",
                  "no significant change": "#888888", "insufficient data": "#d0d0d0"}
WIDTH, HEIGHT = 520, 300


def config() -> dict[str, Any]:
    return {
        "config": {
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "font": FONT,
            "title": {"fontSize": 14, "anchor": "start", "subtitleColor": "#666"},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eee"},
            "legend": {"labelFontSize": 11, "titleFontSize": 12},
            "range": {"category": PALETTE},
            "point": {"filled": True},
        }
    }


def register() -> None:
    import altair as alt

    # altair types a theme as returning its ThemeConfig TypedDict; ours is a plain dict.
    alt.theme.register("lens", enable=True)(cast("Callable[[], Any]", config))


def limit_rows(df: pd.DataFrame, n: int = MAX_ROWS, by: Sequence[str] = (),
               seed: int = 0) -> pd.DataFrame:
    """At most ``n`` rows: all of them when small, else a seeded sample with each group
    (``by``) keeping its share but at least a few rows, so small groups stay visible."""
    if len(df) <= n:
        return df
    keys = [k for k in by if k in df.columns]
    if not keys:
        return df.sample(n=n, random_state=seed)
    frac = n / len(df)
    parts = [g.sample(n=min(len(g), max(5, int(len(g) * frac))), random_state=seed)
             for _, g in df.groupby(keys, observed=True)]
    out = pd.concat(parts)
    return out.sample(n=n, random_state=seed) if len(out) > n else out


def measured(df: pd.DataFrame, ok_only: bool = True) -> pd.DataFrame:
    """Rows the charts use: no warm-up; for latency views only successful requests."""
    d = df
    if "warmup" in d.columns:
        d = d.loc[~d["warmup"].fillna(False).astype(bool)]
    if ok_only and "status" in d.columns:
        d = d.loc[d["status"].astype("object") == "ok"]
    return d


def plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals/nullable dtypes -> plain objects/floats so the JSON is simple."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or str(s.dtype) in ("string", "str"):
            out[c] = s.astype("object")
        elif str(s.dtype) in ("Int64", "boolean"):
            out[c] = s.astype("float64") if str(s.dtype) == "Int64" else s.astype("object")
    return out
