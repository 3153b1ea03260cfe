"""Charts by name: one registry of the views that need only a run's rows.

``CHARTS`` maps a name to a :class:`ChartKind`: what the chart shows, whether it takes a
metric, what it needs (chunk rows, cost, several load levels), and a builder over a
:class:`ChartInput`. :func:`chart` builds one by name with the checks a user needs
(unknown name with a "did you mean", a metric that is not a column, missing chunk rows)
as plain errors. ``lens chart NAME RUN...`` and the notebooks' pickers key into it.

A new chart is one module ``lens/analysis/charts/<chart>.py`` plus **one entry** here when
it draws from request (or chunk) rows; charts over derived frames (comparisons, capacity
results, change points) are called directly. Builders import their chart module when
called, so importing the registry costs nothing (it lives beside, not in, the charts
package, whose import loads Altair).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lens.errors import AnalysisError

if TYPE_CHECKING:  # importing this registry stays cheap (the CLI lists it for --help)
    import pandas as pd

__all__ = ["CHARTS", "ChartInput", "ChartKind", "chart"]


@dataclass(frozen=True, slots=True)
class ChartInput:
    """What a registered chart draws from."""

    requests: pd.DataFrame
    chunks: pd.DataFrame | None = None
    metric: str = "ttft_ms"
    group: str = "target"


@dataclass(frozen=True, slots=True)
class ChartKind:
    about: str  # one line for `lens chart --help` and pickers
    build: Callable[[ChartInput], Any]
    takes_metric: bool = False
    needs_chunks: bool = False
    columns: tuple[str, ...] = ()  # request columns it cannot draw without


def _ecdf(i: ChartInput) -> Any:
    from lens.analysis.charts.ecdf import ecdf

    return ecdf(i.requests, i.metric, i.group)


def _box(i: ChartInput) -> Any:
    from lens.analysis.charts.box import region_box

    return region_box(i.requests, i.metric, i.group)


def _load(i: ChartInput) -> Any:
    from lens.analysis.charts.knee import latency_vs_load

    return latency_vs_load(i.requests, i.metric, "concurrency", i.group)


def _pareto(i: ChartInput) -> Any:
    from lens.analysis.charts.pareto import cost_latency_pareto
    from lens.analysis.cost import price_frame

    priced = i.requests if "cost_usd" in i.requests.columns else price_frame(i.requests)[0]
    return cost_latency_pareto(priced, i.metric, 0.95, i.group)


def _phases(i: ChartInput) -> Any:
    from lens.analysis.charts.phases import phase_breakdown

    return phase_breakdown(i.requests, i.group)


def _prompt(i: ChartInput) -> Any:
    from lens.analysis.charts.prefill import ttft_vs_prompt

    return ttft_vs_prompt(i.requests, i.group)


def _errors(i: ChartInput) -> Any:
    from lens.analysis.charts.status import error_rate_chart

    return error_rate_chart(i.requests, i.group)


def _stalls(i: ChartInput) -> Any:
    from lens.analysis.charts.stalls import stall_chart

    return stall_chart(i.requests, i.group)


def _turns(i: ChartInput) -> Any:
    from lens.analysis.charts.turns import ttft_by_turn

    return ttft_by_turn(i.requests, i.metric, i.group)


def _waterfall(i: ChartInput) -> Any:
    from lens.analysis.charts.waterfall import token_waterfall

    assert i.chunks is not None
    return token_waterfall(i.chunks, requests=i.requests)


def _windows(i: ChartInput) -> Any:
    from lens.analysis import timeslices
    from lens.analysis.charts.timeslices import timeslice_chart

    t = timeslices.start_offsets(i.requests)
    window = max(1.0, float(t.max()) / 10) if len(t) and t.notna().any() else 10.0
    slices = timeslices.timeslices(i.requests, window_s=window, by=(i.group,))
    return timeslice_chart(slices, f"{i.metric}_p95", i.group)


#: Every chart drawn from a run's rows, by name (``lens chart NAME``).
CHARTS: dict[str, ChartKind] = {
    "ecdf": ChartKind("distribution of a metric per group (step ECDF)", _ecdf, takes_metric=True),
    "box": ChartKind("box plot of a metric per group (e.g. --group region)", _box,
                     takes_metric=True),
    "load": ChartKind("p50/p95 of a metric against concurrency, the knee marked", _load,
                      takes_metric=True, columns=("concurrency",)),
    "pareto": ChartKind("mean cost per request against p95 of a metric, the frontier", _pareto,
                        takes_metric=True),
    "phases": ChartKind("median DNS, connect, send, server wait and first-token phases", _phases),
    "prompt": ChartKind("TTFT against prompt tokens, with the prefill fit", _prompt,
                        columns=("input_tokens",)),
    "errors": ChartKind("error rate per status and group", _errors),
    "stalls": ChartKind("share of requests whose longest inter-token gap exceeds x", _stalls,
                        columns=("itl_max_ms",)),
    "turns": ChartKind("a metric per turn of multi-turn sessions, with cache hits", _turns,
                       takes_metric=True, columns=("turn",)),
    "windows": ChartKind("p95 of a metric per time window of the run", _windows,
                         takes_metric=True),
    "waterfall": ChartKind("every stream event of the first requests on their own clock",
                           _waterfall, needs_chunks=True),
}


def chart(name: str, requests: pd.DataFrame, chunks: pd.DataFrame | None = None, *,
          metric: str = "ttft_ms", group: str = "target") -> Any:
    """The registered chart ``name`` of these rows (errors name the chart, metric, group)."""
    kind = CHARTS.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, CHARTS, n=1)
        raise AnalysisError(
            f"no chart named {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
            hint="charts: " + ", ".join(CHARTS))
    if requests.empty:
        raise AnalysisError(f"chart {name}: the runs have no requests",
                            hint="check the run ids (lens runs)")
    if kind.takes_metric and metric not in requests.columns:
        numeric = [c for c in requests.columns if c.endswith(("_ms", "_per_s"))]
        close = difflib.get_close_matches(metric, numeric, n=1)
        raise AnalysisError(
            f"chart {name}: no column {metric!r}" + (f"; did you mean {close[0]!r}?" if close
                                                     else ""),
            hint="metrics: " + ", ".join(numeric))
    if group not in requests.columns:
        raise AnalysisError(f"chart {name}: no column {group!r} to group by",
                            hint="group by target, region, model, provider or scenario")
    missing = [c for c in kind.columns
               if c not in requests.columns or requests[c].isna().all()]
    if missing:
        raise AnalysisError(f"chart {name}: these runs have no {', '.join(missing)} values",
                            hint=f"{name} draws {kind.about}")
    if kind.needs_chunks and (chunks is None or chunks.empty):
        raise AnalysisError(f"chart {name}: needs the runs' chunk rows, and there are none",
                            hint="read runs from a lens store or an export with chunks")
    return kind.build(ChartInput(requests, chunks, metric, group))
