"""Privacy: what text lens keeps, and PII redaction for users who opt in to keeping it.

By default no prompt or response text is stored anywhere: prompts are kept by id and a
hash (``prompt_hash``), responses by character and token counts. When a user opts in to
keeping text (``keep_text=True`` in an embedded sink, say), the text passes through
``redact`` first. Redaction is pattern-based and deliberately biased towards removing too
much: a false positive costs a few characters of a debug sample, a false negative leaks.
"""

from __future__ import annotations

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
    # 7-15 digits (E.164 max 15); a bare run of digits without separators or a leading +
    # is more likely an id or a number in prose than a phone number.
    if not 7 <= len(digits) <= 15:
        return False
    text = m.group(0)
    if _DATE.fullmatch(text.strip()):
        return False
    return text.startswith("+") or bool(re.search(r"[ ().-]", text.strip()))


# Order matters: API keys and emails before phones/cards, whose digit patterns they contain.
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None], ...] = (
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
            r"|AIza[0-9A-Za-z_-]{30,}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|gsk_[A-Za-z0-9]{20,})"
        ),
        None,
    ),
    ("api_key", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"), None),
    (
        "email",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
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
            start, end = m.span()
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
