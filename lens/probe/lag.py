"""Is the client keeping up? The engine watches its own event loop while a burst runs.

A probe timer asks to run every millisecond; how late it runs is the loop's lag: time
the loop spent on other work (parsing hundreds of streams, a GC pause) or not running at
all (the OS gave the core to another process). Every socket read that arrived in that time
waited too, so every event timed in it is late by up to that much. The lag is kept per
5 ms bucket of the burst, so each record gets the worst lag seen while its stream was open
(``client_lag_ms``), and per run as a distribution, with the client's CPU use.

A run is **client-saturated** when the loop was late by more than ``SATURATED_MS`` (5 ms)
for more than 1% of the burst: the 99th percentile of the probe's lag, where a tick L ms late
also counts the ticks it kept from running (L-1, L-2, ... ms), so percentiles are shares of
time, not of ticks. Saturation is
systematic; a lone hiccup (one GC pause, one descheduling by a busy OS) moves a stream's
worst lag but not the run's p99. Where only rows are known (files, imports, fleet merges),
the fallback is the median request's worst lag above ``ROWS_SATURATED_MS`` (50 ms): that
only a saturated client reaches. :func:`saturated` and :func:`saturated_rows` hold the
rules so every reader (``lens run``, ``lens show``, the report, the gate, notebooks)
applies the same ones. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from time import perf_counter_ns

__all__ = ["ROWS_SATURATED_MS", "SATURATED_MS", "LagMonitor", "LagSummary", "saturated",
           "saturated_rows"]

# The run's p99 loop lag above this flags it: the timing error lens promises to stay within
# (chunk timing error p99 <= 5 ms, docs/benchmarks.md); lags below it are scheduler noise a
# shared machine always has, which would make every CI runner's gate refuse.
SATURATED_MS = 5.0
ROWS_SATURATED_MS = 50.0  # without the run's probe: the median request's worst lag
_INTERVAL_NS = 1_000_000  # the probe asks to run every 1 ms
_BUCKET_NS = 5_000_000  # per-request lookups at 5 ms resolution
# Histogram of probe lags for run percentiles: 0.05 ms steps to 10 ms, then log-spaced.
_EDGES = [i * 0.05 for i in range(201)] + [10 * 1.05**k for k in range(1, 160)]


@dataclass(frozen=True)
class LagSummary:
    """A run's client health: probe lag percentiles (ms) and CPU use of one core (0-1+)."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    samples: int
    cpu: float  # process CPU seconds / wall seconds while the burst ran
    # The loop thread's time runnable but waiting for a CPU (the OS run queue) / wall
    # seconds: other processes holding the cores. None where the OS does not say (Linux's
    # /proc/thread-self/schedstat does).
    cpu_wait: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {"lag_p50_ms": round(self.p50_ms, 3), "lag_p99_ms": round(self.p99_ms, 3),
               "lag_max_ms": round(self.max_ms, 3), "lag_samples": self.samples,
               "cpu": round(self.cpu, 3)}
        if self.cpu_wait is not None:
            out["cpu_wait"] = round(self.cpu_wait, 3)
        return out


class LagMonitor:
    """Samples the running loop's lag until :meth:`stop`; cheap (about 1000 callbacks/s)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._t0 = 0
        self._due = 0
        self._buckets = array("d")
        self._hist = [0] * (len(_EDGES) + 1)
        self._max = 0.0
        self._n = 0
        self._cpu0 = 0.0
        self._wall0 = 0.0
        self._cpu = 0.0
        self._wait0: int | None = None
        self._wait: float | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = perf_counter_ns()
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._wait0 = _run_queue_ns()
        self._arm()

    def stop(self) -> LagSummary:
        """Stop sampling (on the loop's thread, like :meth:`start`) and summarise."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        wall = time.perf_counter() - self._wall0
        self._cpu = (time.process_time() - self._cpu0) / wall if wall > 0 else 0.0
        wait = _run_queue_ns()
        if wait is not None and self._wait0 is not None and wall > 0:
            self._wait = max(wait - self._wait0, 0) / 1e9 / wall
        return self.summary()

    def _arm(self) -> None:
        assert self._loop is not None
        self._due = perf_counter_ns() + _INTERVAL_NS
        self._handle = self._loop.call_later(_INTERVAL_NS / 1e9, self._tick)

    def _tick(self) -> None:
        now = perf_counter_ns()
        lag_ns = now - self._due
        lag = lag_ns / 1e6 if lag_ns > 0 else 0.0
        # The loop was busy from when the probe was due until now: every stream open in
        # that span may have waited that long.
        first = (self._due - self._t0) // _BUCKET_NS
        last = (now - self._t0) // _BUCKET_NS
        b = self._buckets
        if len(b) <= last:
            b.extend([0.0] * (last + 1 - len(b)))
        for i in range(max(first, 0), last + 1):
            if b[i] < lag:
                b[i] = lag
        self._hist[_bin(lag)] += 1
        self._n += 1
        # A tick L ms late stands for the ticks that could not run meanwhile, each due 1 ms
        # later and so L-1, L-2, ... ms late (coordinated omission, as HdrHistogram's
        # recordValueWithExpectedInterval): the percentiles are then shares of the burst's
        # time, so "late for over 1% of the burst" means what it says.
        missed = lag - _INTERVAL_NS / 1e6
        while missed > 0:
            self._hist[_bin(missed)] += 1
            self._n += 1
            missed -= _INTERVAL_NS / 1e6
        if lag > self._max:
            self._max = lag
        self._arm()

    def max_between(self, start_ns: int, end_ns: int) -> float:
        """The worst lag (ms) seen between two ``perf_counter_ns`` times of this burst."""
        b = self._buckets
        i = max((start_ns - self._t0) // _BUCKET_NS, 0)
        j = min((end_ns - self._t0) // _BUCKET_NS, len(b) - 1)
        return max(b[i : j + 1]) if j >= i else 0.0

    def summary(self) -> LagSummary:
        return LagSummary(_quantile(self._hist, self._n, 0.5), _quantile(self._hist, self._n, 0.99),
                          self._max, self._n, self._cpu, self._wait)


def _run_queue_ns() -> int | None:
    """Nanoseconds this thread has spent runnable but not running (Linux schedstat)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _bin(lag_ms: float) -> int:
    if lag_ms < 10.0:
        return int(lag_ms / 0.05)
    return min(200 + int(math.log(lag_ms / 10.0, 1.05)), len(_EDGES))


def _quantile(hist: list[int], n: int, q: float) -> float:
    """Upper edge of the histogram bin holding quantile ``q`` (conservative)."""
    if n == 0:
        return 0.0
    rank = q * (n - 1)
    seen = 0
    for i, count in enumerate(hist):
        seen += count
        if seen > rank:
            return _EDGES[min(i + 1, len(_EDGES) - 1)]
    return _EDGES[-1]


def saturated(summary: dict[str, float] | None) -> bool | None:
    """Whether a run's client was saturated, from its probe summary (``LagSummary.as_dict``);
    None when the run has none."""
    if not summary or "lag_p99_ms" not in summary:
        return None
    return float(summary["lag_p99_ms"]) > SATURATED_MS


def saturated_rows(client_lag_ms: Iterable[float | None]) -> tuple[bool, float | None]:
    """(flagged, median per-request worst lag in ms) from rows alone.

    (False, None) when no request carries a lag (imported results, older lens versions):
    nothing is known, so nothing is claimed.
    """
    vals = sorted(float(v) for v in client_lag_ms if v is not None and v == v)
    if not vals:
        return False, None
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    return median > ROWS_SATURATED_MS, median
