"""Writing one chart to a file: SVG, PNG (vl-convert, no browser), Vega-Lite JSON, or a
self-contained HTML page (the Vega scripts inline, as in reports: opens offline)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from lens.errors import ConfigError, require

__all__ = ["CHART_FORMATS", "save_chart"]

CHART_FORMATS = (".svg", ".png", ".json", ".html")


def save_chart(chart: Any, path: str | os.PathLike[str], *, scale: float = 2.0,
               source: str = "output") -> Path:
    """Write ``chart`` (an Altair chart) to ``path``; the suffix picks the format."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in CHART_FORMATS:
        raise ConfigError(f"cannot write a chart as {suffix or 'a file without a suffix'}",
                          source=source, hint="name the file .svg, .png, .json or .html")
    spec = chart.to_dict()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        out.write_text(json.dumps(spec), encoding="utf-8")
        return out
    vlc: Any = require("vl_convert", "analysis")
    if suffix == ".svg":
        out.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
    elif suffix == ".png":
        out.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
    else:
        title = spec.get("title")
        name = title.get("text") if isinstance(title, dict) else title
        bundle = str(vlc.javascript_bundle())
        data = json.dumps(spec).replace("</", "<\\/")  # no early end of the script element
        out.write_text(
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(str(name or out.stem))}</title>"
            f"<script>{bundle}</script></head><body><div id='chart'></div>"
            f"<script type='application/json' id='spec'>{data}</script>"
            "<script>vegaEmbed('#chart', JSON.parse(document.getElementById('spec')"
            ".textContent), {actions: false, renderer: 'svg'})"
            ".then(() => document.getElementById('chart').setAttribute('data-rendered', 'yes'))"
            "</script></body></html>", encoding="utf-8")
    return out
