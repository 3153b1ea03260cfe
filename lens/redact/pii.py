"""Privacy: what text lens keeps, and PII redaction for users who opt in to keeping it.

By default no prompt or response text is stored anywhere: prompts are kept by id and a
hash (``prompt_hash``), responses by character and token counts. When a user opts in to
keeping text (``keep_text=True`` in an embedded sink, say), the text passes through
``redact`` first. Redaction is pattern-based and deliberately biased towards removing too
much: a false positive costs a few characters of a debug sample, a false negative leaks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Finding", "find_pii", "prompt_hash", "redact"]


def prompt_hash(text: str) -> str:
    """First 16 hex digits of sha256: enough to group identical prompts, useless to read."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    start: int
    end: int


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_ok(m: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", m.group(0))
    return 13 <= len(digits) <= 19 and _luhn_ok(digits)


def _ipv4_ok(m: re.Match[str]) -> bool:
    try:
        ipaddress.IPv4Address(m.group(0))
    except ValueError:
        return False
    return True


def _ipv6_ok(m: re.Match[str]) -> bool:
    text = m.group(0)
    if text.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _phone_ok(m: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", m.group(0))
    # 7-15 digits (E.164 max 15).
    if not 7 <= len(digits) <= 15:
        return False
    text = m.group(0)
    if _DATE.fullmatch(text.strip()):
        return False
    if text.startswith("+") or re.search(r"[ ().-]", text.strip()):
        return True
    # A bare run of digits is more often an id or a number in prose; only the length of a
    # North American number (10 digits, or 11 with the leading 1) counts as a phone.
    return len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")


def _basic_ok(m: re.Match[str]) -> bool:
    """``Basic <b64>`` outside a header: only when it decodes to printable ``user:pass``."""
    token = m.group("v")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in text and text.isprintable()


def _aws_secret_ok(m: re.Match[str]) -> bool:
    """40 base64 characters in ``name=value``: both letter cases (not a hex digest)."""
    v = m.group("v")
    return any(c.isupper() for c in v) and any(c.islower() for c in v)


_SECRET_NAME = r"(?:api[-_]?key|secret|token|password|passwd|authorization)"

# Order matters: API keys and emails before phones/cards, whose digit patterns they contain;
# the Bearer pattern before the bare JWT, whose text it contains. A pattern with a group
# named "v" redacts only that group (the value of a name=value pair, not the name).
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None], ...] = (
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
            r"|AIza[0-9A-Za-z_-]{30,}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{22,}"
            r"|hf_[A-Za-z0-9]{30,}"
            r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|gsk_[A-Za-z0-9]{20,})"
        ),
        None,
    ),
    ("api_key", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"), None),
    # A JWT anywhere (header.payload.signature, both JSON parts base64url of "{...").
    ("api_key", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), None),
    (
        "secret",
        re.compile(r"(?i)\bauthorization\s*[:=]\s*basic\s+(?P<v>[A-Za-z0-9+/]{4,}=*)"),
        None,
    ),
    (
        "secret",
        re.compile(r"(?i)\bbasic\s+(?P<v>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])"),
        _basic_ok,
    ),
    (
        "secret",
        re.compile(
            r"(?i)aws_secret_access_key[\"']?\s*[:=]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        None,
    ),
    (
        "secret",
        re.compile(
            r"\b[A-Za-z_][\w.-]*[\"']?\s*[:=]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        _aws_secret_ok,
    ),
    (
        "secret",
        re.compile(
            r"(?i)" + _SECRET_NAME + r"[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED:)(?P<v>[^\s\"']{12,})"
        ),
        None,
    ),
    (
        "email",
        re.compile(r"[\w.%+-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[\w-]+)*\.[^\W\d_]{2,}\b"),
        None,
    ),
    ("card", re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _card_ok),
    ("ip", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), _ipv4_ok),
    ("ip", re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"), _ipv6_ok),
    (
        "phone",
        re.compile(r"(?<![\w+])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?!\w)"),
        _phone_ok,
    ),
)


def find_pii(text: str) -> list[Finding]:
    """Non-overlapping PII spans, earliest pattern (in priority order) winning overlaps."""
    taken: list[Finding] = []
    for kind, pattern, check in _PATTERNS:
        for m in pattern.finditer(text):
            if check is not None and not check(m):
                continue
            start, end = m.span("v") if "v" in pattern.groupindex else m.span()
            if any(start < f.end and f.start < end for f in taken):
                continue
            taken.append(Finding(kind, start, end))
    return sorted(taken, key=lambda f: f.start)


def redact(text: str) -> str:
    """Replace every PII span with ``[REDACTED:<kind>]``."""
    out: list[str] = []
    pos = 0
    for f in find_pii(text):
        out.append(text[pos : f.start])
        out.append(f"[REDACTED:{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
