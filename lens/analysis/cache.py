"""Provider prompt caches: hit rates from request rows, and cold-vs-warm comparisons.

Definitions (measured rows only: warm-up requests are excluded):

- **token hit rate** = sum(``cached_input_tokens``) / sum(``input_tokens``) over requests
  whose usage reported a cached count (``cached_input_tokens`` not null; providers that
  report none, or requests that ended before their usage, are left out);
- **request hit rate** = share of those requests with ``cached_input_tokens`` > 0.

``input_tokens`` is the whole prompt, cached part included, in every dialect (Anthropic's
and Bedrock's own ``input_tokens`` exclude it; lens adds it back), so the rate is a
fraction of the prompt. :func:`cold_warm` sets a run fired with ``cache: bust`` (every
prompt starts with a nonce: nothing can hit) beside the same workload fired warm
(lens.burst.cache_compare fires both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lens.record.frames import without_warmup

__all__ = ["cache_hit_rates", "cold_warm", "token_hit_rate"]


def _reported(df: pd.DataFrame) -> pd.DataFrame:
    df = without_warmup(df)
    if "cached_input_tokens" not in df.columns or "input_tokens" not in df.columns:
        return df.iloc[0:0]
    cached = pd.to_numeric(df["cached_input_tokens"], errors="coerce")
    inp = pd.to_numeric(df["input_tokens"], errors="coerce")
    return df.loc[cached.notna() & inp.notna() & (inp > 0)]


def token_hit_rate(df: pd.DataFrame) -> float | None:
    """Cached / input tokens over measured rows that report a cached count; None if none."""
    d = _reported(df)
    if d.empty:
        return None
    inp = float(pd.to_numeric(d["input_tokens"]).sum())
    return float(pd.to_numeric(d["cached_input_tokens"]).sum()) / inp if inp else None


def cache_hit_rates(df: pd.DataFrame, by: Sequence[str] = ("target",)) -> pd.DataFrame:
    """Per group: ``requests`` (measured), ``reported`` (with a cached count),
    ``input_tokens``, ``cached_input_tokens``, ``hit_rate`` (token), ``request_hit_rate``."""
    keys = [k for k in by if k in df.columns]
    measured = without_warmup(df)
    rows: list[dict[str, Any]] = []
    groups = measured.groupby(keys, observed=True, sort=True, dropna=False) if keys else [((), measured)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        d = _reported(g)
        inp = float(pd.to_numeric(d["input_tokens"]).sum()) if len(d) else 0.0
        cached = float(pd.to_numeric(d["cached_input_tokens"]).sum()) if len(d) else 0.0
        hits = int((pd.to_numeric(d["cached_input_tokens"]) > 0).sum()) if len(d) else 0
        rows.append({
            **dict(zip(keys, key, strict=True)), "requests": len(g), "reported": len(d),
            "input_tokens": int(inp), "cached_input_tokens": int(cached),
            "hit_rate": cached / inp if inp else np.nan,
            "request_hit_rate": hits / len(d) if len(d) else np.nan,
        })  # fmt: skip
    cols = [*keys, "requests", "reported", "input_tokens", "cached_input_tokens", "hit_rate",
            "request_hit_rate"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def cold_warm(
    cold: pd.DataFrame,
    warm: pd.DataFrame,
    *,
    by: Sequence[str] = ("target",),
    metrics: Sequence[str] = ("ttft_ms",),
    percentiles: Sequence[float] = (50, 95),
    reps: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Cold (baseline) vs warm (candidate), one row per group, metric and percentile:
    ``hit_rate_cold``/``hit_rate_warm`` beside lens.analysis.stats.compare's columns
    (``base`` is cold, ``cand`` warm; ``ratio`` < 1 means the cache made it faster, with
    its bootstrap CI and verdict)."""
    from lens.analysis.stats import compare

    table = compare(cold, warm, metrics, percentiles, 0.0, by=by, reps=reps, seed=seed)
    keys = [k for k in by if k in table.columns]
    hc = cache_hit_rates(cold, keys).rename(columns={"hit_rate": "hit_rate_cold"})
    hw = cache_hit_rates(warm, keys).rename(columns={"hit_rate": "hit_rate_warm"})
    if keys:
        table = table.merge(hc[[*keys, "hit_rate_cold"]], on=keys, how="left")
        table = table.merge(hw[[*keys, "hit_rate_warm"]], on=keys, how="left")
    else:
        table["hit_rate_cold"] = hc["hit_rate_cold"].iloc[0]
        table["hit_rate_warm"] = hw["hit_rate_warm"].iloc[0]
    return table
