"""A Report as one self-contained HTML file: readable offline, no request leaves the page.

The Vega, Vega-Lite and vega-embed JavaScript comes from vl-convert-python's bundle and is
inlined (no CDN). Chart specs are embedded as JSON in ``<script type="application/json">``
blocks (``</`` escaped so data cannot close the tag) without their ``$schema`` URL, and
embedded with ``actions: false`` (no links out to the Vega editor). Charts render as SVG.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lens.analysis.reporting.fmt import Html, badge, esc
from lens.analysis.reporting.model import (
    Chart,
    Paragraph,
    Report,
    Section,
    Sentences,
    Table,
)
from lens.analysis.reporting.style import CSS


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script (assigns window.vegaEmbed)."""
    import vl_convert as vlc

    # vl-convert's stubs mark ``snippet`` required; called without one it returns the bundle.
    js: Any = vlc.javascript_bundle
    return str(js())


_EMBED_JS = """
for (const i of SPEC_IDS) {
  const el = document.getElementById('chart-' + i);
  const spec = JSON.parse(document.getElementById('spec-' + i).textContent);
  vegaEmbed(el, spec, {actions: false, renderer: 'svg'})
    .then(() => el.setAttribute('data-rendered', 'yes'))
    .catch(e => { el.className = 'chart-error'; el.textContent = 'chart failed: ' + e; });
}
"""
_VERDICT_ROW = {"regressed": "bad", "FAIL": "bad", "improved": "good", "PASS": "good"}


def _cell(v: Any) -> str:
    return str(v) if isinstance(v, Html) else esc(v)


def _table(t: Table, section_title: str = "") -> str:
    head = "".join(f"<th{' class=num' if c in t.numeric else ''} scope=col>{esc(c)}</th>"
                   for c in t.columns)
    body = []
    for i, row in enumerate(t.rows):
        cells = "".join(
            f"<td data-label='{esc(c)}'{' class=num' if c in t.numeric else ''}>{_cell(v)}</td>"
            for c, v in zip(t.columns, row, strict=True))
        cls = t.row_classes[i] if i < len(t.row_classes) else ""
        body.append(f"<tr class='{cls}'>{cells}</tr>" if cls else f"<tr>{cells}</tr>")
    note = f"<p class='note'>{esc(t.note)}</p>" if t.note else ""
    title = f"<h3>{esc(t.title)}</h3>" if t.title and t.title != section_title else ""
    return (f"{title}<table class='tbl'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{note}")


def _sentences(b: Sentences) -> str:
    items = []
    for s in b.items:
        mark = f" {badge(s.verdict)}" if s.verdict else ""
        detail = f"<span class='detail'>: {esc(s.detail)}</span>" if s.detail else ""
        cls = _VERDICT_ROW.get(s.verdict or "", "")
        items.append(f"<li class='{cls}'>{esc(s.text)}{mark}{detail}</li>")
    title = f"<h3>{esc(b.title)}</h3>" if b.title else ""
    return f"{title}<ul class='verdicts'>{''.join(items)}</ul>"


def _spec_json(chart: Any) -> str:
    spec = chart.to_dict()
    spec.pop("$schema", None)  # a URL nothing needs: no external address in the file
    return json.dumps(spec, default=str).replace("</", "<\\/")


def _section(sec: Section, charts: list[int], counter: list[int]) -> str:
    parts = [f"<section id='{esc(sec.id)}'><h2>{esc(sec.title)}</h2>"]
    if sec.intro:
        parts.append(f"<p class='intro muted'>{esc(sec.intro)}</p>")
    for b in sec.blocks:
        if isinstance(b, Sentences):
            parts.append(_sentences(b))
        elif isinstance(b, Table):
            parts.append(_table(b, sec.title))
        elif isinstance(b, Paragraph):
            parts.append(f"<p class='{'muted' if b.muted else ''}'>{esc(b.text)}</p>")
        elif isinstance(b, Chart):
            i = counter[0]
            counter[0] += 1
            charts.append(i)
            cap = f"<figcaption>{esc(b.caption)}</figcaption>" if b.caption else ""
            parts.append(f"<figure class='chart' data-name='{esc(b.name)}'>"
                         f"<div id='chart-{i}' class='vega'></div>"
                         f"<script type='application/json' id='spec-{i}'>{_spec_json(b.chart)}"
                         f"</script>{cap}</figure>")
    parts.append("</section>")
    return "".join(parts)


def render(rep: Report) -> str:
    """The report as one HTML string, every script and style inline."""
    charts: list[int] = []
    counter = [0]
    body = [_section(s, charts, counter) for s in rep.sections]
    toc = "".join(f"<li><a href='#{esc(s.id)}'>{esc(s.title)}</a></li>" for s in rep.sections)
    notes = "".join(f"<li>{esc(n)}</li>" for n in rep.notes)
    meta = esc(rep.meta or f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by lens.")
    header = (f"<header><h1>{esc(rep.title)}</h1><p class='meta'>{meta}</p>"
              f"{f'<ul class=notes>{notes}</ul>' if notes else ''}</header>"
              f"<nav class='toc' aria-label='Contents'><h2>Contents</h2><ol>{toc}</ol></nav>")
    embed = _EMBED_JS.replace("SPEC_IDS", json.dumps(charts))
    bundle = vega_bundle().replace("</script", "<\\/script")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(rep.title)}</title><style>{CSS}</style>"
            f"<script>{bundle}</script></head><body><main>{header}{''.join(body)}</main>"
            f"<script>{embed}</script></body></html>")
