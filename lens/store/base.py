"""Store seams: a RecordSink takes finished requests; a Store also keeps runs and reads back.

The engine knows only RecordSink. ``add`` is called once per finished request, from the
event loop, so implementations must not block for long (the SQLite store hands rows to a
writer thread that commits each request as it arrives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from lens.probe.record import ChunkTiming, RequestRecord


@dataclass(slots=True)
class RunInfo:
    run_id: str
    name: str
    started_at: datetime
    spec_json: str = "{}"
    finished_at: datetime | None = None
    status: str = "running"  # running | complete | incomplete | failed
    host: str = ""
    user: str = ""
    region: str = "local"
    runner: str = "local"
    lens_version: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    n_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class RecordSink(Protocol):
    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None: ...


class Store(RecordSink, Protocol):
    def start_run(self, run: RunInfo) -> None: ...

    def finish_run(self, run_id: str, *, status: str, skipped: int = 0) -> None: ...

    def add_many(
        self, records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming]
    ) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
