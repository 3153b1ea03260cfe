"""Self-contained HTML reports people want to read: verdicts first, then tables and charts.

``build_report`` runs the section builders of lens.analysis.reporting.registry over the
rows (a verdict in sentences, the runs, the comparison, distributions coloured by run,
latency with CIs, errors, cost, change over time, load, sample size, method);
``render_html``/``write_report`` make one HTML file that reads offline (every script
inline, no request leaves the page), wraps instead of scrolling sideways, follows the
reader's dark mode and prints cleanly. Adding a section: lens/analysis/reporting/registry.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lens.analysis.prices import PriceOverrides
from lens.analysis.reporting import Report, ReportContext, build_sections
from lens.analysis.reporting.html import render, vega_bundle

__all__ = ["Report", "build_report", "render_html", "save_images", "vega_bundle",
           "write_report"]


def build_report(
    requests: pd.DataFrame,
    chunks: pd.DataFrame | None = None,
    *,
    title: str = "LLM Latency Lens report",
    prices: PriceOverrides | str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    group: str = "target",
    seed: int = 0,
    threshold: float = 0.10,
    alpha: float = 0.05,
    power: float = 0.8,
    shift: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> Report:
    """The report of the request rows of one or more runs.

    With ``baseline`` and ``candidate`` run ids (both in ``requests``) it opens with a
    verdict: each percentile's change beyond ``threshold`` with its CI (level
    ``1 - alpha``), the error-rate and cost verdicts, what the servers reported
    differently, and what sample sizes a ``shift`` (default: ``threshold``) needs at
    ``power``. ``options`` are for sections that define their own settings.
    """
    ctx = ReportContext(requests, chunks, prices=prices, baseline=baseline,
                        candidate=candidate, group=group, seed=seed, threshold=threshold,
                        alpha=alpha, power=power, shift=shift, options=dict(options or {}))
    rep = Report(title)
    measured = ctx.measured
    if len(measured):
        t0, t1 = measured["started_at"].min(), measured["started_at"].max()
        runs = ctx.runs
        rep.notes.append(
            f"{len(measured):,} measured requests ({len(requests) - len(measured):,} warm-up "
            f"left out) in {len(runs)} run{'s' * (len(runs) != 1)}, {t0:%Y-%m-%d %H:%M} to "
            f"{t1:%Y-%m-%d %H:%M} UTC.")
    rep.sections = build_sections(ctx)
    return rep


def render_html(rep: Report) -> str:
    """The report as one HTML string, with every script inline."""
    return render(rep)


def write_report(rep: Report, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(rep), encoding="utf-8")
    return p


def save_images(charts: Mapping[str, Any], directory: str | os.PathLike[str],
                formats: Sequence[str] = ("png", "svg"), scale: float = 2.0) -> list[Path]:
    """Write each chart as NAME.png / NAME.svg with vl-convert (no browser needed)."""
    from lens.analysis.charts.files import save_chart

    out_dir = Path(directory)
    return [save_chart(chart, out_dir / f"{name}.{fmt}", scale=scale)
            for name, chart in charts.items() for fmt in ("png", "svg") if fmt in formats]
