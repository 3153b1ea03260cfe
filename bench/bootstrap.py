"""Bootstrap CIs of percentiles for 100,000 samples.

    python -m bench.bootstrap

Times lens.analysis.bootstrap.quantile_ci (exact order-statistic draws) for p50/p90/p95/p99
at 2,000 and 10,000 replicates, the classic resample-index matrix for comparison, and
stats.summarize / stats.compare on 100,000-row frames. Best of 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from lens.analysis import stats
from lens.analysis.bootstrap import quantile_ci, statistic_replicates

N = 100_000
QS = (0.5, 0.9, 0.95, 0.99)


def best(fn: Callable[[], object], runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> int:
    x = np.random.default_rng(0).lognormal(5, 0.5, N)
    for reps in (2_000, 10_000):
        dt = best(lambda reps=reps: [quantile_ci(x, q, reps=reps) for q in QS])
        print(f"quantile_ci, {N:,} samples, 4 percentiles x {reps:,} replicates: {dt * 1000:.1f} ms")
    dt = best(lambda: statistic_replicates(x, lambda m: np.quantile(m, 0.95, axis=1), 20), 1)
    print(f"resample-index matrix (for comparison), {N:,} samples, p95 x 20 replicates: "
          f"{dt * 1000:.0f} ms (~{dt / 20 * 2000:.0f} s for 2,000)")
    df = pd.DataFrame({m: np.random.default_rng(i).lognormal(5, 0.5, N)
                       for i, m in enumerate(stats.METRICS)})
    df["status"], df["warmup"] = "ok", False
    dt = best(lambda: stats.summarize(df, by=()), 1)
    print(f"stats.summarize, {N:,} rows, 6 metrics x (mean + 4 percentiles), 2,000 reps: "
          f"{dt:.2f} s")
    cand = df.assign(ttft_ms=df["ttft_ms"] * 1.1)
    dt = best(lambda: stats.compare(df, cand), 1)
    print(f"stats.compare, {N:,} vs {N:,} rows, 4 metrics x 3 percentiles, 2,000 reps: {dt:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
