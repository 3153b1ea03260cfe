"""What the runner keeps of a shard until it is written, and what it sends back.

:class:`Collect` is the RecordSink handed to ``lens.burst.run``: it stamps each row with the
shard and keeps it in memory (the shard is written to S3 in one go). :func:`summarize` and
:func:`inline_rows` build the parts of the :class:`~lens.fleet.runner.wire.RunnerResponse`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lens.fleet.runner.wire import Rows, Summary
from lens.record import ChunkTiming, RequestRecord

# Rows are returned inline when their JSON is smaller than this; otherwise the caller
# reads them back from the S3 keys (Lambda's response limit is 6 MB).
INLINE_MAX_BYTES = 1_000_000
# Rows that were not written to S3 (no bucket, or the write failed) come back inline up to
# this much JSON; the rest are counted in ``rows_truncated``. 1 MB stays free for the rest
# of the response under Lambda's 6 MB limit.
INLINE_CAP_BYTES = 5_000_000


class Collect:
    """RecordSink keeping rows in memory (stamped with the shard) until the shard is written."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.records: list[RequestRecord] = []
        self.chunks: list[ChunkTiming] = []
        self._seen: set[str] = set()

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        if record.request_id in self._seen:
            return
        self._seen.add(record.request_id)
        record.shard = self.shard
        self.records.append(record)
        self.chunks.extend(chunks)

    def add_missing(self, records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming]) -> None:
        """Records a burst returned but (for any reason) did not pass to the sink."""
        missing = {r.request_id for r in records} - self._seen
        if missing:
            by_id: dict[str, list[ChunkTiming]] = {}
            for c in chunks:
                if c.request_id in missing:
                    by_id.setdefault(c.request_id, []).append(c)
            for r in records:
                if r.request_id in missing:
                    self.add(r, by_id.get(r.request_id, []))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 3)


def summarize(records: Sequence[RequestRecord]) -> Summary:
    """Counts by status and TTFT/E2E percentiles over measured (non-warm-up, ok) requests."""
    measured = [r for r in records if not r.warmup]
    by_status: dict[str, int] = {}
    for r in measured:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    ok = [r for r in measured if r.status == "ok"]
    ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
    e2e = [r.e2e_ms for r in ok if r.e2e_ms is not None]
    return Summary(
        requests=len(measured),
        warmup=len(records) - len(measured),
        ok=len(ok),
        by_status=by_status,
        ttft_p50_ms=_pct(ttft, 0.5),
        ttft_p90_ms=_pct(ttft, 0.9),
        e2e_p50_ms=_pct(e2e, 0.5),
        e2e_p90_ms=_pct(e2e, 0.9),
    )


def row(record: RequestRecord) -> dict[str, Any]:
    """One record as inline JSON (``started_at`` as ISO-8601)."""
    d = record.to_dict()
    d["started_at"] = record.started_at.isoformat()
    return d


def inline_rows(
    records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming], max_bytes: int
) -> tuple[Rows, int]:
    """Rows whose JSON fits in ``max_bytes`` (whole records with their chunks, in order),
    and how many records were left out."""
    by_request: dict[str, list[dict[str, Any]]] = {}
    for c in chunks:
        by_request.setdefault(c.request_id, []).append(c.to_dict())
    out = Rows(records=[], chunks=[])
    used = len(json.dumps({"records": [], "chunks": []}))
    for i, record in enumerate(records):
        r = row(record)
        its_chunks = by_request.pop(record.request_id, [])
        # +2 per item for the ", " json.dumps puts between list items.
        size = len(json.dumps(r, default=str)) + 2 + sum(len(json.dumps(c, default=str)) + 2 for c in its_chunks)
        if used + size > max_bytes:
            return out, len(records) - i
        used += size
        out.records.append(r)
        out.chunks.extend(its_chunks)
    return out, 0
