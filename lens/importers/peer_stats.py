"""The peers' own summary statistics, so an import can be checked against their numbers.

- vLLM ``bench serve`` and AIPerf: ``numpy.percentile`` with its default linear
  interpolation, mean, population standard deviation (``numpy.std``, ddof 0). lens's
  summaries use the same percentile method (``numpy.quantile``).
- GuideLLM (0.4 and later): a weighted *inverted CDF*: values are sorted, equal values
  merged (weights summed), weights normalised to probabilities, and percentile q is the
  first value whose cumulative probability reaches q (``numpy.searchsorted(cdf, q,
  side="left")``). No interpolation, so GuideLLM's p99 of 20 requests is an observed
  value where numpy's lies between the two largest. Its ITL and TPOT distributions weight
  each request by ``output_tokens - 1`` and ``output_tokens``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

GUIDELLM_PERCENTILES: dict[str, float] = {
    "p001": 0.001, "p01": 0.01, "p05": 0.05, "p10": 0.1, "p25": 0.25, "p50": 0.5,
    "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999,
}


def _clean(values: Iterable[float | None]) -> np.ndarray:
    arr = np.asarray([np.nan if v is None else float(v) for v in values], dtype="float64")
    return arr[~np.isnan(arr)]


def numpy_stats(values: Iterable[float | None], percentiles: Sequence[float]) -> dict[str, float]:
    """mean, median, std (ddof 0) and ``p{q}`` (linear) of the non-null values.

    Keys follow vLLM's result JSON (``p99`` for 99, ``p99.9`` for 99.9). Empty input gives
    vLLM's fallback of a single 0 (it summarises ``ttfts or 0``).
    """
    arr = _clean(values)
    if arr.size == 0:
        arr = np.zeros(1)
    out = {"mean": float(np.mean(arr)), "median": float(np.median(arr)),
           "std": float(np.std(arr))}
    for q in percentiles:
        word = str(int(q)) if int(q) == q else str(q)
        out[f"p{word}"] = float(np.percentile(arr, q))
    return out


def guidellm_summary(
    values: Iterable[float], weights: Iterable[float] | None = None
) -> dict[str, float]:
    """GuideLLM's DistributionSummary figures (mean, median, min, max, std_dev and the
    p001..p999 percentiles) of ``values``, optionally weighted."""
    vals = np.asarray(list(values), dtype="float64")
    w = np.ones_like(vals) if weights is None else np.asarray(list(weights), dtype="float64")
    if vals.size == 0:
        return {k: 0.0 for k in ("mean", "median", "min", "max", "std_dev",
                                 *GUIDELLM_PERCENTILES)}
    order = np.argsort(vals)
    uniq, inverse = np.unique(vals[order], return_inverse=True)
    merged = np.zeros_like(uniq)
    np.add.at(merged, inverse, w[order])
    keep = merged > 0
    uniq, merged = uniq[keep], merged[keep]
    total = merged.sum()
    if total <= 1e-6:  # GuideLLM falls back to a uniform distribution
        merged = np.ones_like(uniq)
        total = merged.sum()
    probs = merged / total
    cdf = np.cumsum(probs)
    pct = {k: float(uniq[min(int(np.searchsorted(cdf, q, side="left")), uniq.size - 1)])
           for k, q in GUIDELLM_PERCENTILES.items()}
    mean = float(np.sum(uniq * probs))
    return {"mean": mean, "median": pct["p50"], "min": float(uniq[0]), "max": float(uniq[-1]),
            "std_dev": float(np.sqrt(np.sum((uniq - mean) ** 2 * probs))), **pct}
