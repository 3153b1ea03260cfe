"""Store seams: a RecordSink takes finished requests; a Store also keeps runs and reads back.

The engine knows only RecordSink. ``add`` is called once per finished request, from the
event loop, so implementations must not block for long (the SQLite store hands rows to a
writer thread that commits each request as it arrives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lens.record import ChunkTiming, RecordSink, RequestRecord, RunInfo

__all__ = ["RecordSink", "RunInfo", "Store"]


class Store(RecordSink, Protocol):
    def start_run(self, run: RunInfo) -> None: ...

    def finish_run(
        self, run_id: str, *, status: str, skipped: int = 0,
        extra: Mapping[str, Any] | None = None,
    ) -> None: ...

    def add_many(
        self, records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming]
    ) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
