"""Small helpers the dialects share: request assembly, JSON decoding, error classification.

Token-count normalisation used by every dialect (so rows compare across providers):
``input_tokens`` is the whole prompt, including tokens read from or written to a provider
cache; ``output_tokens`` includes reasoning/thinking tokens.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from lens.record import Delta
from lens.workload.conversation import PromptInput, as_messages

JSON = "application/json"
SSE = "text/event-stream"

_JSONError = json.JSONDecodeError


def _make_loads() -> Callable[[str], Any]:
    """orjson when installed (the ``fast`` extra: ~4x faster per event), with the standard
    library's decoder as the judge of what orjson refuses (NaN, huge integers), so a
    stream never parses differently for having orjson."""
    try:
        import orjson
    except ImportError:
        return json.loads
    fast, slow = orjson.loads, json.loads

    def loads(data: str) -> Any:
        try:
            return fast(data)
        except orjson.JSONDecodeError:
            return slow(data)

    return loads


_loads = _make_loads()


def merge_body(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``target.extra_body`` into ``body``: nested dicts merge, extra values win,
    and an extra value of None removes the key (to drop a default such as stream_options)."""
    for key, value in extra.items():
        if value is None:
            body.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(body.get(key), dict):
            body[key] = merge_body(dict(body[key]), value)
        else:
            body[key] = value
    return body


def role_messages(prompt: PromptInput, *, assistant: str = "assistant") -> list[tuple[str, str]]:
    """(role, text) per turn; a plain string is one user turn. ``assistant`` is the
    provider's name for the model's role (Gemini: ``model``)."""
    return [(assistant if m.role == "assistant" else "user", m.text) for m in as_messages(prompt)]


def encode_body(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_headers(
    extra: Mapping[str, str], secret: Mapping[str, str], *, accept: str = SSE
) -> dict[str, str]:
    """Content headers, then the target's own headers, then the key-carrying ones last so a
    target header can never replace (or duplicate) an auth header."""
    headers = {"Content-Type": JSON, "Accept": accept}
    lowered = {k.lower() for k in secret}
    for k, v in extra.items():
        if k.lower() not in lowered:
            headers[k] = v
    headers.update(secret)
    return headers


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + path


def loads(data: str) -> tuple[Any, Delta | None]:
    """Decode one event's JSON; on failure return a stream_error delta (never raise)."""
    try:
        return _loads(data), None
    except (_JSONError, RecursionError) as exc:
        return None, Delta(
            "error",
            error=f"malformed JSON in stream event: {exc.msg if isinstance(exc, _JSONError) else exc}",
            error_status="stream_error",
        )


def not_object(obj: Any) -> Delta:
    return Delta(
        "error",
        error=f"stream event is JSON {type(obj).__name__}, expected an object",
        error_status="stream_error",
    )


def error_status(*hints: Any) -> str:
    """Map provider error types/codes to a record status: overloaded | rate_limited |
    stream_error. Hints are strings (type, code, status) or ints (HTTP-like codes)."""
    for h in hints:
        if h is None:
            continue
        if isinstance(h, int):
            if h == 429:
                return "rate_limited"
            if h in (503, 529):
                return "overloaded"
            continue
        s = str(h).lower()
        if "overload" in s or s in ("unavailable", "529", "503") or "service_unavailable" in s:
            return "overloaded"
        if (
            "rate_limit" in s
            or "ratelimit" in s
            or "throttl" in s
            or s
            in (
                "resource_exhausted",
                "429",
                "too_many_requests",
            )
        ):
            return "rate_limited"
    return "stream_error"


def error_delta(err: Any, *, fallback: str = "stream error") -> Delta:
    """Turn an error object ({type, code, message, status} in any provider's spelling)
    into an error delta."""
    if isinstance(err, Mapping):
        kind = err.get("type")
        code = err.get("code")
        status = err.get("status")
        message = err.get("message") or fallback
        label = next((str(x) for x in (kind, code, status) if x not in (None, "")), None)
        text = f"{label}: {message}" if label else str(message)
        return Delta("error", error=text, error_status=error_status(kind, code, status))
    text = str(err) if err else fallback
    return Delta("error", error=text, error_status=error_status(text))


_F = TypeVar("_F", bound=Callable[..., list[Delta]])


def guarded(parse: _F) -> _F:
    """Make a parse function total: an event whose JSON has an unexpected shape (a list
    where an object belongs, a number for text) becomes a stream_error delta, never an
    exception in the engine's read loop."""

    @functools.wraps(parse)
    def wrapper(*args: Any) -> list[Delta]:
        try:
            return parse(*args)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            return [
                Delta(
                    "error",
                    error=f"unexpected stream event shape ({type(exc).__name__})",
                    error_status="stream_error",
                )
            ]

    return cast(_F, wrapper)
