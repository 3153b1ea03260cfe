"""The report's sections, in order: one builder function per section.

A builder takes the :class:`~lens.analysis.reporting.context.ReportContext` and returns a
:class:`~lens.analysis.reporting.model.Section` (or None when it has nothing to show).
To add a section, write the function (anywhere in lens.analysis) and add one line to
``SECTIONS``; to add a sentence to the verdict, add a function to
``lens.analysis.reporting.verdicts.VERDICT_SENTENCES``. Sections with settings of their
own read them from ``ctx.options`` (``build_report(..., options=...)``): the SLO section
(lens.analysis.reporting.slo) reads ``options["slos"]``, the verdict ``options["clients"]``.
"""

from __future__ import annotations

from collections.abc import Callable

from lens.analysis.reporting.context import ReportContext
from lens.analysis.reporting.figures import (
    distributions_section,
    load_section,
    method_section,
    over_time_section,
)
from lens.analysis.reporting.model import Section
from lens.analysis.reporting.slo import slo_section, stalls_section
from lens.analysis.reporting.tables import (
    cache_section,
    comparison_section,
    cost_section,
    errors_section,
    latency_section,
    runs_section,
    sample_size_section,
    server_time_section,
)
from lens.analysis.reporting.verdicts import verdict_section

SectionBuilder = Callable[[ReportContext], Section | None]

SECTIONS: list[SectionBuilder] = [
    verdict_section,
    runs_section,
    comparison_section,
    distributions_section,
    latency_section,
    slo_section,
    server_time_section,
    cache_section,
    errors_section,
    stalls_section,
    cost_section,
    over_time_section,
    load_section,
    sample_size_section,
    method_section,
]


def build_sections(ctx: ReportContext,
                   builders: list[SectionBuilder] | None = None) -> list[Section]:
    """Run every builder in order; sections with nothing to show are left out."""
    return [s for b in (SECTIONS if builders is None else builders)
            if (s := b(ctx)) is not None]
