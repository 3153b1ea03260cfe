"""Fill lens's derived columns the way lens.probe.measure does, from what a peer kept.

Peers keep fewer raw times than lens (no per-event kinds, sometimes no event times at
all), so every importer builds a row from a few marks and calls :func:`streaming_fields`
here: one definition of ITL, TPOT, tokens per chunk and decode rate for all of them,
identical to docs/metrics.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from lens.probe.derive import percentile
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
from lens.record.frames import conform
from lens.redact.secrets import ERROR_TEXT_LIMIT, scrub

_TIME_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "sec": 1000.0,
               "seconds": 1000.0, "milliseconds": 1.0, "nanoseconds": 1e-6,
               "microseconds": 1e-3}


def to_ms(value: Any, unit: str) -> float | None:
    """``value`` in ``unit`` (ns, us, ms, s) as milliseconds; None stays None."""
    if value is None:
        return None
    factor = _TIME_UNITS.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unknown time unit {unit!r}")
    return float(value) * factor


def first_token(first_reasoning_ms: float | None, ttft_ms: float | None) -> float | None:
    """The first token-bearing event: ``min(first_reasoning_ms, ttft_ms)``, null-aware."""
    vals = [v for v in (first_reasoning_ms, ttft_ms) if v is not None]
    return min(vals) if vals else None


def streaming_fields(
    *,
    first_ms: float | None,
    last_ms: float | None,
    output_tokens: int | None,
    n_chunks: int | None,
    gaps_ms: Sequence[float] | None = None,
) -> dict[str, Any]:
    """ITL statistics, TPOT, tokens per chunk and decode rate of one request.

    ``first_ms``/``last_ms`` are the first and last token-bearing events; ``gaps_ms`` the
    gaps between successive token-bearing events when the peer kept them (without them
    only ``itl_mean_ms`` can be known). Same formulas as lens.probe.measure.
    """
    out: dict[str, Any] = {"n_chunks": int(n_chunks or 0)}
    if gaps_ms is not None and len(gaps_ms) >= 1:
        gaps = sorted(float(g) for g in gaps_ms)
        out["itl_mean_ms"] = sum(gaps) / len(gaps)
        out["itl_p50_ms"] = percentile(gaps, 50)
        out["itl_p99_ms"] = percentile(gaps, 99)
        out["itl_max_ms"] = gaps[-1]
    elif n_chunks and n_chunks >= 2 and first_ms is not None and last_ms is not None:
        out["itl_mean_ms"] = (last_ms - first_ms) / (n_chunks - 1)
    if output_tokens is not None and n_chunks:
        out["tokens_per_chunk"] = output_tokens / n_chunks
    if (output_tokens is not None and output_tokens > 1 and first_ms is not None
            and last_ms is not None and last_ms > first_ms and (n_chunks or 0) >= 2):
        window = last_ms - first_ms
        out["tpot_ms"] = window / (output_tokens - 1)
        out["output_tokens_per_s"] = (output_tokens - 1) / (window / 1000.0)
    return out


def chunk_rows(request_id: str, first_ms: float, gaps_ms: Sequence[float],
               output_tokens: int | None, answer_ms: float | None = None
               ) -> list[dict[str, Any]]:
    """Token-bearing chunk rows rebuilt from a first-event time and successive gaps.

    Peers do not keep how many tokens each event carried: ``output_tokens`` is spread
    evenly over the events (the first ones take the remainder), at least 1 each, since
    lens counts only events with tokens as token-bearing. Events before ``answer_ms`` (the
    first answer token, when reasoning came first) are ``reasoning``, the rest ``text``.
    """
    times = [first_ms]
    for g in gaps_ms:  # a running sum, as the peers rebuild token times themselves
        times.append(times[-1] + float(g))
    n = len(times)
    total = max(int(output_tokens or 0), n)
    base, extra = divmod(total, n)
    # the running sum lands on the answer's time up to float rounding
    start = answer_ms - 1e-6 if answer_ms is not None and answer_ms > first_ms else -math.inf
    return [{"request_id": request_id, "index": i, "t_ms": t,
             "kind": "reasoning" if t < start else "text",
             "n_tokens": base + (1 if i < extra else 0)} for i, t in enumerate(times)]


def error_text(text: Any) -> str | None:
    """A peer's error text as lens stores one: key-shaped tokens removed, 500 chars."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    return scrub(str(text).strip(), (), limit=ERROR_TEXT_LIMIT)


