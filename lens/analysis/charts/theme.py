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

from lens.record.frames import without_warmup

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
    d = without_warmup(df)
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


# ---- defaults for people: axis titles, stable colours, time axes, empty states --------------

_ASSIGNED: dict[str, str] = {}  # name -> colour, first come first served, for this process


def metric_name(column: str) -> str:
    """'ttft_ms' -> 'TTFT' (no unit), for chart titles."""
    return axis_title(column).rsplit(" (", 1)[0]


def axis_title(column: str, prefix: str = "") -> str:
    """A human axis title with its unit: 'ttft_ms' -> 'TTFT (ms)', 'p95 of ttft_ms' style
    prefixes kept ('p95 TTFT (ms)'); unknown columns lose their underscores."""
    from lens.analysis.reporting import fmt  # lazily: reporting imports the charts

    name, unit = fmt.METRIC_LABELS.get(column, ("", ""))
    if not name:
        base = column.removesuffix("_ms").removesuffix("_usd")
        name = base.replace("_", " ")
        unit = "ms" if column.endswith("_ms") else "USD" if column.endswith("_usd") else ""
    text = f"{prefix} {name}".strip() if prefix else name
    if unit and text.endswith(")"):  # 'ITL (per-request median)' -> '... median, ms)'
        return f"{text[:-1]}, {unit})"
    return f"{text} ({unit})" if unit else text


def colors_for(names: Sequence[Any]) -> list[str]:
    """A colour per name that stays the same across charts and runs in this process: a
    name keeps the colour it was first drawn with (new names take the next free one)."""
    for n in sorted({str(n) for n in names}):
        if n not in _ASSIGNED:
            used = set(_ASSIGNED.values())
            free = [c for c in PALETTE if c not in used]
            _ASSIGNED[n] = free[0] if free else PALETTE[len(_ASSIGNED) % len(PALETTE)]
    return [_ASSIGNED[str(n)] for n in names]


def category_color(field: str, names: Sequence[Any], title: str | None = None,
                   **kw: Any) -> Any:
    """``alt.Color`` for a nominal field with a fixed domain (``names``, in order) and the
    stable colours of :func:`colors_for`, so a target keeps its colour when a run lacks
    another target or rows arrive in another order."""
    import altair as alt

    domain = [str(n) for n in dict.fromkeys(names)]
    return alt.Color(f"{field}:N", title=field if title is None else title,
                     scale=alt.Scale(domain=domain, range=colors_for(domain)), **kw)


def names_of(df: pd.DataFrame, field: str) -> list[str]:
    """The sorted distinct values of ``field`` as strings (the default colour domain)."""
    if field not in df.columns:
        return []
    return sorted({str(v) for v in df[field].dropna().astype("object")})


def time_axis(times: Any, field: str = "time", title: str = "date (UTC)") -> Any:
    """``alt.X`` for a temporal field whose labels show dates: days for spans over two days,
    day and time for shorter spans over an hour, times of day below that (UTC)."""
    import altair as alt

    ts = pd.to_datetime(pd.Series(list(times)), utc=True).dropna()
    span = (ts.max() - ts.min()) if len(ts) else pd.Timedelta(0)
    ticks: Any
    if span >= pd.Timedelta(days=2):
        fmt, ticks = "%b %d", {"interval": "day", "step": max(1, span.days // 10)}
    elif span >= pd.Timedelta(hours=1):
        fmt, ticks = "%b %d %H:%M", 6
    else:
        fmt, ticks = "%H:%M:%S", 6
    return alt.X(f"{field}:T", title=title, scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=fmt, tickCount=ticks, labelAngle=0,
                               labelOverlap=True))


def empty_chart(message: str, title: str | None = None) -> Any:
    """A chart that says ``message`` where the plot would be (e.g. 'no errors in this
    selection'), instead of empty axes."""
    import altair as alt

    data = pd.DataFrame({"message": [message]})
    return alt.Chart(data, title=title or "").mark_text(
        fontSize=14, color="#666", align="center", baseline="middle").encode(
        text="message:N").properties(height=80)
