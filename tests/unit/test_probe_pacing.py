"""Pacing: open-loop send times to the sub-millisecond, stop-aware; GC frozen per burst."""

from __future__ import annotations

import asyncio
import gc
import statistics
from time import perf_counter_ns

from lens.probe.pacing import gc_frozen, sleep_until


async def test_sleep_until_is_not_late_by_the_timer_granularity() -> None:
    late = []
    for _ in range(40):
        due = perf_counter_ns() + 3_000_000
        await sleep_until(due, asyncio.sleep, lambda: False)
        late.append((perf_counter_ns() - due) / 1e6)
    assert min(late) >= 0
    # Plain asyncio.sleep wakes up to 1 ms late (whole-millisecond epoll timeouts); the
    # median here must be well under that.
    assert statistics.median(late) < 0.3, late


async def test_other_tasks_run_while_waiting_and_stop_ends_the_wait() -> None:
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await sleep_until(perf_counter_ns() + 2_000_000, asyncio.sleep, lambda: False)
    assert ticks > 10  # the last stretch yields instead of blocking the loop
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    begun = perf_counter_ns()

    async def nap(delay: float) -> None:
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass

    await sleep_until(perf_counter_ns() + 5_000_000_000, nap, stop.is_set)
    assert (perf_counter_ns() - begun) / 1e6 < 1000
    task.cancel()


def test_gc_frozen_nests_and_unfreezes() -> None:
    base = gc.get_freeze_count()
    assert base == 0
    with gc_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_frozen():
            assert gc.get_freeze_count() >= frozen
        assert gc.get_freeze_count() >= frozen  # the outer burst keeps its freeze
    assert gc.get_freeze_count() == 0
