"""What a measurement derives at its end: phases from marks, stream statistics from event
times, token counts, cleaned server-reported values. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

from lens.record import RequestRecord

__all__ = ["clean_count", "clean_duration", "count_text_tokens", "fill_phases", "fill_stream",
           "percentile"]

_NS_PER_MS = 1_000_000.0


@lru_cache(maxsize=65536)
def _count_cached(text: str, model: str | None) -> int:
    # Stream chunks repeat a lot (common words, punctuation), so per-chunk counting
    # mostly hits this cache instead of running the BPE tokenizer.
    from lens.workload.tokens import count_tokens

    return count_tokens(text, model)


@lru_cache(maxsize=256)
def _count_long_cached(text: str, model: str | None) -> int:
    from lens.workload.tokens import count_tokens

    return count_tokens(text, model)


def count_text_tokens(text: str, model: str | None = None) -> int:
    """Tokens in ``text`` with the bundled offline tokenizer (0 for empty text), memoised:
    meant for prompts, which a burst sends many times (bounded work per new text:
    lens.workload.tokens.count_tokens)."""
    if not text:
        return 0
    if len(text) <= 64:
        return _count_cached(text, model)
    return _count_long_cached(text, model)


def clean_count(v: object) -> int | None:
    """A server-reported token count: a whole, non-negative number, else None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if not math.isfinite(v) or v < 0 or v != int(v):
        return None
    return int(v)


def clean_duration(v: object) -> float | None:
    """A server-reported duration in ms: finite and non-negative, else None."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) and v >= 0 else None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default method) of pre-sorted values."""
    n = len(sorted_values)
    if n == 1:
        return float(sorted_values[0])
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


def fill_phases(r: RequestRecord, m: Mapping[str, int], origin: int) -> None:
    """The connection phases (dns, connect, tcp, tls) and sent/headers times from marks."""

    def ms(t: int | None) -> float | None:
        return None if t is None else (t - origin) / _NS_PER_MS

    dns_ns = 0
    if "dns_start" in m and "dns_end" in m:
        dns_ns = m["dns_end"] - m["dns_start"]
        r.dns_ms = dns_ns / _NS_PER_MS
    if "connect_start" in m and "connect_end" in m:
        conn_ns = m["connect_end"] - m["connect_start"]
        # Where the host is resolved inside connection creation (aiohttp, httpx), the
        # lookup is taken out: connect_ms is TCP (+ proxy tunnel) + TLS.
        if dns_ns and m["connect_start"] <= m["dns_start"] <= m["connect_end"]:
            conn_ns -= dns_ns
        r.connect_ms = conn_ns / _NS_PER_MS
        if "tcp_end" in m:
            r.tcp_ms = (m["tcp_end"] - m["connect_start"]) / _NS_PER_MS
        if "tls_start" in m and "tls_end" in m:
            r.tls_ms = (m["tls_end"] - m["tls_start"]) / _NS_PER_MS
    r.sent_ms = ms(m.get("sent"))
    r.headers_ms = ms(m.get("headers"))


def fill_stream(r: RequestRecord, times: Sequence[int], kinds: Sequence[str],
                stall_ms: float) -> list[int]:
    """Chunk count, inter-token gaps and stalls; returns the token-bearing events' times."""
    tok_t = [t for t, k in zip(times, kinds, strict=True) if k == "text" or k == "reasoning"]
    r.n_chunks = len(tok_t)
    if len(tok_t) >= 2:
        gaps = sorted((b - a) / _NS_PER_MS for a, b in itertools.pairwise(tok_t))
        r.itl_mean_ms = (tok_t[-1] - tok_t[0]) / _NS_PER_MS / len(gaps)
        r.itl_p50_ms = percentile(gaps, 50)
        r.itl_p99_ms = percentile(gaps, 99)
        r.itl_max_ms = gaps[-1]
        r.stalls = len(gaps) - bisect.bisect_right(gaps, stall_ms)
    elif tok_t:
        r.stalls = 0
    return tok_t
