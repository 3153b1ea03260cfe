"""The socket-read clock against ground truth, over HTTP and TLS, on asyncio and uvloop.

A server on its own event loop (another thread) takes ``perf_counter_ns()`` right before
writing each event (the same host clock as the client's). An event's arrival time is the
``t_ns`` the client gave the body piece that completed it. It can never be earlier than
the write, and it is late only by the wire plus the wait for the client's loop to do the
read. When a hog keeps that loop busy in 4 ms slices, that wait is at most one slice on
uvloop (I/O callbacks run in libuv's poll phase) and two on asyncio's loop (a read found
ready runs after the callbacks already queued, i.e. after the hog's next slice). A reader
that timed events after a task wake-up (aiohttp's read loop) waits behind the hog once more.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Iterator

import pytest
from helpers_http import (
    LOOPS,
    RawServer,
    Recorder,
    Req,
    ThreadLoop,
    TLSFiles,
    chunk,
    run,
    tls_files,
)

from lens.probe.http import HttpClient

SLICE_S = 0.004
EVENTS, GAP_S, STREAMS = 20, 0.008, 4


class Truth:
    def __init__(self) -> None:
        self.writes: dict[bytes, int] = {}  # event payload -> write_start_ns

    async def handler(self, req: Req, w: asyncio.StreamWriter) -> bool:
        rid = req.headers["x-id"].encode()
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        await w.drain()
        # Jittered gaps: with a fixed gap the writes lock onto one phase of the hog's
        # slices for a whole run, so a run's errors were all ~0 or all ~one slice (and the
        # comparison below passed or failed by luck of phase, ~1 run in 8).
        gaps = random.Random(rid)
        for i in range(EVENTS):
            await asyncio.sleep(GAP_S * gaps.uniform(0.5, 1.5))
            payload = b"data: %s-%d\n\n" % (rid, i)
            self.writes[payload] = time.perf_counter_ns()
            w.write(chunk(payload))
            await w.drain()
        w.write(b"0\r\n\r\n")
        return True


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def servers(tls: TLSFiles) -> Iterator[tuple[Truth, RawServer, RawServer]]:
    truth = Truth()
    tl = ThreadLoop()
    plain = tl.call(RawServer(truth.handler).start())
    secure = tl.call(RawServer(truth.handler, ssl=tls.server_ctx).start())
    yield truth, plain, secure
    tl.call(plain.stop())
    tl.call(secure.stop())
    tl.close()


def _arrivals(rec: Recorder) -> dict[bytes, int]:
    """Each event's arrival: the t_ns of the piece that completed it."""
    out: dict[bytes, int] = {}
    buf = b""
    for data, t in rec.pieces:
        buf += data
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            out[ev + b"\n\n"] = t
    return out


class Hog:
    """Keeps the running loop busy in slices; ``longest`` is the longest slice it took."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.longest = 0.0

    async def run(self) -> None:
        while not self.done.is_set():
            t = time.perf_counter()
            time.sleep(SLICE_S)  # holds the loop, releases the GIL: the server thread runs
            self.longest = max(self.longest, time.perf_counter() - t)
            await asyncio.sleep(0)


async def _burst(url: str, client_kw: dict, tag: str, hog: Hog | None) -> list[Recorder]:

    task = asyncio.create_task(hog.run()) if hog else None
    recs = [Recorder() for _ in range(STREAMS)]
    try:
        async with HttpClient(**client_kw) as client:
            await asyncio.gather(*(
                client.request("POST", url, headers={"x-id": f"{tag}{i}"}, body=b"{}", observer=r)
                for i, r in enumerate(recs)))  # fmt: skip
    finally:
        if hog is not None and task is not None:
            hog.done.set()
            await task
    return recs


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def _errors_ms(truth: Truth, recs: list[Recorder]) -> list[float]:
    out: list[float] = []
    for rec in recs:
        got = _arrivals(rec)
        assert len(got) == EVENTS
        out.extend((t - truth.writes[payload]) / 1e6 for payload, t in got.items())
    return out


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_arrival_clock_against_server_writes(
    loop: str, scheme: str, servers: tuple[Truth, RawServer, RawServer], tls: TLSFiles
) -> None:
    truth, plain, secure = servers
    srv = secure if scheme == "https" else plain
    url = f"{scheme}://localhost:{srv.port}/stream"
    kw = {"ca_bundle": tls.ca_pem}
    quiet = _errors_ms(truth, run(loop, _burst(url, kw, f"{loop}-{scheme}-q-", None)))
    hog = Hog()
    busy = _errors_ms(truth, run(loop, _burst(url, kw, f"{loop}-{scheme}-h-", hog)))
    # never before the server wrote it: the stamp is a real clock reading, not a guess
    assert min(quiet) >= 0 and min(busy) >= 0
    # Percentiles, not the maximum: on a shared machine the OS can deschedule the whole
    # client process for tens of ms, which no client can help (seen: 68 ms, once).
    assert statistics.median(quiet) <= 1.0 and _pct(quiet, 90) <= 5.0, sorted(quiet)[-8:]
    slices = 1 if loop == "uvloop" else 2
    bound = slices * hog.longest * 1e3 + 2.0
    assert _pct(busy, 95) <= bound, (sorted(busy)[-8:], hog.longest)


@pytest.mark.parametrize("loop", LOOPS)
def test_read_time_beats_a_task_wake_up_reader(
    loop: str, servers: tuple[Truth, RawServer, RawServer]
) -> None:
    import aiohttp

    truth, plain, _ = servers

    async def aiohttp_burst(hog: Hog) -> list[Recorder]:
        recs = [Recorder() for _ in range(STREAMS)]

        async def one(i: int, rec: Recorder) -> None:
            async with session.post(f"http://localhost:{plain.port}/s", data=b"{}",
                                    headers={"x-id": f"{loop}-aio-{i}"}) as resp:
                async for data in resp.content.iter_any():
                    rec.on_body(data, time.perf_counter_ns())  # read-loop timestamp

        task = asyncio.create_task(hog.run())
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(one(i, r) for i, r in enumerate(recs)))
        finally:
            hog.done.set()
            await task
        return recs

    ours = _errors_ms(truth, run(loop, _burst(f"http://localhost:{plain.port}/s", {},
                                              f"{loop}-ours-", Hog())))
    theirs = _errors_ms(truth, run(loop, aiohttp_burst(Hog())))
    assert statistics.median(theirs) - statistics.median(ours) > SLICE_S * 1e3 / 2, (
        statistics.median(ours), statistics.median(theirs))
