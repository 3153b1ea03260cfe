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
    digits = re.sub(r"[ .-]", "", m.group(0))
    return 13 <= len(digits) <= 19 and _luhn_ok(digits)


def _iban_ok(m: re.Match[str]) -> bool:
    """ISO 13616: 15-34 characters and the mod-97 check (the moved-front number % 97 == 1)."""
    raw = re.sub(r"\s", "", m.group(0)).upper()
    if not 15 <= len(raw) <= 34:
        return False
    moved = raw[4:] + raw[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ssn_ok(m: re.Match[str]) -> bool:
    """A US SSN's number ranges: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    d = re.sub(r"\D", "", m.group("v") if "v" in m.re.groupindex else m.group(0))
    return d[:3] not in ("000", "666") and d[0] != "9" and d[3:5] != "00" and d[5:] != "0000"


def _bearer_ok(m: re.Match[str]) -> bool:
    """``Bearer <token>``: a token with a digit or a token symbol, or a long one, or right
    after ``Authorization:`` -- not "the bearer of bad news"."""
    tok = m.group("v")
    before = m.string[max(0, m.start() - 20) : m.start()].lower()
    return (len(tok) >= 16 or any(c.isdigit() or c in "._~+/=-" for c in tok)
            or re.search(r"authorization[\"']?\s*[:=]\s*[\"']?$", before) is not None)


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
_PASSWORD_NAME = r"(?:password|passwd|passphrase|pwd)"

# Order matters: API keys and emails before phones/cards, whose digit patterns they contain;
# the Bearer pattern before the bare JWT, whose text it contains. A pattern with a group
# named "v" redacts only that group (the value of a name=value pair, not the name).
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool] | None], ...] = (
    # A PEM private key block, whole (to the end of the text when its END line is missing).
    (
        "private_key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
                   re.DOTALL),
        None,
    ),
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
    ("api_key", re.compile(r"(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/=-]+)"), _bearer_ok),
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
    # Any password value, however short (a short password is still a password).
    (
        "secret",
        re.compile(
            r"(?i)\b" + _PASSWORD_NAME + r"[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED:)(?P<v>[^\s\"',;]+)"
        ),
        None,
    ),
    (
        "secret",
        re.compile(
            r"(?i)" + _SECRET_NAME + r"[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED:)(?P<v>[^\s\"']{12,})"
        ),
        None,
    ),
    (
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
        _iban_ok,
    ),
    (
        "ssn",
        re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:#|no\.?|number)?\s*[:=]?\s*"
                   r"(?P<v>\d{3}(?P<sep>[- ]?)\d{2}(?P=sep)\d{4})\b"),
        _ssn_ok,
    ),
    ("ssn", re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])"), _ssn_ok),
    (
        "email",
        re.compile(r"[\w.%+-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[\w-]+)*\.[^\W\d_]{2,}\b"),
        None,
    ),
    ("card", re.compile(r"\b\d(?:[ .-]?\d){12,18}\b"), _card_ok),
    ("ip", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), _ipv4_ok),
    ("ip", re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"), _ipv6_ok),
    (
        "phone",
        re.compile(r"(?<![\w+])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?!\w)"),
        _phone_ok,
    ),
)


# Characters that hide PII from the patterns without changing how it reads: zero-width
# ones inside a key or an address are dropped, fullwidth/small forms of ASCII (U+FF20 and
# U+FE6B at signs, fullwidth letters and digits) are read as ASCII. Spans map back to the text.
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
_LOOKALIKE = {0xFE6B: "@", 0xFE52: ".", 0x3002: ".", 0xFF61: "."}


def _normalised(text: str) -> tuple[str, list[int]]:
    """(text as the patterns read it, the original index of each of its characters)."""
    if text.isascii():
        return text, []
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:
            ch = chr(o - 0xFEE0)
        else:
            ch = _LOOKALIKE.get(o, ch)
        out.append(ch)
        where.append(i)
    return "".join(out), where


def find_pii(text: str) -> list[Finding]:
    """Non-overlapping PII spans, earliest pattern (in priority order) winning overlaps.

    Spans are of ``text`` as given, found in it after zero-width characters are dropped
    and fullwidth forms read as ASCII (so ``a\u200bb@example.com`` and ``jane\uff20example.com``
    are found, whole)."""
    norm, where = _normalised(text)
    taken: list[Finding] = []
    for kind, pattern, check in _PATTERNS:
        for m in pattern.finditer(norm):
            if check is not None and not check(m):
                continue
            start, end = m.span("v") if "v" in pattern.groupindex else m.span()
            if start == end or any(start < f.end and f.start < end for f in taken):
                continue
            taken.append(Finding(kind, start, end))
    if where:
        taken = [Finding(f.kind, where[f.start], where[f.end - 1] + 1) for f in taken]
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
