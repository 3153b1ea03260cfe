"""Capacity search rules: which load level to fire next, and what the answer is.

The question: the highest concurrency (or request rate) at which SLO attainment stays at
or above a target (e.g. 95%). lens.burst.capacity fires the levels this module picks;
everything here is pure (request rows in, decisions out), so it is tested without firing.

1. **Sweep** the grid upwards (``SearchSpec.grid``). A level *passes* when its attainment
   (lens.analysis.slo) is >= the target.
2. Stop the sweep at the first level that fails, then **bisect** between the last passing
   level ``lo`` and it (``hi``): concurrency at ``floor((lo + hi) / 2)``, rate at the
   geometric mean, until ``hi - lo <= resolution`` (concurrency) or
   ``hi / lo - 1 <= resolution`` (rate). The answer is ``lo``.
3. Stop the sweep early at a **saturated** level that still passes: compared with the
   previous sweep level, throughput (successful requests/s) grew by less than
   ``min_throughput_gain`` while the p50 wait for the first token (``queue_ms +
   ttft_ms``) grew by more than ``min_wait_growth``. More load then only adds queueing;
   the answer is that level, marked as a lower bound.
4. A level that misses by no more requests than it holds in flight (concurrency: the
   level; rate: rate x p50 e2e), while its p50 wait grew by no more than
   ``min_wait_growth`` over the last passing level's, is **confirmed**: fired once more,
   and the repeat decides (``SearchSpec.confirm``). One stall of the client or the server
   makes every request in flight miss at once, so such a miss may be one moment, not the
   load. More misses, or a grown queue, decide at once; a small miss with no passing level
   to compare with is confirmed too (a hiccup at the first level would end the search).
5. Other stops: the first level fails (no answer), the grid passes to its end (the last
   level, a lower bound), ``max_levels`` fired, or the user stopped the search.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.slo import attainment_of, wall_seconds
from lens.record.frames import without_warmup
from lens.spec.search import SearchSpec
from lens.spec.slo import Objective

STOP_REASONS: dict[str, str] = {
    "bracketed": "bisected down to the resolution between a passing and a failing level",
    "saturated": "throughput stopped growing while the wait for the first token grew",
    "lowest_fails": "the lowest level already misses the attainment target",
    "grid_exhausted": "every level of the grid met the target (the answer is a lower bound)",
    "max_levels": "the level budget (max_levels) was spent",
    "stopped": "the search was stopped",
}


@dataclass(slots=True)
class LevelResult:
    """What one fired level measured (times in ms, rates per second of wall time)."""

    level: float
    phase: str  # sweep | bisect | confirm (a repeat that decides) | stopped (decides nothing)
    run_id: str | None = None
    fired: int = 0  # requests sent, warm-up included
    n: int = 0
    met: int = 0
    attainment: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    error_rate: float = float("nan")
    wall_s: float = float("nan")
    throughput_rps: float = float("nan")
    output_tok_s: float = float("nan")
    goodput_rps: float = float("nan")
    goodput_tok_s: float = float("nan")
    ttft_p50: float = float("nan")
    ttft_p95: float = float("nan")
    wait_p50: float = float("nan")
    e2e_p50: float = float("nan")
    passed: bool = False
    saturated: bool = False
    retried: bool = False  # a miss that a repeat of the level decided instead (rule 4)

    @property
    def verdict(self) -> str:
        """``meets`` / ``misses`` the target, ``, saturated`` (rule 3), ``, retried`` (4)."""
        return ("meets" if self.passed else "misses") + (", saturated" if self.saturated else
                                                         "") + (", retried" if self.retried else "")


def _pct(x: pd.Series, q: float) -> float:
    a = pd.to_numeric(x, errors="coerce").dropna().to_numpy(dtype="float64")
    return float(np.quantile(a, q)) if a.size else float("nan")


def measure_level(df: pd.DataFrame, level: float, objectives: list[Objective], target: float,
                  *, phase: str = "sweep", run_id: str | None = None) -> LevelResult:
    """A LevelResult from one level's request rows."""
    a = attainment_of(df, objectives)
    d = without_warmup(df)
    ok = d.loc[d["status"].astype("object") == "ok"]
    r = LevelResult(level=float(level), phase=phase, run_id=run_id, fired=len(df), n=a.n,
                    met=a.met, attainment=a.attainment, ci_low=a.ci_low, ci_high=a.ci_high,
                    goodput_rps=a.goodput_rps, goodput_tok_s=a.goodput_tok_s)
    r.error_rate = 1 - len(ok) / len(d) if len(d) else float("nan")
    r.wall_s = wall_seconds(d) if len(d) else float("nan")
    if r.wall_s > 0:
        r.throughput_rps = len(ok) / r.wall_s
        r.output_tok_s = float(pd.to_numeric(ok["output_tokens"], errors="coerce").sum()) / r.wall_s
    r.ttft_p50, r.ttft_p95 = _pct(ok["ttft_ms"], 0.5), _pct(ok["ttft_ms"], 0.95)
    r.wait_p50 = _pct(ok["queue_ms"].astype("float64") + ok["ttft_ms"].astype("float64"), 0.5)
    r.e2e_p50 = _pct(ok["e2e_ms"], 0.5)
    r.passed = bool(a.n) and a.attainment >= target
    return r


