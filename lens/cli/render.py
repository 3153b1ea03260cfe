"""Terminal output for the CLI: rich tables for people, JSON for scripts.

Tables go to stdout; progress and notices go to stderr, so ``--json`` keeps stdout a
single JSON document (or one JSON object per line for repeated runs).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from lens.analysis.summary import Dist, TargetSummary
from lens.cli.safe_text import clean
from lens.store.base import RunInfo
from lens.store.paths import display_db


def esc(value: object) -> str:
    """User data (run/target names, tags, paths, URLs) made safe to embed in rich markup.

    Rich reads ``[...]`` as markup: unescaped, "nightly [/eu]" raises MarkupError and
    "sim [eu]" loses its bracket text. Terminal controls are removed (:func:`clean`).
    """
    from rich.markup import escape

    return escape(clean(value))


def plain(value: object) -> Any:
    """A rich Text for a table cell or title: shown verbatim (never parsed as markup),
    without terminal controls (:func:`clean`)."""
    from rich.text import Text

    return Text(clean(value))


def stdout_console() -> Any:
    from rich.console import Console

    # Piped output gets a fixed wide layout instead of rich's 80-column default.
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 160)


def stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _trio(d: Dist) -> str:
    return " / ".join(_ms(x) for x in (d.p50, d.p90, d.p99))


def summary_table(summaries: Sequence[TargetSummary], *, title: str | None = None) -> Any:
    """A rich Table: one row per target with counts, errors and p50/p90/p99 latencies."""
    from rich.table import Table

    table = Table(
        title=plain(title) if title is not None else None,
        title_justify="left",
        header_style="bold",
    )
    table.add_column("target")
    table.add_column("n", justify="right")
    table.add_column("ok", justify="right")
    table.add_column("errors")
    for name in ("TTFT ms", "TPOT ms", "ITL ms", "E2E ms"):
        table.add_column(f"{name}\np50 / p90 / p99", justify="right")
    table.add_column("out tok/s\np50 | agg", justify="right")
    stalled = any(s.stalled_requests for s in summaries)  # the column only when it says something
    if stalled:
        table.add_column("stalled |\nmax gap p99", justify="right")
    for s in summaries:
        errs = ", ".join(f"{k} {v}" for k, v in s.errors.items()) or "-"
        table.add_row(
            plain(s.target),
            str(s.count),
            str(s.ok),
            plain(errs),
            _trio(s.ttft_ms),
            _trio(s.tpot_ms),
            _trio(s.itl_ms),
            _trio(s.e2e_ms),
            f"{_ms(s.output_tokens_per_s.p50)} | {_ms(s.throughput_tok_s)}",
            *([f"{s.stalled_requests} | {_ms(s.itl_max_ms.p99)}"] if stalled else []),
        )
    return table


def print_summary(
    run: RunInfo, summaries: Sequence[TargetSummary], *, db: str, console: Any = None,
    health: Any = None,
) -> None:
    """Human summary of one run: a header line, then the per-target table, then whether the
    client kept up (``health``: lens.analysis.health.ClientHealth)."""
    console = console or stdout_console()
    dur = ""
    if run.finished_at and run.started_at:
        dur = f", {(run.finished_at - run.started_at).total_seconds():.1f} s"
    warm = sum(s.warmup_excluded for s in summaries)  # else 51 stored vs 48 in the table
    console.print(
        f"[bold]run {esc(run.run_id)}[/bold] ({esc(run.name)}) {esc(run.status)}{dur}, "
        f"{run.n_requests} requests stored in {esc(display_db(db))}"
        + (f" ({warm} warm-up, not summarised)" if warm else "")
        + (f", {run.skipped} skipped" if run.skipped else "")
    )
    if not summaries:
        console.print("no measured requests (warm-up rows are not summarised)")
        return
    console.print(summary_table(summaries))
    if any(s.slo for s in summaries):
        from lens.cli.render_slo import slo_table

        console.print(slo_table(summaries))
    sources = {s.itl_source for s in summaries}
    if sources == {"request_p50"}:
        console.print("ITL: distribution of per-request median gaps (no chunk rows).")
    for line in workload_notes(summaries):
        console.print(line, markup=False, highlight=False)
    if health is not None and health.flagged:
        console.print(f"[bold red]client saturated:[/bold red] {esc(health.message('this run'))}")
    elif health is not None and health.known:
        console.print(health.summary())


def workload_notes(summaries: Sequence[TargetSummary]) -> list[str]:
    """Lines under the table: client cancels (neither ok nor errors) and cache hit rates."""
    out = []
    cancelled = [f"{s.target} {s.cancelled}" for s in summaries if s.cancelled]
    if cancelled:
        out.append("cancelled by the client (spec cancel; neither ok nor errors): "
                   + ", ".join(cancelled))
    hits = [f"{s.target} {s.cache_hit_rate:.0%}" for s in summaries if s.cache_hit_rate]
    if hits:
        out.append("prompt cache hit rate (cached / input tokens): " + ", ".join(hits))
    return out


def summary_json(
    run: RunInfo, summaries: Sequence[TargetSummary], *, db: str, health: Any = None
) -> dict[str, Any]:
    return {
        "client": health.as_dict() if health is not None else None,
        "run_id": run.run_id,
        "name": run.name,
        "status": run.status,
        "db": display_db(db),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "n_requests": run.n_requests,
        "skipped": run.skipped,
        "tags": run.tags,
        "targets": [s.to_dict() for s in summaries],
    }


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def dump_json(data: Any, out: TextIO | None = None, *, indent: int | None = 2) -> None:
    out = out or sys.stdout
    out.write(json.dumps(data, indent=indent, default=str, allow_nan=False) + "\n")
    out.flush()


def runs_table(runs: Sequence[RunInfo]) -> Any:
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("run", "name", "started (UTC)", "status", "requests", "targets", "tags"):
        table.add_column(col, justify="right" if col == "requests" else "left")
    for r in runs:
        table.add_row(
            plain(r.run_id),
            plain(r.name),
            r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at else "-",
            plain(r.status),
            str(r.n_requests),
            plain(", ".join(_targets(r.spec_json))),
            plain(", ".join(f"{k}={v}" for k, v in sorted(r.tags.items()))),
        )
    return table


def _targets(spec_json: str) -> list[str]:
    try:
        spec = json.loads(spec_json or "{}")
        return [
            t.get("name") or f"{t.get('provider')}/{t.get('model')}"
            for t in spec.get("targets", [])
        ]
    except (ValueError, AttributeError, TypeError):
        return []
