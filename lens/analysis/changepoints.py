"""Change points in a time series of scheduled runs (e.g. daily p95 TTFT), via ruptures.

Method: isolated spikes are first replaced by the local median (a Hampel filter: a point
more than ``spike_sigmas`` robust sigmas from the median of its 5-point window), since a
one-off slow run is not a level shift. Then PELT with an L2 (mean-shift) cost on the
series scaled by a robust noise estimate,
``sigma = MAD(diff(x)) / (0.6745 * sqrt(2))`` (first differences cancel the level, so steps
do not inflate the scale, and the MAD ignores outliers). On the scaled series the noise
variance is ~1, so a BIC-like penalty ``penalty_factor * log(n)`` (default 3, a little
above BIC's 2 to resist heavy tails) is in natural units whatever the metric's scale.
Each change point is reported with the medians of the segments before and after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens.errors import AnalysisError
from lens.record.frames import without_warmup


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """A level shift: the first index (and time) of the new segment, with segment medians."""

    index: int
    time: Any
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def rel_change(self) -> float:
        return self.change / self.before if self.before else float("nan")


def robust_sigma(x: np.ndarray) -> float:
    d = np.diff(x)
    if d.size == 0:
        return 0.0
    mad = float(np.median(np.abs(d - np.median(d))))
    sigma = mad / (0.6745 * np.sqrt(2))
    if sigma == 0.0:  # piecewise-constant series: fall back to the plain spread
        sigma = float(np.std(d)) / np.sqrt(2)
    return sigma


def hampel(x: np.ndarray, sigma: float, n_sigmas: float = 4.0, half_window: int = 2) -> np.ndarray:
    """``x`` with points far from their local median replaced by that median."""
    med = pd.Series(x).rolling(2 * half_window + 1, center=True, min_periods=1).median()
    m = med.to_numpy()
    return np.where(np.abs(x - m) > n_sigmas * sigma, m, x)


def detect(
    values: Sequence[float] | np.ndarray | pd.Series,
    times: Sequence[Any] | pd.Index | None = None,
    *,
    penalty_factor: float = 3.0,
    min_size: int = 3,
    spike_sigmas: float = 4.0,
) -> list[ChangePoint]:
    """Change points of ``values`` (NaN dropped), in order. ``times`` label each value
    (defaults to the Series index, else positions)."""
    import ruptures as rpt

    if times is None and isinstance(values, pd.Series):
        times = values.index
    x = np.asarray(values, dtype="float64")
    t = np.asarray(times if times is not None else np.arange(x.size), dtype=object)
    if t.size != x.size:
        raise AnalysisError(f"values ({x.size}) and times ({t.size}) differ in length")
    keep = ~np.isnan(x)
    x, t = x[keep], t[keep]
    if x.size < 2 * min_size:
        return []
    sigma = robust_sigma(x)
    if sigma == 0.0:
        return []
    z = (hampel(x, sigma, spike_sigmas) - np.median(x)) / sigma
    algo = rpt.Pelt(model="l2", min_size=min_size, jump=1).fit(z.reshape(-1, 1))
    bkps = [b for b in algo.predict(pen=penalty_factor * np.log(x.size)) if b < x.size]
    edges = [0, *bkps, x.size]
    out = []
    for i, b in enumerate(bkps):
        before = float(np.median(x[edges[i]:b]))
        after = float(np.median(x[b:edges[i + 2]]))
        out.append(ChangePoint(int(b), t[b], before, after))
    return out


def series(df: pd.DataFrame, metric: str = "ttft_ms", stat: float = 0.95,
           by: str = "run_id") -> pd.Series:
    """One value per run (default: p95 of ``metric`` over ok, non-warm-up rows), indexed by
    the run's first ``started_at``, in time order: the input ``detect`` expects."""
    d = without_warmup(df)
    d = d.loc[d["status"].astype("object") == "ok"]
    g = d.groupby(by, observed=True)
    s = pd.DataFrame({"t": g["started_at"].min(), "v": g[metric].quantile(stat)})
    return s.sort_values("t").set_index("t")["v"]


def to_frame(points: Sequence[ChangePoint]) -> pd.DataFrame:
    return pd.DataFrame([{"index": p.index, "time": p.time, "before": p.before,
                          "after": p.after, "change": p.change, "rel_change": p.rel_change}
                         for p in points],
                        columns=["index", "time", "before", "after", "change", "rel_change"])
