"""What a response says about itself: status class, provider error text, retry-after,
rate-limit and request-id headers. Shared by the burst engine and the embedded profiler
(lens.embed), so both classify and scrub the same way.

Every header value that reaches a record goes through :func:`lens.redact.secrets.scrub`
with the request's own secret values and is bounded in length: servers and gateways have
been seen echoing ``Authorization: Bearer sk-...`` in ``x-request-id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from lens.probe.ratelimit_headers import header_duration, is_ratelimit_header, retry_after
from lens.redact.secrets import scrub

__all__ = [
    "HEADER_VALUE_LIMIT",
    "endpoint_host",
    "error_status",
    "processing_ms",
    "provider_message",
    "ratelimit_json",
    "request_id",
    "retry_after",
]

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id")
HEADER_VALUE_LIMIT = 200  # characters of one stored header value
_RATELIMIT_HEADERS_LIMIT = 32  # rate-limit headers kept per response


def endpoint_host(url: str) -> str:
    """``host[:port]`` of a URL (IPv6 in brackets); never its path, query or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _clean(value: str, secrets: Iterable[str]) -> str:
    return scrub(value, secrets, limit=HEADER_VALUE_LIMIT) or ""


def request_id(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> str | None:
    """The server's request id (x-request-id and friends), scrubbed and bounded."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return _clean(value, secrets)
    return None


def ratelimit_json(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> str | None:
    """Rate-limit response headers as compact JSON (names lower-case, values scrubbed)."""
    secrets = tuple(secrets)
    kept: dict[str, str] = {}
    for k, v in headers.items():
        name = k.lower()
        if is_ratelimit_header(name):
            kept[name[:HEADER_VALUE_LIMIT]] = _clean(v, secrets)
            if len(kept) >= _RATELIMIT_HEADERS_LIMIT:
                break
    return json.dumps(kept, separators=(",", ":"), sort_keys=True) if kept else None


def processing_ms(headers: Mapping[str, str]) -> float | None:
    """The server's own processing time (``openai-processing-ms``), when it is a duration."""
    return header_duration(headers.get("openai-processing-ms"))


def provider_message(body: bytes) -> tuple[str, str]:
    """(message, type) from a provider error body: OpenAI/Anthropic/Gemini/Bedrock shapes."""
    text = body.decode("utf-8", "replace").strip()
    try:
        obj: Any = json.loads(text)
    except (ValueError, RecursionError):
        return text, ""
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, str):
            return err, str(obj.get("type") or "")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("Message") or obj.get("message")
            typ = err.get("type") or err.get("status") or err.get("code") or obj.get("type") or ""
            if msg:
                return str(msg), str(typ)
    return text, ""


def error_status(code: int, error_type: str = "") -> str:
    """The record status of an HTTP error response."""
    if code == 429:
        return "rate_limited"
    if code in (503, 529) or "overloaded" in error_type.lower():
        return "overloaded"
    return "http_error"
