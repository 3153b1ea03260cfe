"""Terminal output for SLOs: which SLOs a run was judged by, and the attainment table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lens.analysis.summary import TargetSummary
from lens.errors import ConfigError
from lens.spec.slo import Objective, as_objectives


def run_objectives(spec_json: str | None, flags: Sequence[str] | None = None) -> list[Objective]:
    """SLOs from ``--slo`` flags, else from the run's stored spec (its ``slo:`` block)."""
    if flags:
        return as_objectives(list(flags), source="--slo")
    try:
        slo = json.loads(spec_json or "{}").get("slo")
    except (ValueError, AttributeError):
        return []
    if not isinstance(slo, dict):
        return []
    try:
        return as_objectives(slo, source="the run's stored spec")
    except ConfigError:  # stored by another lens version: judged by nothing, as before SLOs
        return []


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def slo_table(summaries: Sequence[TargetSummary]) -> Any:
    """A rich Table: per target, attainment [Wilson 95% CI], goodput, each SLO's share."""
    from rich.table import Table

    from lens.cli.render import plain

    rows = [s for s in summaries if s.slo]
    objectives = rows[0].slo["objectives"] if rows and rows[0].slo else []
    table = Table(title=plain("SLOs: " + " and ".join(objectives)), title_justify="left",
                  header_style="bold")
    for col in ("target", "met / n", "attainment [95% CI]", "goodput req/s", "goodput tok/s"):
        table.add_column(col, justify="left" if col == "target" else "right")
    for o in objectives:
        table.add_column(plain(o), justify="right")
    for s in rows:
        a = s.slo or {}
        ci = f"{_pct(a['attainment'])} [{_pct(a['ci_low'])}, {_pct(a['ci_high'])}]"
        cancelled = f" (+{a['cancelled']} cancelled)" if a.get("cancelled") else ""
        table.add_row(plain(s.target), f"{a['met']} / {a['n']}{cancelled}", ci,
                      _rate(a["goodput_rps"]), _rate(a["goodput_tok_s"]),
                      *(_pct(a["by_objective"].get(o)) for o in objectives))
    return table