def is_saturated(prev: LevelResult, cur: LevelResult, search: SearchSpec) -> bool:
    """Rule 3 of the module docstring (False when a figure is missing)."""
    rule = search.saturation
    figures = (prev.throughput_rps, cur.throughput_rps, prev.wait_p50, cur.wait_p50)
    if any(math.isnan(v) for v in figures) or cur.level <= prev.level:
        return False
    flat = cur.throughput_rps < prev.throughput_rps * (1 + rule.min_throughput_gain)
    waits = cur.wait_p50 > prev.wait_p50 * (1 + rule.min_wait_growth)
    return flat and waits


@dataclass
class Search:
    """The search's state: call :meth:`next_level`, fire it, :meth:`record` the result."""

    search: SearchSpec
    target: float = 0.95
    results: list[LevelResult] = field(default_factory=list)
    stop_reason: str | None = None
    lo: float | None = None  # highest level known to pass
    hi: float | None = None  # lowest level known to fail
    _i: int = 0
    _retry: LevelResult | None = None  # a miss waiting for its confirmation
    _passed: LevelResult | None = None  # the result that set ``lo``
    _last_sweep: LevelResult | None = None  # the deciding result of the last sweep level

    @property
    def phase(self) -> str:
        return "bisect" if self.hi is not None and self.lo is not None else "sweep"

    @property
    def confirming(self) -> bool:
        """True when the next level is a repeat of a doubtful miss (rule 4)."""
        return self._retry is not None

    def _narrow(self) -> bool:
        assert self.lo is not None and self.hi is not None
        if self.search.mode == "concurrency":
            return self.hi - self.lo <= max(self.search.step, 1)
        return self.hi / self.lo - 1 <= self.search.step

    def next_level(self) -> float | None:
        """The next level to fire, or None when the search is over (``stop_reason``)."""
        if self.stop_reason is not None:
            return None
        if len(self.results) >= self.search.max_levels:
            self.stop_reason = "max_levels"
            return None
        if self._retry is not None:
            return self._retry.level
        if self.phase == "sweep":
            grid = self.search.grid
            if self._i >= len(grid):
                self.stop_reason = "grid_exhausted"
                return None
            return grid[self._i]
        assert self.lo is not None and self.hi is not None
        if self._narrow():
            self.stop_reason = "bracketed"
            return None
        if self.search.mode == "concurrency":
            return float(math.floor((self.lo + self.hi) / 2))
        return float(f"{math.sqrt(self.lo * self.hi):.3g}")

    def record(self, r: LevelResult) -> None:
        """Take one level's result and update the bracket (rules 1-5)."""
        phase = self.phase
        r.phase = "confirm" if self._retry is not None else phase
        self.results.append(r)
        if phase == "sweep":
            prev = self._last_sweep
            r.saturated = prev is not None and is_saturated(prev, r, self.search)
        if self._retry is not None:
            self._retry = None
        elif not r.passed and self._doubtful(r):
            r.retried, self._retry = True, r
            return
        if phase == "bisect":
            self._set_bound(r)
            return
        self._i += 1
        self._last_sweep = r
        if not r.passed and self.lo is None:
            self.stop_reason = "lowest_fails"
        self._set_bound(r)
        if r.passed and r.saturated:
            self.stop_reason = "saturated"

    def _set_bound(self, r: LevelResult) -> None:
        if r.passed:
            self.lo, self._passed = r.level, r
        else:
            self.hi = r.level

    def _doubtful(self, r: LevelResult) -> bool:
        """Rule 4: a miss of at most one wave, without a grown queue, is repeated."""
        if not self.search.confirm:
            return False
        in_flight = r.level if self.search.mode == "concurrency" else \
            r.level * (0.0 if math.isnan(r.e2e_p50) else r.e2e_p50) / 1000
        if r.n - r.met > max(1.0, in_flight):
            return False
        ref = self._passed
        if ref is None or math.isnan(ref.wait_p50) or math.isnan(r.wait_p50):
            return True
        return r.wait_p50 <= ref.wait_p50 * (1 + self.search.saturation.min_wait_growth)

    def stop(self, partial: LevelResult | None = None) -> None:
        """End the search (the user stopped it). ``partial``, the level that was cut short,
        is kept as evidence (phase ``stopped``) but decides nothing."""
        self.stop_reason = "stopped"
        if partial is not None:
            partial.phase = "stopped"
            self.results.append(partial)

    @property
    def answer(self) -> float | None:
        return self.lo


