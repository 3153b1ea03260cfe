"""Connection bookkeeping and connection habits (lens.sim.habits.Conn) on aiohttp.web.

Each request is tagged with its connection (``conn_id``: the client's address and port)
and its number on that connection (``conn_seq``, from 1), so tests can tell a reused
connection from a new one. Habits are applied in two steps: ``prepare`` before a
response's headers are sent (``Connection: close`` or a ``Keep-Alive`` header), and
``finish`` once its last byte was handed to the transport (hang up, or arm the idle
timer).

aiohttp.web can reproduce each habit faithfully: ``StreamResponse.force_close()`` makes
it send ``Connection: close`` and close after the response; closing the transport after
``write_eof`` ends the connection without having announced it (the bytes already handed
over are flushed before the FIN); and its keep-alive timeout is one number per server,
so a profile's own idle timeout is a timer here that closes the connection only if it is
still idle, the check aiohttp's own keep-alive timer makes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lens.sim.habits import Conn


@dataclass(slots=True)
class ConnState:
    """What the server knows about one client connection."""

    conn_id: str
    requests: int = 0
    active: int = 0


class ConnTracker:
    """Per-connection state and habit enforcement for one SimServer.

    ``runner_idle_s`` is aiohttp's own keep-alive timeout for the server; connections
    whose profile wants another idle timeout get a timer of their own.
    """

    def __init__(self, runner_idle_s: float) -> None:
        self.runner_idle_s = runner_idle_s
        # By id(transport), holding the transport so its id is not reused while listed
        # (uvloop's TLS transports cannot be weakly referenced). Closed ones are pruned.
        self._states: dict[int, tuple[Any, ConnState]] = {}
        self._prune_at = 64
        self.idle_closed = 0
        self.hung_up = 0

    def open(self, request: web.BaseRequest) -> ConnState:
        """Count a request on its connection; returns the connection's state."""
        transport = request.transport
        entry = self._states.get(id(transport)) if transport is not None else None
        if entry is not None:
            state = entry[1]
        else:
            peer = transport.get_extra_info("peername") if transport is not None else None
            conn_id = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else ""
            state = ConnState(conn_id)
            if transport is not None:
                if len(self._states) >= self._prune_at:
                    self._prune()
                self._states[id(transport)] = (transport, state)
        state.requests += 1
        state.active += 1
        return state

    def _prune(self) -> None:
        self._states = {k: v for k, v in self._states.items() if not v[0].is_closing()}
        self._prune_at = max(64, 2 * len(self._states))

    def prepare(self, resp: web.StreamResponse, conn: Conn, state: ConnState) -> str | None:
        """Before the headers: announce a close or the keep-alive terms.

        Returns "announced" when this response says ``Connection: close``.
        """
        if conn.mode == "close" or (conn.max_requests and state.requests >= conn.max_requests):
            resp.force_close()
            return "announced"
        header = conn.keep_alive_header()
        if header is not None:
            resp.headers["Keep-Alive"] = header
        return None

    def finish(self, request: web.BaseRequest, resp: web.StreamResponse | None, conn: Conn,
               state: ConnState, *, streamed: bool) -> str | None:
        """After the response: hang up, or arm the idle timer. Returns "hangup" if it hung up."""
        state.active -= 1
        transport = request.transport
        if resp is None or transport is None or transport.is_closing():
            return None
        keep_alive = resp.keep_alive if resp.keep_alive is not None else request.keep_alive
        if not keep_alive:
            return None  # aiohttp closes it (announced, or the client asked for it)
        if conn.mode == "hangup" and streamed:
            # The terminating chunk was handed to the transport; close() sends it, then FIN.
            transport.close()
            self.hung_up += 1
            return "hangup"
        idle = conn.idle_timeout_s
        if idle != self.runner_idle_s:
            loop = asyncio.get_running_loop()
            loop.call_later(idle, self._idle_check, request.protocol, state, state.requests, 0)
        return None

    def _idle_check(self, proto: Any, state: ConnState, seen: int, retries: int) -> None:
        if state.requests != seen or state.active:
            return  # a later request arrived; its own finish() re-arms the timer
        transport = getattr(proto, "transport", None)
        if transport is None or transport.is_closing():
            return
        # aiohttp waits on _waiter for the next request; pending = idle (the same test its
        # own keep-alive timer makes). Without it (another aiohttp) fall back to our count.
        waiter = getattr(proto, "_waiter", None)
        if hasattr(proto, "_waiter") and (waiter is None or waiter.done()):
            if retries < 100:  # between two requests inside aiohttp: look again shortly
                asyncio.get_running_loop().call_later(0.01, self._idle_check, proto, state, seen, retries + 1)
            return
        self.idle_closed += 1
        proto.force_close()
