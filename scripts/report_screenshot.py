"""Regenerate docs/img/report.png: the report of the sample runs, top of the page, at 1280 px.

    .venv/bin/python scripts/report_screenshot.py

Builds the same report as ``lens report data/sample/baseline.parquet
data/sample/candidate.parquet`` (seeded, so the figures are stable), opens it in Debian
Chromium (Playwright, offline) and screenshots the first ``--height`` pixels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "img" / "report.png"))
    ap.add_argument("--height", type=int, default=1500)
    ap.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    ap.add_argument("--section", default=None, metavar="ID",
                    help="start at this section (e.g. distributions) instead of the top")
    args = ap.parse_args()

    import pandas as pd
    from playwright.sync_api import sync_playwright

    import lens
    from lens.analysis.report import build_report, write_report

    sample = ROOT / "data" / "sample"
    reqs, chunks = [], []
    for name in ("baseline", "candidate"):
        r, c = lens.load(path=sample / f"{name}.parquet", chunks=True)
        reqs.append(r)
        chunks.append(c)
    df = pd.concat(reqs, ignore_index=True)
    runs = [str(r["run_id"].iloc[0]) for r in reqs]
    rep = build_report(df, pd.concat(chunks, ignore_index=True),
                       title="Deploy check: sample-candidate vs sample-baseline",
                       baseline=runs[0], candidate=runs[1], seed=0)
    html = write_report(rep, ROOT / "test-output" / "docs" / "report.html")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": args.height},
                                color_scheme="dark" if args.dark else "light")
        page.goto(html.resolve().as_uri())
        page.wait_for_function("[...document.querySelectorAll('.vega')].every("
                               "e => e.dataset.rendered === 'yes')", timeout=60_000)
        top = 0.0
        if args.section:
            top = page.evaluate(f"document.getElementById({args.section!r})"
                                ".getBoundingClientRect().top + window.scrollY - 16")
        page.set_viewport_size({"width": 1280, "height": int(top) + args.height})
        page.screenshot(path=str(out), clip={"x": 0, "y": top, "width": 1280,
                                             "height": args.height})
        browser.close()
    print(f"wrote {out} (report: {html})")


if __name__ == "__main__":
    main()
