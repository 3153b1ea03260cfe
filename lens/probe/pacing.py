"""Keeping the client's own clock out of the measurements: precise send times, no long
garbage-collector pauses during a burst.

- :func:`sleep_until`: the event loop's timers wake up to 1 ms late (epoll, and libuv under
  uvloop, take whole milliseconds and round up), so an open-loop send would drift behind
  its schedule by up to 1 ms at every arrival. It sleeps until shortly before the send
  time, then yields to other tasks (``sleep(0)``: streams keep being read) until it comes.
  The engine builds each open-loop request ``LEAD_NS`` ahead of its send time and lets it
  wait there, so neither its own building nor that of a simultaneous arrival delays it.
- :func:`gc_frozen`: a full collection of the cyclic garbage collector walks every
  tracked object (tens of ms in a process that has imported pandas and pydantic), and
  while it runs no stream is read and no request sent. Objects alive when the burst starts
  are moved out of the collector's reach for its duration (``gc.freeze``) and handed back
  at the end (``gc.unfreeze``); nested bursts keep the freeze until the last one ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterator
from time import perf_counter_ns

SPIN_NS = 1_500_000  # the last 1.5 ms before a send time are yielded away, not slept
LEAD_NS = 5_000_000  # open-loop requests are built this long before their send time
_frozen = [0]


async def sleep_until(
    due_ns: int, sleep: Callable[[float], Awaitable[None]], stopped: Callable[[], bool]
) -> None:
    """Return at ``due_ns`` (perf_counter_ns), or as soon as ``stopped()``; ``sleep`` is the
    coarse (stop-aware) sleep."""
    while not stopped():
        left = due_ns - perf_counter_ns()
        if left <= 0:
            return
        if left > SPIN_NS:
            await sleep((left - SPIN_NS) / 1e9)
        else:
            await asyncio.sleep(0)


@contextlib.contextmanager
def gc_frozen() -> Iterator[None]:
    """Objects alive now are not scanned by the cyclic GC until the block ends."""
    if _frozen[0] == 0:
        gc.freeze()
    _frozen[0] += 1
    try:
        yield
    finally:
        _frozen[0] -= 1
        if _frozen[0] == 0:
            gc.unfreeze()
