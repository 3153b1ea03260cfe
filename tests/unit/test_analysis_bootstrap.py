from __future__ import annotations

import time

import numpy as np
import pytest

from lens.analysis.bootstrap import (
    mean_ci,
    quantile_ci,
    quantile_replicates,
    statistic_replicates,
)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_order_statistic_draws_match_resampling(q: float) -> None:
    """The exact Beta draws have the distribution of np.quantile over index resamples."""
    x = np.random.default_rng(1).lognormal(5, 0.6, 400)
    fast = quantile_replicates(x, q, 20_000, seed=2)
    slow = statistic_replicates(x, lambda m: np.quantile(m, q, axis=1), 4000, seed=3)
    for p in (0.025, 0.25, 0.5, 0.75, 0.975):
        a, b = np.quantile(fast, p), np.quantile(slow, p)
        assert a == pytest.approx(b, rel=0.02), (q, p)
    assert fast.mean() == pytest.approx(slow.mean(), rel=0.01)


def test_seeded_and_reproducible() -> None:
    x = np.random.default_rng(0).normal(100, 10, 500)
    assert quantile_ci(x, 0.95, seed=7) == quantile_ci(x, 0.95, seed=7)
    assert quantile_ci(x, 0.95, seed=7) != quantile_ci(x, 0.95, seed=8)


def test_coverage_of_median_ci() -> None:
    """95% CI of the median covers the true median in ~95% of samples."""
    rng = np.random.default_rng(5)
    true = np.exp(3.0)  # lognormal(3, 1) median
    hits = 0
    reps = 300
    for _ in range(reps):
        iv = quantile_ci(rng.lognormal(3.0, 1.0, 200), 0.5, reps=1000, seed=rng)
        hits += iv.low <= true <= iv.high
    assert 0.90 <= hits / reps <= 0.99


def test_mean_ci_batches_and_nan() -> None:
    x = np.r_[np.random.default_rng(3).normal(50, 5, 1000), [np.nan] * 5]
    iv = mean_ci(x, reps=500, seed=0)
    assert iv.low < iv.estimate < iv.high
    assert iv.estimate == pytest.approx(np.nanmean(x))
    # batching: a tiny cell budget gives the same replicates as one big batch
    a = statistic_replicates(x, lambda m: m.mean(axis=1), 50, seed=1, max_cells=1_000_000)
    b = statistic_replicates(x, lambda m: m.mean(axis=1), 50, seed=1, max_cells=1000)
    assert a.shape == b.shape == (50,)


def test_empty_and_single() -> None:
    assert np.isnan(quantile_ci([], 0.5).estimate)
    assert quantile_ci([3.0], 0.9).low == 3.0


def test_100k_samples_well_under_a_second() -> None:
    x = np.random.default_rng(0).lognormal(5, 0.5, 100_000)
    t = time.perf_counter()
    for q in (0.5, 0.9, 0.95, 0.99):
        quantile_ci(x, q, reps=10_000)
    assert time.perf_counter() - t < 1.0


def test_mean_ci_normal_branch_agrees_with_bootstrap() -> None:
    x = np.random.default_rng(4).lognormal(3, 0.5, 30_000)
    normal = mean_ci(x, reps=2000)  # 6e7 cells: normal interval
    boot = mean_ci(x, reps=600, seed=1)  # 1.8e7 cells: bootstrap
    width = normal.high - normal.low
    assert abs(normal.low - boot.low) < 0.1 * width
    assert abs(normal.high - boot.high) < 0.1 * width
