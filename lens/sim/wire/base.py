"""What every wire-format writer provides, and helpers they share.

A writer is created per request. It turns the simulator's abstract stream (start, token
deltas of kind text/reasoning, finish with usage, mid-stream error) into the exact bytes
the real provider sends, one ``Ev`` (kind, n_tokens, bytes) per write. Templates are
pre-encoded per request so a token event costs a few byte concatenations. Token text comes
from lens.sim.latency.token_text and needs no JSON escaping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

Ev = tuple[str, int, bytes]  # (truth kind, n_tokens, bytes written in one write)

# Keys whose string values (recursively) are prompt text in any dialect's request body.
_TEXT_KEYS = frozenset({"text", "content", "input", "instructions", "system", "parts", "messages", "contents", "systemInstruction"})


def collect_text(obj: Any, out: list[str]) -> None:
    """Append every prompt string found under text-bearing keys of ``obj``."""
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, list):
        for item in obj:
            collect_text(item, out)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key in _TEXT_KEYS:
                collect_text(value, out)


def prompt_text(body: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    out: list[str] = []
    for key in keys:
        if key in body:
            collect_text(body[key], out)
    return "\n".join(out)


def int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def q(text: str) -> bytes:
    """A JSON string literal for simulator token text (plain ASCII words, no escaping)."""
    return b'"' + text.encode() + b'"'


def bearer(headers: Mapping[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else auth.strip()


@dataclass(slots=True)
class ParsedRequest:
    model: str
    prompt_text: str
    max_tokens: int | None
    stream: bool
    include_usage: bool = False


@dataclass(slots=True)
class UsageOut:
    prompt: int
    cached: int
    text: int
    reasoning: int

    @property
    def output(self) -> int:
        return self.text + self.reasoning


class WireWriter:
    """Base class; subclasses implement one provider's wire format."""

    dialect: ClassVar[str]
    content_type: ClassVar[str] = "text/event-stream"
    # Whether the writer can carry llama.cpp's `timings` object (set ``timings`` first).
    supports_timings: ClassVar[bool] = False
    # retry-after and rate-limit header names differ per provider.

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        self.request_id = request_id
        self.req = req
        self.created = created
        self.latency_ms = 0.0  # what the server measured for itself (Bedrock reports it)
        self.timings: dict[str, Any] | None = None

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        raise NotImplementedError

    @classmethod
    def has_key(cls, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return bool(bearer(headers))

    @classmethod
    def error_response(
        cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for kind in rate_limited|overloaded|unauthorized|bad_request."""
        raise NotImplementedError

    def start(self, usage: UsageOut) -> list[Ev]:
        """Events written when processing starts (usage: prompt-side counts known)."""
        return []

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        raise NotImplementedError

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        raise NotImplementedError

    def midstream_error(self) -> list[Ev]:
        raise NotImplementedError

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        raise NotImplementedError


def retry_headers(retry_after_s: float) -> dict[str, str]:
    value = int(retry_after_s) if float(retry_after_s).is_integer() else retry_after_s
    return {"retry-after": str(value)}
