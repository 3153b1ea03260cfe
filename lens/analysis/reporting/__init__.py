"""The HTML report, as a list of section builders (lens.analysis.reporting.registry).

``lens.analysis.report.build_report`` makes a :class:`ReportContext` from the rows, runs
every builder in ``SECTIONS`` and returns a :class:`Report`; ``render`` writes it as one
offline HTML file. Modules: ``context`` (inputs and shared analyses), ``model`` (sections
and blocks), ``fmt`` (numbers for people), ``verdicts`` (the first section, in
sentences), ``tables`` and ``figures`` (the other sections), ``html``/``style`` (markup).
"""

from __future__ import annotations

from lens.analysis.reporting.context import ReportContext
from lens.analysis.reporting.model import (
    Block,
    Chart,
    Paragraph,
    Report,
    Section,
    Sentence,
    Sentences,
    Table,
    table,
)
from lens.analysis.reporting.registry import SECTIONS, SectionBuilder, build_sections
from lens.analysis.reporting.verdicts import VERDICT_SENTENCES

__all__ = [
    "SECTIONS",
    "VERDICT_SENTENCES",
    "Block",
    "Chart",
    "Paragraph",
    "Report",
    "ReportContext",
    "Section",
    "SectionBuilder",
    "Sentence",
    "Sentences",
    "Table",
    "build_sections",
    "table",
]
