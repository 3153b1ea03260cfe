"""The seam between the fan-out and whatever runs the handler (AWS Lambda, the local fleet).

An :class:`Invoker` takes a region and an event (the runner's
:class:`~lens.fleet.runner.wire.RunnerEvent` as a dict) and returns the handler's response
(a :class:`~lens.fleet.runner.wire.RunnerResponse`, or its JSON object, which
:func:`parse_response` validates with the same model the handler builds it with). It raises
:class:`InvokeError` with a short ``reason`` when the invocation itself failed (throttled,
timed out, missing function, bad credentials, an answer that is not a runner response); a
handler that ran and refused the event answers ``ok`` False with an ``error`` instead. An
invoker may also read rows back for a response that carries only S3 keys (:class:`RowFetcher`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from lens.errors import LensError
from lens.fleet.runner.wire import ResponseError, RunnerResponse
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
    def invoke(self, region: str, payload: Mapping[str, Any]) -> RunnerResponse | Mapping[str, Any]:
        """Run the handler in ``region`` with ``payload``; return its response."""
        ...


@runtime_checkable
class RowFetcher(Protocol):
    def fetch_rows(
        self, region: str, response: RunnerResponse
    ) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        """Read the rows of a response that carries S3 keys instead of inline rows."""
        ...


def parse_response(data: RunnerResponse | Mapping[str, Any] | Any) -> RunnerResponse:
    """What an invoker returned, as a RunnerResponse; InvokeError("function_error") when it
    is not one (naming the first bad field)."""
    try:
        return RunnerResponse.of(data)
    except ResponseError as exc:
        raise InvokeError("function_error", exc.message, hint=exc.hint) from None


def rows_from_response(
    response: RunnerResponse | Mapping[str, Any],
) -> tuple[list[RequestRecord], list[ChunkTiming]] | None:
    """Inline rows of a handler response, or None when it carries only S3 keys."""
    return parse_response(response).inline_rows()
