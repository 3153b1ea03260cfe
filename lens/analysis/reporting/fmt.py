"""Numbers for people: units, significant digits, CIs as "466 ms [442, 483]", badges.

Every function returns plain text except those returning :class:`Html` (markup the
renderer must not escape; anything user-supplied inside it is escaped here).
"""

from __future__ import annotations

import html
import math
from typing import Any

# metric column -> (label, unit); units: "ms", "tok/s", "tokens", "" (a count)
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "ttft_ms": ("TTFT", "ms"),
    "tpot_ms": ("TPOT", "ms"),
    "e2e_ms": ("E2E latency", "ms"),
    "itl_p50_ms": ("ITL (per-request median)", "ms"),
    "itl_mean_ms": ("ITL (per-request mean)", "ms"),
    "output_tokens_per_s": ("output tokens/s", "tok/s"),
    "headers_ms": ("time to headers", "ms"),
    "queue_ms": ("queue time", "ms"),
    "itl_p99_ms": ("ITL (per-request p99)", "ms"),
    "itl_max_ms": ("longest inter-token gap", "ms"),
    "dns_ms": ("DNS", "ms"),
    "connect_ms": ("connect", "ms"),
    "sent_ms": ("request sent", "ms"),
    "last_token_ms": ("last token", "ms"),
    "client_lag_ms": ("client lag", "ms"),
    "input_tokens": ("prompt tokens", "tokens"),
    "output_tokens": ("output tokens", "tokens"),
    "cost_usd": ("cost per request", "USD"),
}
VERDICT_CLASS = {"regressed": "bad", "improved": "good", "no significant change": "neutral",
                 "insufficient data": "muted", "PASS": "good", "FAIL": "bad",
                 "client saturated": "bad"}


ARROW = "\u2192"  # "466 ms → 582 ms"


class Html(str):
    """Markup that is safe to embed as it is (built here from escaped parts)."""

    __slots__ = ()


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def label(metric: str) -> str:
    """'ttft_ms' -> 'TTFT'; unknown columns keep their name."""
    return METRIC_LABELS.get(metric, (metric, ""))[0]


def unit(metric: str) -> str:
    return METRIC_LABELS.get(metric, ("", "ms" if metric.endswith("_ms") else ""))[1]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def decimals(v: float) -> int:
    """Digits after the point for ~3 significant digits (never fewer than 0)."""
    a = abs(v)
    if a >= 100 or a == 0:
        return 0
    if a >= 10:
        return 1
    if a >= 1:
        return 2
    return min(6, 2 - math.floor(math.log10(a)))


def num(v: Any, places: int | None = None) -> str:
    """A number with ~3 significant digits and thousands separators; '-' when missing."""
    if _missing(v):
        return "-"
    f = float(v)
    d = decimals(f) if places is None else places
    return f"{f:,.{d}f}"


def qty(v: Any, u: str, places: int | None = None) -> str:
    """'466 ms', '12.3 tok/s', '-' for a missing value."""
    s = num(v, places)
    return s if s == "-" or not u else f"{s} {u}"


def ci(v: Any, lo: Any, hi: Any, u: str = "") -> str:
    """'466 ms [442, 483]': the bounds with the value's precision."""
    if _missing(v):
        return "-"
    d = decimals(float(v))
    head = qty(v, u, d)
    if _missing(lo) or _missing(hi):
        return head
    return f"{head} [{num(lo, d)}, {num(hi, d)}]"


def ci_html(v: Any, lo: Any, hi: Any, u: str = "") -> Html:
    """The same as :func:`ci`, the interval on its own line (narrow table columns)."""
    if _missing(v):
        return Html("<span class='na'>-</span>")
    d = decimals(float(v))
    head = esc(qty(v, u, d))
    if _missing(lo) or _missing(hi):
        return Html(head)
    return Html(f"{head}<span class='ci'>[{esc(num(lo, d))}, {esc(num(hi, d))}]</span>")


def pct(x: Any, *, signed: bool = False, places: int | None = None) -> str:
    """0.253 -> '25%' (or '+25%'); small shares keep a decimal ('2.5%', '0.40%')."""
    if _missing(x):
        return "-"
    p = float(x) * 100
    d = places if places is not None else (0 if abs(p) >= 10 or p == 0 else 1 if abs(p) >= 1
                                           else 2)
    return f"{p:+.{d}f}%" if signed else f"{p:.{d}f}%"


def change(ratio: Any, lo: Any, hi: Any) -> str:
    """Ratio candidate/baseline as a relative change with its CI: '+25% [+14%, +36%]'."""
    if _missing(ratio):
        return "-"
    head = pct(float(ratio) - 1, signed=True)
    if _missing(lo) or _missing(hi):
        return head
    return f"{head} [{pct(float(lo) - 1, signed=True)}, {pct(float(hi) - 1, signed=True)}]"


def usd(v: Any) -> str:
    """'$12.40', '$0.000412' (3 significant digits below a cent)."""
    if _missing(v):
        return "-"
    f = float(v)
    if f == 0:
        return "$0"
    if abs(f) >= 0.1:
        return f"${f:,.2f}"
    return f"${f:.{min(8, 2 - math.floor(math.log10(abs(f))))}f}"


def pvalue(p: Any) -> str:
    if _missing(p):
        return "-"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"


def cliffs_words(delta: Any) -> str:
    """Cliff's delta with Romano et al.'s magnitude words (0.147, 0.33, 0.474)."""
    if _missing(delta):
        return "-"
    a = abs(float(delta))
    word = ("negligible" if a < 0.147 else "small" if a < 0.33 else "medium" if a < 0.474
            else "large")
    return f"{float(delta):+.2f} ({word})"


def badge(verdict: str) -> Html:
    cls = VERDICT_CLASS.get(verdict, "neutral")
    return Html(f"<span class='badge {cls}'>{esc(verdict)}</span>")


def count(n: Any) -> str:
    return "-" if _missing(n) else f"{int(n):,}"
