"""A TCP proxy that adds a fixed one-way delay in each direction (netem-like, in user space).

The local fleet puts one in front of the target for each simulated region, so a region's
round-trip time is real on the wire: every byte from the client reaches the target
``up_ms`` after it was sent, and every byte back arrives ``down_ms`` later. Ordering is
kept per direction; the delay is added to each chunk from the moment it was read, so
streaming keeps its inter-token gaps (it does not queue delays on top of each other).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Mapping

# Round-trip times (ms) of each simulated region to the 'home' target. Illustrative values,
# loosely matching public inter-region latency tables for a target in us-east-1.
DEFAULT_RTT_MS: dict[str, float] = {
    "us-east-1": 20.0,
    "us-west-2": 70.0,
    "eu-west-1": 80.0,
    "eu-central-1": 95.0,
    "ap-south-1": 200.0,
    "ap-northeast-1": 150.0,
    "sa-east-1": 120.0,
}


def rtt_for(region: str, table: Mapping[str, float] | None = None) -> float:
    """RTT of ``region`` from ``table`` (default DEFAULT_RTT_MS); unknown regions get 50 ms."""
    return float((table or DEFAULT_RTT_MS).get(region, 50.0))


class DelayProxy:
    """Listen on 127.0.0.1 (free port) and forward to ``upstream`` with per-direction delays.

    Runs its own event loop in a thread: ``start()``/``close()``, or use as a context manager.
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, up_ms: float, down_ms: float) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.up_s = up_ms / 1000.0
        self.down_s = down_ms / 1000.0
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="delay-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_rtt(cls, upstream_host: str, upstream_port: int, rtt_ms: float) -> DelayProxy:
        return cls(upstream_host, upstream_port, up_ms=rtt_ms / 2, down_ms=rtt_ms / 2)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _on_client(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        u_writer: asyncio.StreamWriter | None = None
        try:
            u_reader, u_writer = await asyncio.open_connection(*self.upstream)
            await asyncio.gather(
                self._pipe(c_reader, u_writer, self.up_s),
                self._pipe(u_reader, c_writer, self.down_s),
            )
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            for w in (c_writer, u_writer):
                if w is not None:
                    w.close()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
        """Copy reader -> writer, each chunk released ``delay_s`` after it was read."""
        q: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            while True:
                data = await reader.read(65536)
                q.put_nowait((time.monotonic() + delay_s, data))
                if not data:
                    return

        async def write() -> None:
            while True:
                due, data = await q.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError, RuntimeError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        reader_task = asyncio.create_task(read())
        try:
            await write()
        finally:
            reader_task.cancel()
            with contextlib.suppress(BaseException):
                await reader_task