@dataclass
class CapacityResult:
    """The answer with its evidence: every fired level, why the search stopped, the knee."""

    mode: str
    target: float
    objectives: list[str]
    results: list[LevelResult]
    answer: float | None
    stop_reason: str
    search_id: str = ""
    target_name: str = ""
    wall_s: float = float("nan")

    @property
    def requests(self) -> int:
        """Requests fired in all (warm-up included)."""
        return sum(r.fired for r in self.results)

    @property
    def lower_bound(self) -> bool:
        """True when higher levels were not tried (saturated, grid end, budget, stop)."""
        return self.stop_reason not in ("bracketed", "lowest_fails")

    def frame(self) -> pd.DataFrame:
        """One row per fired level, in firing order."""
        return pd.DataFrame([asdict(r) for r in self.results])

    @property
    def knee(self) -> float | None:
        """The level where p95 TTFT starts to climb (lens.analysis.charts.knee.find_knee)."""
        from lens.analysis.charts.knee import find_knee

        f = self.frame()
        if len(f) < 3:
            return None
        f = f[~f["retried"] & (f["phase"] != "stopped")]  # only the measurements that decided
        f = f.dropna(subset=["ttft_p95"]).sort_values("level")
        return find_knee(f["level"].to_numpy(), f["ttft_p95"].to_numpy())

    def explain(self) -> str:
        """One paragraph in plain words."""
        unit = "concurrency" if self.mode == "concurrency" else "req/s"
        slos = " and ".join(self.objectives)
        head = (f"no level met {self.target:.0%} attainment of {slos}" if self.answer is None
                else f"highest {unit} meeting {self.target:.0%} attainment of {slos}: "
                f"{self.answer:g}" + (" (at least)" if self.lower_bound else ""))
        return (f"{head}. Stopped: {STOP_REASONS.get(self.stop_reason, self.stop_reason)}; "
                f"{len(self.results)} levels, {self.requests} requests"
                + (f", {self.wall_s:.1f} s." if not math.isnan(self.wall_s) else "."))

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and math.isnan(v) else v

        return {"mode": self.mode, "target": self.target, "objectives": self.objectives,
                "answer": self.answer, "lower_bound": self.lower_bound,
                "stop_reason": self.stop_reason, "search_id": self.search_id,
                "target_name": self.target_name, "requests": self.requests,
                "wall_s": clean(self.wall_s), "knee": self.knee,
                "levels": [{k: clean(v) for k, v in asdict(r).items()} for r in self.results]}

    def chart(self) -> Any:
        """The throughput-latency curve with the knee and the answer marked."""
        from lens.analysis.charts.capacity import capacity_chart

        return capacity_chart(self)
