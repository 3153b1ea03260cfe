"""Seeded, vectorised bootstrap confidence intervals.

Two engines, same answer:

- ``quantile_replicates``: the bootstrap distribution of a sample quantile, drawn *exactly*
  without materialising resamples. Sort the data once; a resample is n uniform draws of an
  index, and the k-th smallest resampled value is ``sorted[floor(n * U_(k))]`` where
  ``U_(k) ~ Beta(k, n - k + 1)`` is the k-th order statistic of n uniforms. numpy's linear
  quantile also needs the next order statistic, ``U_(k+1) = U_(k) + (1 - U_(k)) *
  Beta(1, n - k)``. So B replicates cost O(B) after one O(n log n) sort: 100,000 samples
  with 10,000 replicates take milliseconds (bench/bootstrap.py). The result has the same
  distribution as ``np.quantile(x[rng.integers(0, n, (B, n))], q, axis=1)``
  (tests/unit/test_analysis_bootstrap.py checks the two agree).
- ``statistic_replicates``: the classic resample-index matrix for any vectorised statistic
  (mean, ...), drawn in batches so memory stays bounded (``max_cells`` indices at a time).

CIs are percentile intervals of the replicates. Everything takes ``seed`` (or a Generator)
so the same data and seed give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_REPS = 2000
MAX_CELLS = 4_000_000  # resample indices per batch (~32 MB of int64)


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with a percentile-bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    level: float = 0.95


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _clean(x: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(x, dtype="float64").ravel()
    return a[~np.isnan(a)]


def quantile_replicates(
    x: ArrayLike, q: float, reps: int = DEFAULT_REPS,
    seed: int | np.random.Generator | None = 0, *, presorted: bool = False,
) -> NDArray[np.float64]:
    """``reps`` bootstrap replicates of the ``q`` quantile (0..1, numpy 'linear' method)."""
    xs = _clean(x) if not presorted else np.asarray(x, dtype="float64")
    n = xs.size
    if n == 0:
        return np.full(reps, np.nan)
    if not presorted:
        xs = np.sort(xs)
    if n == 1:
        return np.full(reps, xs[0])
    rng = _rng(seed)
    h = (n - 1) * q
    lo = int(np.floor(h))  # 0-based order statistic index
    frac = h - lo
    k = lo + 1  # 1-based
    u_k = rng.beta(k, n - k + 1, size=reps)
    i_k = np.minimum((u_k * n).astype(np.int64), n - 1)
    if frac == 0.0 or k >= n:
        return xs[i_k]
    u_next = u_k + (1.0 - u_k) * rng.beta(1, n - k, size=reps)
    i_next = np.minimum((u_next * n).astype(np.int64), n - 1)
    return xs[i_k] + frac * (xs[i_next] - xs[i_k])


def statistic_replicates(
    x: ArrayLike, stat: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    reps: int = DEFAULT_REPS, seed: int | np.random.Generator | None = 0,
    *, max_cells: int = MAX_CELLS,
) -> NDArray[np.float64]:
    """Replicates of ``stat`` (applied along axis 1 of a (batch, n) resample matrix)."""
    xs = _clean(x)
    n = xs.size
    if n == 0:
        return np.full(reps, np.nan)
    rng = _rng(seed)
    batch = max(1, max_cells // n)
    out = np.empty(reps)
    for start in range(0, reps, batch):
        b = min(batch, reps - start)
        idx = rng.integers(0, n, size=(b, n))
        out[start : start + b] = stat(xs[idx])
    return out


def percentile_interval(
    replicates: NDArray[np.float64], estimate: float, level: float = 0.95,
) -> Interval:
    a = (1.0 - level) / 2.0
    reps = replicates[~np.isnan(replicates)]
    if reps.size == 0:
        return Interval(estimate, float("nan"), float("nan"), level)
    lo, hi = np.quantile(reps, [a, 1.0 - a])
    return Interval(float(estimate), float(lo), float(hi), level)


def quantile_ci(
    x: ArrayLike, q: float, *, reps: int = DEFAULT_REPS, level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> Interval:
    """The ``q`` quantile (0..1) of ``x`` (NaN ignored) with a bootstrap CI."""
    xs = np.sort(_clean(x))
    est = float(np.quantile(xs, q)) if xs.size else float("nan")
    return percentile_interval(quantile_replicates(xs, q, reps, seed, presorted=True), est, level)


def quantiles_ci(
    x: ArrayLike, qs: Sequence[float], *, reps: int = DEFAULT_REPS, level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> list[Interval]:
    """Several quantiles of one sample (sorted once), each with its CI."""
    xs = np.sort(_clean(x))
    rng = _rng(seed)
    out = []
    for q in qs:
        est = float(np.quantile(xs, q)) if xs.size else float("nan")
        out.append(percentile_interval(quantile_replicates(xs, q, reps, rng, presorted=True),
                                       est, level))
    return out


MEAN_BOOTSTRAP_CELLS = 20_000_000


def mean_ci(
    x: ArrayLike, *, reps: int = DEFAULT_REPS, level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> Interval:
    """Mean of ``x`` with a CI: percentile bootstrap (resample-index matrix in batches)
    while ``n * reps`` <= MEAN_BOOTSTRAP_CELLS, else the normal interval
    ``mean +- z * sd / sqrt(n)``, which the bootstrap distribution of a mean converges to
    (at n > 10,000 the two agree to well under 1% of the interval width)."""
    from statistics import NormalDist

    xs = _clean(x)
    est = float(xs.mean()) if xs.size else float("nan")
    if xs.size * reps > MEAN_BOOTSTRAP_CELLS:
        half = NormalDist().inv_cdf(0.5 + level / 2) * float(xs.std(ddof=1)) / np.sqrt(xs.size)
        return Interval(est, est - half, est + half, level)
    reps_ = statistic_replicates(xs, lambda m: m.mean(axis=1), reps, seed)
    return percentile_interval(reps_, est, level)
