"""Run a SimServer on its own event loop in a daemon thread, for synchronous callers."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lens.errors import ProbeError
from lens.sim.profiles import Profile
from lens.sim.server import SimServer
from lens.sim.truth import SimTruth


class SimThread:
    """A SimServer running in a background thread; same read-only API as SimServer."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="lens-sim", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ProbeError(f"simulated endpoint did not start within {timeout}s")
        if self._error is not None:
            raise ProbeError(f"simulated endpoint failed to start: {self._error}") from self._error

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def base_url(self, dialect: str, profile: str | None = None) -> str:
        return self.server.base_url(dialect, profile)

    def truth(self, request_id: str) -> SimTruth:
        return self.server.truth(request_id)

    def truths(self) -> list[SimTruth]:
        # Copy on the server's loop so the list is not mutated while we read it.
        fut = asyncio.run_coroutine_threadsafe(_call(self.server.truths), self.loop)
        return fut.result(10)

    def clear_truths(self) -> None:
        asyncio.run_coroutine_threadsafe(_call(self.server.clear_truths), self.loop).result(10)

    def clear_caches(self) -> None:
        asyncio.run_coroutine_threadsafe(_call(self.server.clear_caches), self.loop).result(10)


async def _call(fn: Any) -> Any:
    return fn()


@contextmanager
def start_sim_in_thread(
    profiles: Mapping[str, Profile | str | Mapping[str, Any]] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    max_truths: int = 100_000,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[SimThread]:
    """``with start_sim_in_thread(...) as sim: sim.url`` -- a SimServer on a daemon thread.

    ``ssl_context`` serves HTTPS (see lens.sim.tls); ``sim.url`` is then https://.
    """
    runner = SimThread(SimServer(profiles, host=host, port=port, seed=seed, max_truths=max_truths,
                                 ssl_context=ssl_context))
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