_SECRET_KEYS = frozenset(("api_key", "apikey", "authorization", "headers", "header",
                          "password", "secret", "access_token", "cli_command", "token"))


def without_secrets(obj: Any) -> Any:
    """A copy of nested dicts/lists without keys that can hold credentials."""
    if isinstance(obj, dict):
        return {k: without_secrets(v) for k, v in obj.items()
                if str(k).lower() not in _SECRET_KEYS}
    if isinstance(obj, list):
        return [without_secrets(v) for v in obj]
    return obj


_HTTP = re.compile(r"\b([45]\d\d)\b")


def status_from_error(code: int | None, text: str | None) -> str:
    """A lens status for a failed request, from an HTTP code and/or an error text."""
    t = (text or "").lower()
    if code is None:
        m = _HTTP.search(t)
        code = int(m.group(1)) if m and ("http" in t or "status" in t or "error" in t) else None
    if code == 429 or "too many requests" in t or "rate limit" in t or "ratelimit" in t:
        return "rate_limited"
    if code in (503, 529) or "overloaded" in t or "service unavailable" in t:
        return "overloaded"
    if "timeout" in t or "timed out" in t or "cancel" in t or code in (408, 499, 504):
        return "timeout"
    if code is not None and code >= 400:
        return "http_error"
    if any(w in t for w in ("connect", "connection", "refused", "reset", "clientpayload",
                            "serverdisconnected", "dns", "name resolution")):
        return "network"
    return "stream_error"


def host_of(url: str | None) -> str:
    """Host and port of a base URL (never its path or query)."""
    if not url:
        return ""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts.netloc.rsplit("@", 1)[-1]


_PROVIDERS = (("openai.azure.com", "azure"), ("api.openai.com", "openai"),
              ("anthropic.com", "anthropic"), ("googleapis.com", "gemini"),
              ("amazonaws.com", "bedrock"), ("openrouter.ai", "openrouter"),
              ("together", "together"), ("groq.com", "groq"), ("fireworks.ai", "fireworks"))


def provider_for(host: str) -> str | None:
    """A provider name for well-known API hosts; None for self-hosted or unknown ones."""
    h = host.lower()
    return next((p for needle, p in _PROVIDERS if needle in h), None)


def target_for(provider: str, model: str) -> str:
    """lens's default target name: ``provider/model`` (just the model if no provider)."""
    if provider and model:
        return f"{provider}/{model}"
    return model or provider or "unknown"


def find_key(obj: Any, *keys: str, depth: int = 6) -> Any:
    """The first value under any of ``keys`` in nested dicts/lists (breadth-first)."""
    level = [obj]
    for _ in range(depth):
        nxt: list[Any] = []
        for o in level:
            if isinstance(o, dict):
                for k in keys:
                    v = o.get(k)
                    if v not in (None, "", [], {}):
                        return v
                nxt.extend(v for v in o.values() if isinstance(v, dict | list))
            elif isinstance(o, list):
                nxt.extend(v for v in o if isinstance(v, dict | list))
        level = nxt
    return None


def request_frame(rows: list[dict[str, Any]], defaults: dict[str, Any]) -> pd.DataFrame:
    """Rows (dicts of lens columns) -> a conformed request frame; ``defaults`` fill the
    columns a row does not set (identity columns shared by the whole run)."""
    names = [c.name for c in REQUEST_FIELDS]
    full = [{**defaults, **r} for r in rows]
    df = pd.DataFrame(full, columns=names)
    return conform(df, REQUEST_FIELDS)


def chunk_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return conform(pd.DataFrame(rows, columns=[c.name for c in CHUNK_FIELDS]), CHUNK_FIELDS)
