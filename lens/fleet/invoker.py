"""The seam between the fan-out and whatever runs the handler (AWS Lambda, the local fleet).

An :class:`Invoker` takes a region and an event (the runner's ``RunnerEvent`` as a dict) and
returns the handler's response dict. It raises :class:`InvokeError` with a short ``reason``
when the invocation itself failed (throttled, timed out, missing function, bad credentials);
a handler that ran and refused the event returns ``{"ok": false, "error": ...}`` instead.
An invoker may also read rows back for a response that carries only S3 keys
(:class:`RowFetcher`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from lens.errors import LensError
from lens.record import ChunkTiming, RequestRecord

# Reasons an invocation failed, as reported per region.
REASONS: tuple[str, ...] = (
    "throttled",
    "timeout",
    "not_found",
    "credentials",
    "function_error",
    "refused",
    "network",
    "error",
)


class InvokeError(LensError):
    """An invocation failed; ``reason`` is one of REASONS, the message says what to do."""

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        self.reason = reason if reason in REASONS else "error"
        super().__init__(f"{self.reason}: {message}", hint=hint)


@runtime_checkable
class Invoker(Protocol):
    def invoke(self, region: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Run the handler in ``region`` with ``payload``; return its response dict."""
        ...


@runtime_checkable
class RowFetcher(Protocol):
    def fetch_rows(
        self, region: str, response: Mapping[str, Any]
    ) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        """Read the rows of a response that carries S3 keys instead of inline rows."""
        ...


def rows_from_response(response: Mapping[str, Any]) -> tuple[list[RequestRecord], list[ChunkTiming]] | None:
    """Inline rows of a handler response, or None when it carries only S3 keys."""
    from datetime import datetime

    rows = response.get("rows")
    if not isinstance(rows, Mapping):
        return None
    records = []
    for d in rows.get("records", []):
        d = dict(d)
        if isinstance(d.get("started_at"), str):
            d["started_at"] = datetime.fromisoformat(d["started_at"])
        records.append(RequestRecord.from_dict(d))
    chunks = [ChunkTiming(**c) for c in rows.get("chunks", [])]
    return records, chunks
