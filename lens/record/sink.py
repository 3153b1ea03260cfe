"""Where finished requests go: the one seam between firing (probe, embed, fleet) and keeping.

``add`` is called once per finished request, from the event loop, so implementations must
not block for long (the SQL store hands rows to a writer thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lens.record.types import ChunkTiming, RequestRecord


class RecordSink(Protocol):
    """Takes each finished request with its chunk timings."""

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None: ...
