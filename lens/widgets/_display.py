"""Shared pieces of the panels: the ipywidgets import, charts as offline mimebundles,
error boxes and small HTML tables.

Charts: Altair 6 writes Vega-Lite 6 specs, which JupyterLab 4 cannot draw by itself (it
ships Vega 5 / Vega-Lite 5 renderers), and Altair's HTML renderer loads Vega from a CDN.
So charts are compiled to a Vega 5 spec with vl-convert (offline, in-process) and shown
under ``application/vnd.vega.v5+json``: JupyterLab renders that natively, with no network.
"""

from __future__ import annotations

import html
import re
from typing import Any

from lens.errors import LensError, require

VEGA5_MIME = "application/vnd.vega.v5+json"
VEGALITE5_MIME = "application/vnd.vegalite.v5+json"
COUNT_COLUMNS = frozenset({"requests", "ok", "errors", "failed", "priced", "n", "stopped"})
VL_VERSION = "5.20"
_NUMBERISH = re.compile(r"^[-+$]?\d[\d,.]*\s*(%|ms|s|tok/s|tokens)?(\s*\[.*\])?$")  # the newest Vega-Lite 5 vl-convert bundles (JupyterLab renders Vega 5)


def ipw() -> Any:
    """The ipywidgets module, or MissingExtraError with the install hint."""
    return require("ipywidgets", "notebook")


def chart_bundle(chart: Any) -> dict[str, Any]:
    """An Altair chart as a mimebundle JupyterLab draws offline (Vega 5 JSON + a text line)."""
    spec = chart.to_dict()
    title = spec.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return compile_spec(spec, text=f"<lens chart: {title or type(chart).__name__}>")


def compile_spec(spec: dict[str, Any], *, text: str = "<lens chart>") -> dict[str, Any]:
    """A Vega-Lite spec (dict) -> Vega 5 mimebundle via vl-convert; without vl-convert (or
    for a spec it cannot compile) the Vega-Lite spec under the v5 mimetype."""
    try:
        import vl_convert as vlc

        vega = vlc.vegalite_to_vega(spec, vl_version=VL_VERSION)
        # SVG, not canvas: crisp at any zoom, and its marks are elements a test can count
        vega.setdefault("usermeta", {}).setdefault("embedOptions", {"renderer": "svg"})
        return {VEGA5_MIME: vega, "text/plain": text}
    except Exception:
        spec = dict(spec, **{"$schema": "https://vega.github.io/schema/vega-lite/v5.json"})
        return {VEGALITE5_MIME: spec, "text/plain": text}


def setup_notebook() -> None:
    """Make Altair charts displayed in a notebook cell render offline in JupyterLab.

    Registers and enables the Altair renderer ``lens`` (see :func:`chart_bundle`) and the
    lens chart theme.
    """
    alt = require("altair", "analysis")
    import lens.analysis.charts  # noqa: F401  (registers and enables the lens theme)

    alt.renderers.register("lens", lambda spec, **_: compile_spec(spec))
    alt.renderers.enable("lens")


def error_html(exc: BaseException) -> str:
    """An HTML error box with the error's message (a LensError's message and fix; for any
    other exception its type and message), never a traceback."""
    if isinstance(exc, LensError):
        lines = [exc.message] + ([f"fix: {exc.hint}"] if exc.hint else [])
    else:
        lines = [f"{type(exc).__name__}: {exc}"]
    body = "<br>".join(html.escape(line) for line in lines)
    return (
        '<div class="lens-error" style="border:1px solid #dc3912;background:#fdecea;'
        'color:#7a1b0c;padding:6px 10px;border-radius:4px;font-family:monospace">'
        f"<b>error</b>: {body}</div>"
    )


def info_html(text: str) -> str:
    return f'<div class="lens-status" style="color:#444">{html.escape(text)}</div>'


def status_html(kind: str, text: str) -> str:
    """A status line: ``info`` plain, ``warn`` an amber box, ``error`` a red box (class
    lens-error), each with class lens-status so its text is the panel's state."""
    if kind == "info":
        return info_html(text)
    colors = {"warn": ("#e69500", "#fff6e0", "#6b4400", "lens-warn"),
              "error": ("#dc3912", "#fdecea", "#7a1b0c", "lens-error")}
    border, bg, fg, cls = colors.get(kind, colors["warn"])
    return (f'<div class="lens-status {cls}" style="border:1px solid {border};background:{bg};'
            f'color:{fg};padding:4px 10px;border-radius:4px">{html.escape(text)}</div>')


