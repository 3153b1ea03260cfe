"""The report's stylesheet: readable at any width (no sideways scrolling: wide tables wrap,
and collapse into one card per row on narrow screens), dark-mode aware
(``prefers-color-scheme``), and print-friendly (light colours, no breaks inside a table
row or chart, badges printed with their colours)."""

from __future__ import annotations

_LIGHT = """--fg:#1f2328;--muted:#59636e;--bg:#ffffff;--panel:#f6f8fa;--line:#d8dee4;
--accent:#0969da;--soft:#f0f2f4;--bad:#a40e26;--bad-bg:#ffe2e0;--good:#116329;--good-bg:#d6f5df;
--neutral:#424a53;--neutral-bg:#eaeef2;--muted-bg:#f6f8fa;--chart-bg:#ffffff;"""
_DARK = """--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--panel:#161b22;--line:#30363d;
--accent:#58a6ff;--soft:#1c2128;--bad:#ffa198;--bad-bg:#4c1319;--good:#7ee2a8;--good-bg:#113821;
--neutral:#d1d9e0;--neutral-bg:#2d333b;--muted-bg:#21262d;--chart-bg:#ffffff;"""

CSS = f"""
:root{{{_LIGHT}color-scheme:light dark}}
@media (prefers-color-scheme: dark){{:root{{{_DARK}}}}}
*{{box-sizing:border-box}}
body{{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}}
main{{max-width:1080px;margin:0 auto;padding:28px 20px 72px}}
h1{{font-size:1.7em;line-height:1.25;margin:0 0 .2em;overflow-wrap:anywhere}}
h2{{font-size:1.3em;margin:0 0 .6em;padding-bottom:.25em;border-bottom:1px solid var(--line)}}
h3{{font-size:1.02em;margin:1.4em 0 .5em}}
a{{color:var(--accent)}}
.meta,.muted,.note,figcaption{{color:var(--muted)}}
.meta{{margin:0 0 1em;font-size:.92em}}
.notes{{margin:.5em 0 0;padding-left:1.2em;color:var(--muted);font-size:.92em}}
nav.toc{{background:var(--panel);border:1px solid var(--line);border-radius:8px;
padding:12px 20px;margin:20px 0 8px}}
nav.toc h2{{border:none;font-size:1em;margin:0 0 .3em;padding:0}}
nav.toc ol{{margin:0;padding-left:1.4em;columns:2 220px;column-gap:32px}}
nav.toc li{{margin:0 0 .3em;break-inside:avoid}}
section{{margin-top:2.4em;scroll-margin-top:12px}}
.intro{{margin:.2em 0 1em}}
ul.verdicts{{list-style:none;margin:0;padding:0}}
ul.verdicts li{{margin:0 0 .55em;padding:.55em .8em;background:var(--panel);
border-left:4px solid var(--line);border-radius:4px}}
ul.verdicts li.bad{{border-left-color:var(--bad)}}
ul.verdicts li.good{{border-left-color:var(--good)}}
.detail{{color:var(--muted)}}
.badge{{display:inline-block;padding:0 .6em;border-radius:999px;font-size:.8em;font-weight:600;
line-height:1.6;white-space:nowrap;vertical-align:.08em;background:var(--neutral-bg);
color:var(--neutral)}}
.badge.bad{{background:var(--bad-bg);color:var(--bad)}}
.badge.good{{background:var(--good-bg);color:var(--good)}}
.badge.muted{{background:var(--muted-bg);color:var(--muted)}}
table.tbl{{border-collapse:collapse;width:100%;font-size:.88em;
font-variant-numeric:tabular-nums;margin:.2em 0 .4em}}
.tbl th,.tbl td{{padding:.45em .6em;text-align:left;vertical-align:top}}
.tbl td{{overflow-wrap:anywhere;border-top:1px solid var(--line)}}
.tbl tr.cont td{{border-top-color:var(--soft)}}
.tbl tbody tr:last-child td{{border-bottom:1px solid var(--line)}}
.tbl th{{font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);
vertical-align:bottom}}
.tbl .num{{text-align:right}}
.tbl td.num{{overflow-wrap:normal;white-space:nowrap}}
.tbl tbody tr:hover{{background:var(--panel)}}
.ci{{display:block;color:var(--muted);font-size:.86em}}
.na{{color:var(--muted)}}
figure.chart{{margin:16px 0;padding:14px;background:var(--chart-bg);color:#1f2328;
border:1px solid var(--line);border-radius:8px;break-inside:avoid}}
figure.chart svg{{max-width:100%;height:auto}}
figure.chart figcaption{{color:#59636e;font-size:.88em;margin-top:.4em}}
.vega-embed{{max-width:100%}}
.chart-error{{color:var(--bad)}}
@media (max-width:760px){{
 main{{padding:16px 12px 48px}}
 table.tbl thead{{display:none}}
 table.tbl,.tbl tbody,.tbl tr,.tbl td{{display:block;width:100%}}
 .tbl tr{{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:4px 0}}
 .tbl td{{border:none;display:flex;justify-content:space-between;gap:12px;text-align:right}}
 .tbl td.num{{white-space:normal}}
 .tbl td::before{{content:attr(data-label);font-weight:600;color:var(--muted);text-align:left}}
 .ci{{display:inline;margin-left:.4em}}
}}
@media print{{
 :root{{{_LIGHT}}}
 body{{font-size:10.5pt;background:#fff}}
 main{{max-width:none;padding:0}}
 nav.toc{{break-after:avoid}}
 section{{margin-top:1.4em}}
 h2,h3{{break-after:avoid}}
 .tbl tr,figure.chart,ul.verdicts li{{break-inside:avoid}}
 figure.chart{{border:none;padding:0}}
 a{{color:inherit;text-decoration:none}}
 *{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
}}
"""
