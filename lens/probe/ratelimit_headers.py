"""Rate-limit response headers, read in one place: which to keep and what they say.

Providers announce their limits in headers -- OpenAI/Groq ``x-ratelimit-*``, Anthropic
``anthropic-ratelimit-*``, Azure ``x-ms-ratelimit-*``, the IETF draft ``ratelimit-*``, and
``retry-after`` / ``retry-after-ms``. The record keeps them (``ratelimit`` JSON, chosen by
:func:`select`); the client-side limiter (lens.probe.ratelimit) reads remaining counts and
resets from them; ``retry_after_s`` comes from :func:`retry_after`. Every parser of these
values is here, so a reset is read the same way wherever it is used.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = [
    "GENERIC_REMAINING",
    "GENERIC_RESET",
    "REMAINING",
    "RESET",
    "exhausted_pause",
    "header_duration",
    "header_pause",
    "headers_of",
    "is_ratelimit_header",
    "parse_reset",
    "remaining",
    "retry_after",
]

PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "x-ms-ratelimit-", "ratelimit-")
NAMES = ("retry-after", "retry-after-ms")


def is_ratelimit_header(name: str) -> bool:
    """Whether the record keeps this (lower-case) response header in ``ratelimit``."""
    return name.startswith(PREFIXES) or name in NAMES


def header_duration(text: str | None, scale: float = 1.0) -> float | None:
    """A header's number as a duration: finite and not negative, else None (a server's
    ``NaN``, ``-5`` or ``1e400`` is not a time anyone waited)."""
    if not text:
        return None
    try:
        v = float(text) * scale
    except ValueError:
        return None
    return v if math.isfinite(v) and v >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date);
    None unless it is a finite, non-negative duration."""
    ms = header_duration(headers.get("retry-after-ms"), 1 / 1000.0)
    if ms is not None:
        return ms
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        float(v)
    except ValueError:
        pass
    else:
        return header_duration(v)
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


REMAINING = {
    "requests": ("x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining"),
    "tokens": (
        "x-ratelimit-remaining-tokens",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-input-tokens-remaining",
    ),
}
RESET = {
    "requests": ("x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset"),
    "tokens": (
        "x-ratelimit-reset-tokens",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
    ),
}
GENERIC_REMAINING = ("x-ratelimit-remaining", "ratelimit-remaining")
GENERIC_RESET = ("x-ratelimit-reset", "ratelimit-reset")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def headers_of(raw: str | None) -> dict[str, str]:
    """The record's ``ratelimit`` JSON (header -> value), lower-cased; {} when absent/bad."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in data.items() if v is not None}


def _get(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in headers:
            return headers[n]
    return None


def remaining(headers: Mapping[str, str], kind: str) -> float | None:
    """The ``requests`` or ``tokens`` count left, as a header says; None when none says."""
    return _num(_get(headers, REMAINING[kind]))


def _num(v: str | None) -> float | None:
    try:
        return None if v is None else float(v)
    except ValueError:
        return None


def parse_reset(value: str, now_wall: float) -> float | None:
    """Seconds until a reset given as seconds ("20"), a Go duration ("6m0s", "20ms"),
    an epoch timestamp, or an RFC 3339 date. None when unparseable."""
    v = value.strip()
    n = _num(v)
    if n is not None:
        # Large numbers are epoch timestamps (seconds), small ones relative seconds.
        return max(0.0, n - now_wall) if n > 1e9 else max(0.0, n)
    parts = _DURATION.findall(v)
    if parts and "".join(a + b for a, b in parts) == v:
        mult = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        return sum(float(a) * mult[u] for a, u in parts)
    try:
        ts = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return max(0.0, ts.timestamp() - now_wall)


def header_pause(headers: Mapping[str, str], now_wall: float) -> float | None:
    """Longest reset among the limits the headers name (used after a 429)."""
    resets = [
        parse_reset(v, now_wall)
        for names in (*RESET.values(), GENERIC_RESET)
        if (v := _get(headers, names)) is not None
    ]
    known = [r for r in resets if r is not None]
    after = retry_after(headers)  # seconds or an HTTP date, as retry_after_s reads it
    if after is not None:
        known.append(after)
    return max(known) if known else None


def exhausted_pause(headers: Mapping[str, str], now_wall: float) -> float | None:
    """When a limit's remaining count is 0, the time until its reset."""
    pauses = []
    pairs = [(REMAINING[k], RESET[k]) for k in REMAINING] + [
        (GENERIC_REMAINING, GENERIC_RESET)
    ]
    for rem_names, reset_names in pairs:
        remaining = _num(_get(headers, rem_names))
        reset = _get(headers, reset_names)
        if remaining is not None and remaining <= 0 and reset is not None:
            r = parse_reset(reset, now_wall)
            if r is not None:
                pauses.append(r)
    return max(pauses) if pauses else None
