"""Connection pool: per-origin idle connections under one client-wide connection limit.

Policy (see the package docstring for the why):

- A slot is one open connection (being set up, carrying a request, or idle). With
  ``limit`` slots taken, a request waits (``pool_wait_start``/``pool_wait_end``); an idle
  connection of another origin is closed to make room rather than waiting for it.
- Idle connections are reused newest first. One is retired (closed, never reused) when the
  server announced ``Connection: close``, when its ``Keep-Alive: max=`` is used up, and
  before its ``Keep-Alive: timeout=`` (or the client's ``keepalive_s``) runs out.
- A connection that the server closes while idle is dropped. If that happened within
  ``hangup_window_s`` of the response's end, the origin hangs up after every response
  without saying so (llama.cpp's server does): it is marked ``close_after_each`` and its
  connections are never reused again in this client's life.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from lens.probe.http.protocol import HttpConnection

if TYPE_CHECKING:
    from lens.probe.http.client import Observer
    from lens.probe.http.proxy import ProxyInfo

__all__ = ["ClientStats", "Origin", "Pool", "retire_after"]


@dataclass(slots=True)
class ClientStats:
    """Counters of one client's life (read them any time; the engine may log them)."""

    requests: int = 0
    connections_opened: int = 0
    reused: int = 0  # requests sent on a pooled keep-alive connection
    resent: int = 0  # requests sent again after a stale pooled connection failed
    closed_by_server_idle: int = 0  # pooled connections the server closed while idle
    retired: int = 0  # pooled connections we closed before the server's keep-alive ran out
    pool_waits: int = 0  # requests that waited for a slot under the connection limit
    # "host:port" of origins that hung up right after a response without announcing it;
    # their connections are not reused any more.
    close_after_each: list[str] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Origin:
    """Where connections go: (scheme, host, port, proxy). ``label`` is ``host:port``."""

    scheme: str
    host: str
    port: int
    proxy: ProxyInfo | None
    label: str
    idle: list[HttpConnection] = field(default_factory=list)
    close_after_each: bool = False

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def retire_after(timeout_s: float) -> float:
    """How long after a response to stop reusing a connection the server keeps ``timeout_s``.

    A margin of a quarter of the timeout, at least 0.25 s and at most 1 s, covers the
    request's trip to the server and the server's clock starting before ours.
    """
    return max(0.0, timeout_s - min(1.0, max(0.25, timeout_s / 4)))


