"""Load shapes as schedules: which requests to send, and when.

A LoadShape becomes a list of :class:`Stage` objects run one after another:

- ``concurrency``: one closed-loop stage: ``level`` workers send back to back until
  ``requests`` are sent or ``duration_s`` has passed (whichever first);
- ``rate``: one open-loop stage with arrivals every ``1/rate`` seconds;
- ``poisson``: one open-loop stage with exponential gaps of mean ``1/rate`` (seeded);
- ``sweep``: one closed-loop stage per level (``requests``/``duration_s`` per level);
  a stage starts when the previous one has drained;
- ``trace``: one open-loop stage on the trace's own arrival times (``times``), built by
  lens.workload.plan, which reads the trace file.

Open-loop offsets are seconds from the stage start; the engine turns them into
``scheduled_ms`` and counts any lag (``max_in_flight``, event-loop delay) in ``queue_ms``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lens.spec import LoadShape
from lens.workload.shard import proportional, split


@dataclass(frozen=True, slots=True)
class Stage:
    """One segment of a schedule."""

    level: int  # value of the ``concurrency`` column for its requests
    closed: bool  # True: ``level`` workers back to back; False: open-loop arrivals
    requests: int | None = None
    duration_s: float | None = None
    rate: float | None = None
    poisson: bool = False
    seed: int = 0
    shard_index: int = 0  # open loop: this shard sends arrivals i with i % count == index
    shard_count: int = 1
    times: tuple[float, ...] | None = None  # explicit arrival offsets (trace replay)

    def offsets(self) -> Iterator[float]:
        """Open-loop arrival offsets (s from stage start), bounded by requests/duration."""
        if self.times is not None:
            return iter(self.times)
        if self.closed or self.rate is None:
            raise ValueError("offsets() is only defined for open-loop stages with a rate or times")
        every = arrival_offsets(
            self.rate,
            poisson=self.poisson,
            seed=self.seed,
            requests=self.requests,
            duration_s=self.duration_s,
        )
        if self.shard_count == 1:
            return every
        return itertools.islice(every, self.shard_index, None, self.shard_count)

    def planned(self) -> int | None:
        """How many requests the stage sends, or None when only a duration bounds it."""
        if self.closed:
            return self.requests
        return sum(1 for _ in self.offsets())


def arrival_offsets(
    rate: float,
    *,
    poisson: bool = False,
    seed: int = 0,
    requests: int | None = None,
    duration_s: float | None = None,
) -> Iterator[float]:
    """Arrival times in seconds from 0: evenly ``1/rate`` apart, or Poisson (seeded).

    The first arrival is at 0. Stops after ``requests`` arrivals or before ``duration_s``.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    if requests is None and duration_s is None:
        raise ValueError("give requests, duration_s, or both")
    rng = random.Random(seed)
    t = 0.0
    i = 0
    while (requests is None or i < requests) and (duration_s is None or t < duration_s):
        yield t
        i += 1
        t = t + rng.expovariate(rate) if poisson else i / rate


def _trace(shape: LoadShape) -> list[Stage]:
    # Its arrival times are in the file: lens.workload.plan.Workload reads them (and takes a
    # shard's rows) and builds the real stage; this one only says "one open-loop stage".
    return [Stage(shape.max_in_flight, False, shape.requests)]


def _open_loop(shape: LoadShape) -> list[Stage]:
    k, n = shape.shard_index, shape.shard_count
    return [
        Stage(
            max(split(shape.max_in_flight, n)[k], 1),
            False,
            shape.requests,
            shape.duration_s,
            rate=shape.rate,
            poisson=shape.kind == "poisson",
            seed=shape.seed,
            shard_index=k,
            shard_count=n,
        )
    ]


def _closed_loop(shape: LoadShape) -> list[Stage]:
    k, n = shape.shard_index, shape.shard_count
    levels = [shape.concurrency] if shape.kind == "concurrency" else list(shape.levels or ())
    out = []
    for level in levels:
        parts = split(level, n)
        requests = shape.requests if shape.requests is None else proportional(shape.requests, parts)[k]
        if parts[k] and requests != 0:
            out.append(Stage(parts[k], True, requests, shape.duration_s))
        elif n > 1:
            out.append(Stage(1, True, 0, None))  # this shard sits the stage out
    return out


#: One entry per ``load.kind`` (the literal in lens.spec.LoadShape): the function that
#: turns a shape of that kind into this shard's stages. A new load shape is a function
#: here plus its name in the literal; tests/unit/test_registries.py checks they agree.
LOAD_SHAPES: dict[str, Callable[[LoadShape], list[Stage]]] = {
    "concurrency": _closed_loop,
    "sweep": _closed_loop,
    "rate": _open_loop,
    "poisson": _open_loop,
    "trace": _trace,
}


def stages(shape: LoadShape) -> list[Stage]:
    """The stages a LoadShape runs, in order (a shard's part of them: lens.workload.shard;
    a trace's: lens.workload.plan.Workload)."""
    return LOAD_SHAPES[shape.kind](shape)


def planned_requests(shape: LoadShape) -> int | None:
    """Total requests a shape sends (excluding warm-up), or None when duration-bound."""
    total = 0
    for st in stages(shape):
        n = st.planned()
        if n is None:
            return None
        total += n
    return total
