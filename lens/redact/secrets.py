"""Remove secrets from text before it reaches a record, a log or an error message.

Providers sometimes echo the key back ("Incorrect API key provided: sk-abc..."), and
aiohttp exceptions can carry request headers. Every error string the probe stores passes
through :func:`scrub` with the API key values and secret header values of its request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping

# Shapes of well-known key formats, scrubbed even when we do not hold the value
# (e.g. a provider echoing a different key, or a key inside a URL).
_KEY_PATTERNS = re.compile(
    r"(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"  # OpenAI / Anthropic
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API keys
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key ids (ASIA: temporary, a Lambda role's)
    r"|gsk_[A-Za-z0-9]{20,})"  # Groq
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
# HTTP Basic credentials (a proxy's or gateway's user:password): a token after "Basic"
# that decodes to text with a colon, so "basic authentication required" stays text.
_BASIC = re.compile(r"(?i)(basic\s+)([A-Za-z0-9+/]{4,}={0,2})")


def _basic(m: re.Match[str]) -> str:
    token = m.group(2)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (ValueError, binascii.Error):
        return m.group(0)
    return m.group(1) + REDACTED if b":" in decoded else m.group(0)
_QUERY_KEY = re.compile(r"(?i)([?&](?:key|api[_-]?key|access_token)=)[^&\s\"']+")
REDACTED = "[REDACTED]"
ERROR_TEXT_LIMIT = 500  # characters of provider error text kept in a record
SECRET_HEADERS: frozenset[str] = frozenset(
    {"authorization", "x-api-key", "api-key", "x-goog-api-key", "x-amz-security-token"}
)


def secret_values(
    headers: Mapping[str, str] | None = None,
    secret_headers: Iterable[str] = (),
    extra: Iterable[str | None] = (),
) -> tuple[str, ...]:
    """Collect the secret strings of a request: values of secret headers plus ``extra``.

    A ``Bearer xyz`` header contributes both the whole value and ``xyz``.
    """
    names = {h.lower() for h in secret_headers} | SECRET_HEADERS
    out: list[str] = [v for v in extra if v]
    for k, v in (headers or {}).items():
        if k.lower() in names and v:
            out.append(v)
            parts = v.split(None, 1)
            if len(parts) == 2:
                out.append(parts[1])
    # Longest first, so a value containing another is removed whole.
    return tuple(sorted({s for s in out if len(s) >= 4}, key=len, reverse=True))


def scrub(text: str | None, secrets: Iterable[str] = (), *, limit: int | None = None) -> str | None:
    """Return ``text`` with every secret value and key-shaped token replaced.

    ``limit`` truncates the result (after scrubbing, so a cut never leaves half a key).
    """
    if text is None:
        return None
    for s in secrets:
        if s and s in text:
            text = text.replace(s, REDACTED)
    text = _KEY_PATTERNS.sub(REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _BASIC.sub(_basic, text)
    text = _QUERY_KEY.sub(r"\1" + REDACTED, text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def url_without_secrets(url: str) -> str:
    """``url`` without its query, fragment and user-info (where credentials hide), to quote
    in an error message."""
    head, at, tail = url.split("?")[0].split("#")[0].rpartition("@")
    if not at:
        return tail
    return (head.split("://")[0] + "://" if "://" in head else "") + tail
