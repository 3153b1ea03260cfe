"""Client CPU per stream event: lens.probe.http vs aiohttp's StreamReader path (uvloop).

    python -m bench.http_client                      # 64, 256, 1024 streams
    python -m bench.http_client --streams 1024 --variants lens --rounds 3

An SSE server runs in ANOTHER process (pinned to core 1 on a 2-core machine, the client to
core 0): raw asyncio on uvloop, chunked, one ~150-byte OpenAI-style event per chunk every
``--gap-ms`` per stream, driven by one ticker so the server stays cheap. Each variant first
opens its ``streams`` connections with a one-event request (not measured), then times a
round of ``streams`` concurrent streams on those warm connections: client CPU (process
time) / events received. The consumer does the same trivial work in every variant (it
counts event separators), so the figures are the HTTP client's own cost.

Variants: ``lens`` (HttpClient + an observer), ``aiohttp`` (``resp.content.iter_any()``),
``aiohttp+arrivals`` (what lens/probe/engine.py does today: aiohttp with the socket-read
clock of lens.probe.arrivals). Figures depend on the machine and its load: provisional.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from typing import Any

EVENT = (
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,'
    b'"model":"bench","choices":[{"index":0,"delta":{"content":" token"},"finish_reason":null}]}\n\n'
)


def _pin(core: int) -> bool:
    if core >= 0 and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        try:
            os.sched_setaffinity(0, {core})
            return True
        except OSError:
            return False
    return False


# -- the server (another process) ----------------------------------------------------------
class _Stream(asyncio.Protocol):
    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, _, rest = self.buf.partition(b"\r\n\r\n")
            length = 0
            events = 1
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"x-events":
                    events = int(value)
            if len(rest) < length:
                return
            self.buf = rest[length:]
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            self.server.add(self, events)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


class _Server:
    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.active: list[list[Any]] = []  # [stream, events left, due time]
        self.chunk = f"{len(EVENT):x}\r\n".encode() + EVENT + b"\r\n"

    def add(self, stream: _Stream, events: int) -> None:
        loop = asyncio.get_running_loop()
        self.active.append([stream, events, loop.time() + self.gap_s])

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.002)
            now = loop.time()
            keep = []
            for item in self.active:
                stream, left, due = item
                tr = stream.transport
                if tr is None:
                    continue
                if due <= now:
                    left -= 1
                    tr.write(self.chunk + b"0\r\n\r\n" if left == 0 else self.chunk)
                    item[1], item[2] = left, due + self.gap_s
                if left > 0:
                    keep.append(item)
            self.active = keep


def _server_process(conn: Any, core: int, gap_s: float) -> None:
    _pin(core)

    async def main() -> None:
        srv = _Server(gap_s)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Stream(srv), "127.0.0.1", 0, backlog=4096)
        conn.send(server.sockets[0].getsockname()[1])
        ticker = asyncio.create_task(srv.tick())
        await loop.run_in_executor(None, conn.recv)
        ticker.cancel()
        server.close()

    import uvloop

    uvloop.run(main())


# -- the clients ---------------------------------------------------------------------------
class _Count:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def mark(self, phase: str, t_ns: int) -> None:
        pass

    def on_head(self, status: int, reason: str, headers: Any, t_ns: int) -> None:
        pass

    def on_body(self, data: bytes, t_ns: int) -> None:
        self.n += data.count(b"\n\n")


async def _lens_round(
    url: str, streams: int, events: int, rounds: int
) -> tuple[int, float, float]:
    from lens.probe.http import HttpClient

    async with HttpClient(limit=streams) as client:
        async def one(n_events: int) -> int:
            obs = _Count()
            await client.request("POST", url, headers={"x-events": str(n_events)}, body=b"{}",
                                 observer=obs)
            return obs.n

        await asyncio.gather(*(one(1) for _ in range(streams)))  # open the connections
        cpu0 = os.times()
        total = 0
        for _ in range(rounds):
            total += sum(await asyncio.gather(*(one(events) for _ in range(streams))))
        cpu1 = os.times()
        return total, cpu1.user - cpu0.user, cpu1.system - cpu0.system


async def _aiohttp_round(
    url: str, streams: int, events: int, rounds: int, timed: bool
) -> tuple[int, float, float]:
    import aiohttp

    from lens.probe import arrivals

    conn = aiohttp.TCPConnector(limit=streams)
    if timed:
        arrivals.install(conn)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def one(n_events: int) -> int:
            n = 0
            async with session.post(url, data=b"{}", headers={"x-events": str(n_events)}) as resp:
                clock = arrivals.watch(resp)[0] if timed else None
                async for data in resp.content.iter_any():
                    if clock is None:
                        n += data.count(b"\n\n")
                    else:
                        for piece, _t in clock.split(data):
                            n += piece.count(b"\n\n")
                if clock is not None:
                    clock.close()
            return n

        await asyncio.gather(*(one(1) for _ in range(streams)))
        cpu0 = os.times()
        total = 0
        for _ in range(rounds):
            total += sum(await asyncio.gather(*(one(events) for _ in range(streams))))
        cpu1 = os.times()
        return total, cpu1.user - cpu0.user, cpu1.system - cpu0.system


def measure(variant: str, url: str, streams: int, events: int, rounds: int) -> dict[str, Any]:
    """One variant at one level: events received and client CPU microseconds per event."""
    import uvloop

    if variant == "lens":
        coro = _lens_round(url, streams, events, rounds)
    else:
        coro = _aiohttp_round(url, streams, events, rounds, variant == "aiohttp+arrivals")
    wall0 = time.perf_counter()
    n, user, system = uvloop.run(coro)
    expected = streams * events * rounds
    cpu = user + system
    return {"variant": variant, "streams": streams, "events": n, "expected": expected,
            "wall_s": time.perf_counter() - wall0, "cpu_s": cpu, "us_per_event": cpu / n * 1e6,
            "user_us": user / n * 1e6, "sys_us": system / n * 1e6}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.http_client",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", default="64,256,1024")
    ap.add_argument("--variants", default="lens,aiohttp,aiohttp+arrivals")
    ap.add_argument("--events", type=int, default=40, help="events per stream")
    ap.add_argument("--gap-ms", type=float, default=50.0, help="gap between a stream's events")
    ap.add_argument("--rounds", type=int, default=1, help="measured rounds per level")
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args(argv)
    pinned = False if args.no_pin else _pin(0)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_server_process, args=(child, -1 if args.no_pin else 1,
                                                     args.gap_ms / 1000), daemon=True)
    proc.start()
    if not parent.poll(30):
        proc.terminate()
        raise RuntimeError("SSE server process did not start")
    url = f"http://127.0.0.1:{parent.recv()}/v1/chat/completions"
    print(f"# server in pid {proc.pid}; client pinned to core 0: {pinned}; cores: {os.cpu_count()}; "
          f"{args.events} events/stream every {args.gap_ms:g} ms; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'variant':18} {'streams':>7} {'events':>8} {'wall s':>7} {'cpu s':>7} "
          f"{'cpu us/event':>12} {'user':>6} {'sys':>6}")
    try:
        for level in (int(x) for x in args.streams.split(",")):
            for variant in args.variants.split(","):
                r = measure(variant, url, level, args.events, args.rounds)
                lost = "" if r["events"] == r["expected"] else f"  (expected {r['expected']})"
                print(f"{variant:18} {level:7d} {r['events']:8d} {r['wall_s']:7.2f} "
                      f"{r['cpu_s']:7.2f} {r['us_per_event']:12.2f} {r['user_us']:6.2f} "
                      f"{r['sys_us']:6.2f}{lost}", flush=True)
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
