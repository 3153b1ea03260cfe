"""Timing at the socket read vs in the read loop, under event-loop contention.

A coroutine hogs the client's event loop in 4 ms slices (as hundreds of busy streams
would). The sim runs in its own thread, so its write times (ground truth) are unaffected.
Read-loop timestamps then lag by a whole extra slice; socket-read timestamps do not.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from lens.probe import read_clock
from lens.probe.engine import run_burst
from lens.record import BurstResult
from lens.sim import SimThread, start_sim_in_thread
from lens.spec import spec_from_dict

PROFILE = {"ttft_ms": 20, "itl_ms": 15, "itl_jitter": 0, "output_tokens": 12}


async def _burst_under_contention(base_url: str) -> BurstResult:
    spec = spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": base_url, "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 12,
        "load": {"requests": 12, "concurrency": 4},
    })  # fmt: skip
    done = asyncio.Event()

    async def hog() -> None:
        while not done.is_set():
            time.sleep(0.004)  # holds the loop (releases the GIL, so the sim thread runs)
            await asyncio.sleep(0)

    task = asyncio.create_task(hog())
    try:
        res = await run_burst(spec)
    finally:
        done.set()
        await task
    return res


def _errors_ms(sim: SimThread, res: BurstResult) -> list[float]:
    out: list[float] = []
    for r in res.records:
        assert r.status == "ok", r.error
        truth = sim.truth(r.server_request_id or "")
        origin = res.origins_ns[r.request_id]
        chunks = [c for c in res.chunks if c.request_id == r.request_id]
        assert len(chunks) == len(truth.events)
        for c, e in zip(chunks, truth.events, strict=True):
            out.append(c.t_ms - (e.write_start_ns - origin) / 1e6)
    return out


@pytest.mark.slow
def test_socket_read_timestamps_beat_read_loop_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_sim_in_thread({"p": PROFILE}) as sim:
        url = sim.base_url("openai_compat", "p")
        timed = asyncio.run(_burst_under_contention(url))
        monkeypatch.setattr(read_clock, "ENABLED", False)
        loop_read = asyncio.run(_burst_under_contention(url))
        timed_err, loop_err = _errors_ms(sim, timed), _errors_ms(sim, loop_read)
    assert min(timed_err) >= 0 and min(loop_err) >= 0  # never before the server wrote it
    # the read loop waits behind the hog once more before it can take its timestamp
    assert statistics.median(loop_err) - statistics.median(timed_err) > 2.0, (
        statistics.median(timed_err), statistics.median(loop_err))
