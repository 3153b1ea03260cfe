"""What a report is made of: sections of blocks (sentences, tables, charts, paragraphs).

A section builder (lens.analysis.reporting.registry) returns a :class:`Section`; the HTML
renderer turns blocks into markup. Tables keep both the formatted cells people read and
the raw frame (``data``) that tests and notebooks use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lens.analysis.reporting.fmt import Html

Cell = str | Html  # plain text is escaped when rendered; Html is not


@dataclass(frozen=True, slots=True)
class Sentence:
    """One statement. ``verdict`` (regressed, improved, ...) is shown as a badge after
    ``text``; ``detail`` follows it. :attr:`plain` is the whole sentence as text."""

    text: str
    verdict: str | None = None
    detail: str = ""

    @property
    def plain(self) -> str:
        head = f"{self.text} ({self.verdict})" if self.verdict else self.text
        return f"{head}: {self.detail}" if self.detail else head


@dataclass(slots=True)
class Sentences:
    items: list[Sentence]
    title: str | None = None


@dataclass(slots=True)
class Paragraph:
    text: str
    muted: bool = False


@dataclass(slots=True)
class Table:
    """A formatted table: ``columns`` and ``rows`` of cells; ``numeric`` columns align
    right. ``data`` is the raw frame behind it."""

    title: str
    columns: list[str]
    rows: list[list[Cell]]
    data: pd.DataFrame
    numeric: frozenset[str] = frozenset()
    note: str | None = None
    row_classes: list[str] = field(default_factory=list)  # "cont": continues a group


@dataclass(slots=True)
class Chart:
    name: str  # file name for --png, and the key in Report.charts
    chart: Any  # an Altair chart
    caption: str | None = None


Block = Sentences | Paragraph | Table | Chart


@dataclass(slots=True)
class Section:
    """A titled part of the report; ``id`` is its anchor in the contents list."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    intro: str | None = None


@dataclass
class Report:
    """A titled list of sections plus notes about the data (span, pricing, imports)."""

    title: str
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    meta: str = ""

    def blocks(self, kind: type) -> list[Any]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, kind)]

    @property
    def charts(self) -> dict[str, Any]:
        """Every chart by name (what ``lens report --png`` writes)."""
        return {c.name: c.chart for c in self.blocks(Chart)}

    @property
    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        """Every table's title and raw data."""
        return [(t.title, t.data) for t in self.blocks(Table)]

    @property
    def verdicts(self) -> list[str]:
        """The verdict section's sentences as plain text."""
        sec = next((s for s in self.sections if s.id == "verdict"), None)
        if sec is None:
            return []
        return [x.plain for b in sec.blocks if isinstance(b, Sentences) for x in b.items]

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


def table(title: str, frame: pd.DataFrame, display: Mapping[str, Sequence[Cell]],
          numeric: Sequence[str] = (), note: str | None = None,
          once: Sequence[str] = ()) -> Table:
    """A Table from columns of formatted cells (``display``, in order) and its raw frame.

    Columns whose cells are all empty or '-' are left out: a table shows what it has.
    ``once`` columns (in nesting order) show a value only where it changes, so a metric
    name heads its group of percentiles instead of repeating on every row.
    """
    keep = [c for c, cells in display.items()
            if any(str(v).strip() not in ("", "-") for v in cells)]
    n = len(next(iter(display.values()), []))
    rows = [[display[c][i] for c in keep] for i in range(n)]
    nested = [keep.index(c) for c in once if c in keep]
    blank = [[all(rows[i][k] == rows[i - 1][k] for k in nested[:depth + 1]) if i else False
              for depth in range(len(nested))] for i in range(n)]
    classes = ["cont" if nested and blank[i][0] else "" for i in range(n)]
    for i in range(n):
        for depth, j in enumerate(nested):
            if blank[i][depth]:
                rows[i][j] = ""
    return Table(title, keep, rows, frame, frozenset(c for c in numeric if c in keep), note,
                 classes)