class Pool:
    """Hands out connections; created and used only by :class:`HttpClient`."""

    def __init__(
        self,
        opener: Any,
        stats: ClientStats,
        *,
        limit: int,
        force_close: bool,
        keepalive_s: float,
        hangup_window_s: float,
    ) -> None:
        self._opener = opener  # async (origin, observer, fresh_dns) -> HttpConnection
        self.stats = stats
        self.limit = limit
        self.force_close = force_close
        self.keepalive_s = keepalive_s
        self.hangup_window_s = hangup_window_s
        self._open = 0
        self._origins: list[Origin] = []
        # Waiters get what they wait for handed over: an HttpConnection of their origin,
        # or None = a slot reserved for them. Nobody can take it from under them.
        self._waiters: deque[tuple[Origin, bool, asyncio.Future[HttpConnection | None]]] = deque()
        self._closing = False

    @property
    def open_connections(self) -> int:
        return self._open

    def add_origin(self, origin: Origin) -> None:
        self._origins.append(origin)

    def _reusable(self, origin: Origin) -> bool:
        return not self.force_close and not origin.close_after_each

    # -- acquire -----------------------------------------------------------------------------
    def _take_idle(self, origin: Origin) -> HttpConnection | None:
        idle = origin.idle
        now = asyncio.get_running_loop().time()
        while idle:
            conn = idle.pop()
            if conn.lost or now >= conn.expires_at:
                self.stats.retired += not conn.lost
                self._close(conn)
                continue
            conn.state = "active"
            return conn
        return None

    def _evict_one(self) -> bool:
        """Close the oldest idle connection of any origin to free its slot."""
        best: HttpConnection | None = None
        for o in self._origins:
            if o.idle and (best is None or o.idle[0].done_at < best.done_at):
                best = o.idle[0]
        if best is None:
            return False
        best.origin.idle.remove(best)
        self._close(best, keep_slot=True)
        return True

    async def acquire(self, origin: Origin, obs: Observer, *, fresh: bool) -> tuple[HttpConnection, bool]:
        """A connection for ``origin`` and whether it is a reused one.

        ``fresh``: a new connection, never a pooled one (the re-send after a stale one).
        """
        if self._closing:
            raise RuntimeError("the HTTP client is closed")
        if not fresh and self._reusable(origin):
            conn = self._take_idle(origin)
            if conn is not None:
                obs.mark("reused", perf_counter_ns())
                return conn, True
        if self.limit and self._open >= self.limit:
            # Full: take an idle connection's slot, or wait for one to be handed over.
            if not self._evict_one():
                handed = await self._wait(origin, obs, fresh)
                if handed is not None:
                    return handed, True
        else:
            self._open += 1
        try:
            conn = await self._opener(origin, obs, self.force_close)
        except BaseException:
            self._free_slot()
            raise
        conn.hooks = self
        conn.state = "active"
        self.stats.connections_opened += 1
        return conn, False

    async def _wait(self, origin: Origin, obs: Observer, fresh: bool) -> HttpConnection | None:
        self.stats.pool_waits += 1
        obs.mark("pool_wait_start", perf_counter_ns())
        fut: asyncio.Future[HttpConnection | None] = asyncio.get_running_loop().create_future()
        entry = (origin, fresh, fut)
        self._waiters.append(entry)
        try:
            got = await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # handed over just as we were cancelled
                given = fut.result()
                if given is None:
                    self._free_slot()
                else:
                    self.on_done(given, True)
            else:
                try:
                    self._waiters.remove(entry)
                except ValueError:
                    pass
            raise
        obs.mark("pool_wait_end", perf_counter_ns())
        if got is not None:
            obs.mark("reused", perf_counter_ns())
        return got

    # -- release (ConnectionHooks) -----------------------------------------------------------
    def on_done(self, conn: HttpConnection, keep: bool) -> None:
        """A response ended; ``keep``: the server allows another request on ``conn``."""
        if conn.state == "closed":
            return
        loop = asyncio.get_running_loop()
        now = conn.done_at = loop.time()
        origin: Origin = conn.origin
        if not keep or conn.lost or not self._reusable(origin) or self._closing:
            self._close(conn)
            return
        ttl = self.keepalive_s
        if conn.ka_timeout is not None:
            ttl = min(ttl, retire_after(conn.ka_timeout))
        conn.expires_at = now + ttl
        if ttl <= 0:
            self.stats.retired += 1
            self._close(conn)
            return
        for i, (o, fresh, fut) in enumerate(self._waiters):
            if o is origin and not fresh and not fut.done():
                del self._waiters[i]
                conn.state = "active"
                fut.set_result(conn)
                return
        if self._hand_slot():
            self._close(conn, keep_slot=True)
            return
        conn.state = "idle"
        origin.idle.append(conn)

    def on_closed(self, conn: HttpConnection) -> None:
        """``conn`` is gone (closed by either side or aborted): drop it, free its slot."""
        state = conn.state
        if state == "closed":
            return
        if state == "idle":
            origin: Origin = conn.origin
            try:
                origin.idle.remove(conn)
            except ValueError:
                pass
            self.stats.closed_by_server_idle += 1
            now = asyncio.get_running_loop().time()
            if now - conn.done_at < self.hangup_window_s:
                self.note_hangup(origin)
        conn.state = "closed"
        if state != "new":
            self._free_slot()

    def note_hangup(self, origin: Origin) -> None:
        """``origin`` hung up right after a response: stop reusing its connections."""
        if origin.close_after_each:
            return
        origin.close_after_each = True
        self.stats.close_after_each.append(origin.label)
        while origin.idle:
            self._close(origin.idle.pop())

    def discard(self, conn: HttpConnection) -> None:
        """Abort ``conn`` (a cancelled or failed exchange); it is never reused."""
        conn.abort()
        self.on_closed(conn)

    # -- slots -------------------------------------------------------------------------------
    def _close(self, conn: HttpConnection, *, keep_slot: bool = False) -> None:
        conn.state = "closed"
        if conn.transport is not None:
            conn.transport.close()
        if not keep_slot:
            self._free_slot()

    def _hand_slot(self) -> bool:
        while self._waiters:
            _o, _f, fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return True
        return False

    def _free_slot(self) -> None:
        if not self._hand_slot():
            self._open -= 1

    async def close(self) -> None:
        """Close every idle connection; refuse new requests."""
        self._closing = True
        for o in self._origins:
            while o.idle:
                self._close(o.idle.pop())
        while self._waiters:
            _o, _f, fut = self._waiters.popleft()
            if not fut.done():
                fut.cancel()
