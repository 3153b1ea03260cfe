"""Timing at the socket read vs in the read loop, under event-loop contention.

A coroutine hogs the client's event loop in 4 ms slices (as hundreds of busy streams
would). The sim runs in its own thread, so its write times (ground truth) are unaffected.
Read-loop timestamps (aiohttp's StreamReader, a task woken per read: what the engine did
before lens.probe.http) lag by a whole extra slice; the engine's socket-read timestamps
(taken first thing in ``data_received``) do not.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp
import pytest

from lens.probe.dialects import get_dialect
from lens.probe.engine import run_burst
from lens.record import BurstResult
from lens.sim import SimThread, start_sim_in_thread
from lens.spec import spec_from_dict

PROFILE = {"ttft_ms": 20, "itl_ms": 15, "itl_jitter": 0, "output_tokens": 12}


def _spec(base_url: str) -> Any:
    return spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": base_url, "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 12,
        "load": {"requests": 12, "concurrency": 4},
    })  # fmt: skip


async def _read_loop_burst(base_url: str) -> list[tuple[str, int, list[int]]]:
    """The same requests read the old way: one timestamp per read, taken in the read loop.

    Returns (server request id, request start ns, event arrival ns) per request.
    """
    spec = _spec(base_url)
    target = spec.targets[0]
    dialect = get_dialect(target.resolved_dialect)
    out: list[tuple[str, int, list[int]]] = []

    async def one(session: aiohttp.ClientSession) -> None:
        req = dialect.build_request(target, "x " * 16, max_tokens=12, temperature=None, api_key=None)
        framer = dialect.new_framer()
        t0 = time.perf_counter_ns()
        async with session.post(req.url, headers=req.headers, data=req.body) as resp:
            times: list[int] = []
            async for data in resp.content.iter_any():
                events = framer.feed(data)
                now = time.perf_counter_ns()
                times += [now] * len(events)
            out.append((resp.headers.get("x-request-id", ""), t0, times))

    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            await asyncio.gather(*(one(session) for _ in range(4)))
    return out


async def _under_contention(work: Any) -> Any:
    done = asyncio.Event()

    async def hog() -> None:
        while not done.is_set():
            time.sleep(0.004)  # holds the loop (releases the GIL, so the sim thread runs)
            await asyncio.sleep(0)

    task = asyncio.create_task(hog())
    try:
        return await work
    finally:
        done.set()
        await task


def _loop_errors_ms(sim: SimThread, rows: list[tuple[str, int, list[int]]]) -> list[float]:
    out: list[float] = []
    for rid, t0, times in rows:
        truth = sim.truth(rid)
        # the last event the framer returns may be the terminal one; pair from the start
        for t, e in zip(times, truth.events, strict=False):
            out.append((t - t0) / 1e6 - (e.write_start_ns - t0) / 1e6)
    return out


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
def test_socket_read_timestamps_beat_read_loop_timestamps() -> None:
    with start_sim_in_thread({"p": PROFILE}) as sim:
        url = sim.base_url("openai_compat", "p")
        timed = asyncio.run(_under_contention(run_burst(_spec(url))))
        loop_read = asyncio.run(_under_contention(_read_loop_burst(url)))
        timed_err, loop_err = _errors_ms(sim, timed), _loop_errors_ms(sim, loop_read)
    assert min(timed_err) >= 0 and min(loop_err) >= 0  # never before the server wrote it
    # the read loop waits behind the hog once more before it can take its timestamp
    assert statistics.median(loop_err) - statistics.median(timed_err) > 2.0, (
        statistics.median(timed_err), statistics.median(loop_err))