def header(col: str) -> str:
    """A column name for people: 'p50 ttft_ms' -> 'p50 TTFT (ms)', 'usd_per_month' ->
    '$ per month', other underscores become spaces."""
    from lens.analysis.charts.theme import axis_title

    parts = col.split(" ", 1)
    if len(parts) == 2 and parts[0][:1] == "p" and parts[0][1:].isdigit():
        return axis_title(parts[1], parts[0])
    if col.startswith("usd_per_"):
        return "$ per " + col.removeprefix("usd_per_").replace("_", " ")
    if col.endswith("_usd"):
        return col.removesuffix("_usd").replace("_", " ") + " ($)"
    if col.endswith("_ms") or col in ("input_tokens", "output_tokens", "cost_usd"):
        return axis_title(col)
    return col.replace("_", " ")


def _cell(v: Any, kind: str, floatfmt: str | None = None) -> str:
    from lens.analysis.reporting import fmt

    if v is None or (isinstance(v, float) and v != v):
        return ""
    if hasattr(v, "strftime") and hasattr(v, "tzinfo"):  # a timestamp: to the minute, UTC
        import pandas as pd

        return pd.Timestamp(v).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC") \
            if pd.Timestamp(v).tzinfo else pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "yes" if v else "no"
    if kind == "money":
        return fmt.usd(v)
    if kind == "share":
        return fmt.pct(v, signed=True)
    if kind == "count":
        return fmt.count(v)
    if kind == "number":
        return floatfmt.format(v) if floatfmt else fmt.num(v)
    return str(v)


def table_html(df: Any, *, css_class: str = "lens-summary", empty: str = "no rows yet",
               headers: dict[str, str] | None = None, floatfmt: str | None = None) -> str:
    """A small HTML table for people: no index; headers in words with units (see
    :func:`header`, or ``headers``); text left-aligned, numbers right-aligned under
    right-aligned headers; counts with thousands separators, measurements with ~3
    significant digits (or ``floatfmt``, e.g. "{:.3g}"), money (columns named ``usd...``) as
    $1,234.56."""
    if df is None or len(df) == 0:
        return f'<div class="{css_class} lens-empty" style="color:#888">{html.escape(empty)}</div>'
    kinds = column_kinds(df)
    names = {c: (headers or {}).get(str(c), header(str(c))) for c in df.columns}
    pad = "padding:2px 10px"

    def align(c: Any) -> str:
        return "left" if kinds[c] == "text" else "right"

    head = "".join(f'<th style="text-align:{align(c)};{pad}">{html.escape(names[c])}</th>'
                   for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:{align(c)};{pad}">'
                         f"{html.escape(_cell(row[i], kinds[c], floatfmt))}</td>"
                         for i, c in enumerate(df.columns)) + "</tr>"
        for row in df.itertuples(index=False, name=None))
    return (f'<table class="{css_class}" style="border-collapse:collapse;'
            f'font-variant-numeric:tabular-nums"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def table_text(df: Any, headers: dict[str, str] | None = None) -> str:
    """The same table as plain text (aligned columns), for consoles and text outputs."""
    if df is None or len(df) == 0:
        return "(no rows)"
    kinds = column_kinds(df)
    cols = [[(headers or {}).get(str(c), header(str(c)))]
            + [_cell(v, kinds[c]) for v in df[c].tolist()] for c in df.columns]
    widths = [max(len(x) for x in col) for col in cols]
    lines = []
    for i in range(len(df) + 1):
        cells = [(col[i].ljust(wd) if kinds[c] == "text" else col[i].rjust(wd))
                 for col, wd, c in zip(cols, widths, df.columns, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def column_kinds(df: Any) -> dict[Any, str]:
    """Per column: money | share | count | number | text (how to format and align it)."""
    import pandas as pd

    kinds: dict[Any, str] = {}
    for col in df.columns:
        s = df[col]
        if "usd" in str(col) and pd.api.types.is_numeric_dtype(s):
            kinds[col] = "money"
        elif str(col).startswith(("rel_", "rate_")) and pd.api.types.is_numeric_dtype(s):
            kinds[col] = "share"
        elif pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            # numbers already written out ('230 ms', '+13% [+9.2%, +29%]') align as numbers
            vals = [str(v) for v in s.dropna().tolist()]
            numeric = bool(vals) and all(_NUMBERISH.match(v) for v in vals)
            kinds[col] = "numtext" if numeric else "text"
        elif pd.api.types.is_integer_dtype(s) or str(col) in COUNT_COLUMNS:
            kinds[col] = "count"
        else:
            kinds[col] = "number"
    return kinds
