"""The Dialect protocol: how one wire format builds a request and reads its stream.

A dialect never does I/O. ``build_request`` takes the prompt as one string (a single user
turn) or as a conversation (a sequence of lens.workload.conversation.Message, oldest
first, alternating user/assistant, ending with a user turn) and renders it in its format. The engine (aiohttp) and the embedded profiler (httpx) both
feed raw bytes to ``framer.feed`` in their own read loops, timestamp each RawEvent as it
is framed (its last byte has been read), and only then call ``dialect.parse``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lens.record import Delta
    from lens.spec import TargetSpec
    from lens.workload.conversation import PromptInput


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    # Header names whose values are secrets: scrubbed from every error text and log.
    secret_headers: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class RawEvent:
    """One framed event: an SSE event (``event`` name, ``data`` text) or an AWS
    event-stream message (``event`` = ``:event-type`` header, ``data`` = JSON payload text,
    ``headers`` the message headers)."""

    data: str
    event: str | None = None
    id: str | None = None
    headers: dict[str, str] | None = None


class Framer(Protocol):
    def feed(self, data: bytes) -> list[RawEvent]:
        """Consume bytes (any split) and return the events completed by them."""

    def close(self) -> list[RawEvent]:
        """End of stream: return an event left without its terminating blank line, if any."""


class Dialect(Protocol):
    name: str

    def build_request(
        self,
        target: TargetSpec,
        prompt: PromptInput,
        *,
        max_tokens: int,
        temperature: float | None,
        api_key: str | None,
        stream: bool = True,
    ) -> HttpRequest: ...

    def new_framer(self) -> Framer: ...

    def parse(self, event: RawEvent) -> list[Delta]: ...
