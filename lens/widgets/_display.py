"""Shared pieces of the panels: the ipywidgets import, charts as offline mimebundles,
error boxes and small HTML tables.

Charts: Altair 6 writes Vega-Lite 6 specs, which JupyterLab 4 cannot draw by itself (it
ships Vega 5 / Vega-Lite 5 renderers), and Altair's HTML renderer loads Vega from a CDN.
So charts are compiled to a Vega 5 spec with vl-convert (offline, in-process) and shown
under ``application/vnd.vega.v5+json``: JupyterLab renders that natively, with no network.
"""

from __future__ import annotations

import html
from typing import Any

from lens.errors import LensError, require

VEGA5_MIME = "application/vnd.vega.v5+json"
VEGALITE5_MIME = "application/vnd.vegalite.v5+json"
VL_VERSION = "5.20"  # the newest Vega-Lite 5 vl-convert bundles (JupyterLab renders Vega 5)


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

        return {VEGA5_MIME: vlc.vegalite_to_vega(spec, vl_version=VL_VERSION), "text/plain": text}
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


def table_html(df: Any, *, floatfmt: str = "{:.1f}", css_class: str = "lens-summary") -> str:
    """A small HTML table (no index) with floats formatted; empty frames say so."""
    if df is None or len(df) == 0:
        return f'<div class="{css_class} lens-empty" style="color:#888">no rows yet</div>'
    return df.to_html(index=False, classes=css_class, border=0, na_rep="",
                      float_format=lambda v: floatfmt.format(v))
