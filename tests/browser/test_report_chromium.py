"""The HTML report in a real browser (Playwright + Debian Chromium, never a downloaded one):
every chart draws marks, nothing scrolls sideways at 1280 px (nor on a narrow screen),
dark mode applies, and no request leaves the page. Screenshots go to test-output/browser/."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers_analysis import T0, make_chunks, make_records

from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.analysis.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "test-output" / "browser"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RENDERED = ("() => { const all = document.querySelectorAll('.vega'); return all.length > 0 && "
            "[...all].every(e => e.dataset.rendered === 'yes' || e.className === 'chart-error'); }")
# Per chart: its name, whether vega failed, and how many data marks it drew (children of
# Vega's role-mark groups: paths, rects, symbols, lines; axes and legends are other roles).
CHARTS = """() => [...document.querySelectorAll('figure.chart')].map(f => {
  const svg = f.querySelector('svg');
  const marks = svg ? [...svg.querySelectorAll('g.role-mark > *')].filter(e =>
      e.tagName !== 'g' || e.children.length).length : 0;
  const box = svg ? svg.getBoundingClientRect() : {right: 0};
  return {name: f.dataset.name, failed: !!f.querySelector('.chart-error'), marks: marks,
          right: box.right};
})"""
LINKS = """() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])
  .filter(a => /(^|:)(src|href)$/i.test(a.name)).map(a => a.value)"""


def _reports(tmp: Path) -> dict[str, Path]:
    """A baseline/candidate comparison (two targets, errors, a fingerprint change, chunk
    timings) and ten nightly runs with a change point."""
    recs = []
    for run, seed, scale, fp in (("base", 1, 1.0, "fp_a"), ("slow", 3, 1.4, "fp_b")):
        for target, model, s in (("openai/gpt-4o-mini", "gpt-4o-mini", 0),
                                 ("anthropic/claude-3-5-haiku", "claude-3-5-haiku-20241022", 7)):
            rs = make_records(200, run_id=run, seed=seed + s, target=target, model=model,
                              provider=target.split("/")[0],
                              ttft_scale=scale if target.startswith("openai") else 1.0,
                              error_every=9 if run == "slow" else 0,
                              concurrency=4 if seed == 1 else 8)
            for r in rs:
                r.system_fingerprint = fp
                r.routing = json.dumps({"cf-ray": "SJC" if run == "base" else "LAX"})
            recs += rs
    df = records_to_frame(recs)
    chunks = chunks_to_frame(make_chunks([r for r in recs if r.run_id == "base"][:6]))
    cmp = write_report(build_report(df, chunks, title="lens report: base vs slow",
                                    baseline="base", candidate="slow"), tmp / "compare.html")
    nightly = []
    for day in range(10):
        nightly += make_records(40, run_id=f"night-{day:02d}", seed=day,
                                start=T0 + timedelta(days=day), ttft_scale=1.6 if day >= 6 else 1,
                                region=("us-east-1", "eu-west-1")[day % 2])
    hist = write_report(build_report(records_to_frame(nightly), title="nightly runs"),
                        tmp / "nightly.html")
    return {"compare": cmp, "nightly": hist}


def _open(page: Any, path: Path, blocked: list[str]) -> None:
    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:  # anything else would be the network: refuse it and remember it
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_function(RENDERED, timeout=60_000)


@pytest.mark.timeout(180)
def test_report_renders_offline_without_sideways_scroll(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make sysdeps installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    reports = _reports(tmp_path)
    for path in reports.values():  # the file itself names no other host
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, path in reports.items():
                for width, scheme in ((1280, "light"), (760, "light"), (1280, "dark")):
                    page = browser.new_page(viewport={"width": width, "height": 1000},
                                            color_scheme=scheme)
                    blocked: list[str] = []
                    errors: list[str] = []
                    page.on("pageerror", lambda e, errs=errors: errs.append(str(e)))
                    _open(page, path, blocked)
                    charts = page.evaluate(CHARTS)
                    where = f"{name} at {width} px ({scheme})"
                    assert charts, where
                    for c in charts:  # every chart drew its data
                        assert not c["failed"] and c["marks"] > 0, (where, c)
                        assert c["right"] <= width, (where, c)
                    assert page.evaluate("document.documentElement.scrollWidth") <= width, where
                    assert blocked == [] and errors == [], (where, blocked, errors)
                    links = page.evaluate(LINKS)
                    assert not [u for u in links if re.match(r"\s*(https?:)?//", u)], where
                    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    assert (bg == "rgb(255, 255, 255)") == (scheme == "light"), (where, bg)
                    page.screenshot(path=str(OUT / f"report-{name}-{width}-{scheme}.png"),
                                    full_page=True)
                    page.close()
        finally:
            browser.close()
    names = {c for c in ("comparison_forest", "ttft_ecdf", "ttft_box", "error_rates",
                         "token_waterfall")}
    html = reports["compare"].read_text(encoding="utf-8")
    assert all(f"data-name='{n}'" in html for n in names)
    assert "data-name='ttft_over_time'" in reports["nightly"].read_text(encoding="utf-8")
    assert (OUT / "report-compare-1280-light.png").stat().st_size > 50_000


def test_a_chart_page_from_lens_chart_renders_offline(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make sysdeps installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from lens.analysis.chart_registry import chart
    from lens.analysis.charts.files import save_chart

    df = records_to_frame(make_records(150, seed=2, error_every=7))
    path = save_chart(chart("errors", df), tmp_path / "errors.html")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            blocked: list[str] = []
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                       if not route.request.url.startswith("file:") else route.continue_())
            page.goto(path.as_uri())
            page.wait_for_function("() => document.getElementById('chart').dataset.rendered "
                                   "=== 'yes'", timeout=20_000)
            marks = page.evaluate("() => [...document.querySelectorAll('#chart svg "
                                  "g.role-mark > *')].length")
            assert marks > 0 and blocked == [] and errors == []
        finally:
            browser.close()
