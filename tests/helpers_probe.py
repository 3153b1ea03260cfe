"""Helpers for the probe engine tests: a tiny fake dialect and a scripted SSE server.

The fake wire format: SSE ``data:`` lines ``T:<text>`` (answer), ``R:<text>``
(reasoning), ``U:<in>,<out>`` (usage), ``E:<status>:<msg>`` (error event), ``D`` (done).
The server's path ``/s/<scenario>/chat`` picks a script; it records when it wrote each
event (perf_counter_ns) by the ``x-request-id`` it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from aiohttp import web

from lens.probe.dialects.base import HttpRequest, RawEvent
from lens.record import Delta, Usage
from lens.spec import TargetSpec


class FakeFramer:
    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[RawEvent]:
        self.buf += data
        *done, self.buf = self.buf.split(b"\n\n")
        return [RawEvent(d.decode()[6:]) for d in done if d.startswith(b"data: ")]

    def close(self) -> list[RawEvent]:
        return []


class FakeDialect:
    name = "openai_compat"

    def build_request(
        self,
        target: TargetSpec,
        prompt: str,
        *,
        max_tokens: int,
        temperature: float | None,
        api_key: str | None,
        stream: bool = True,
    ) -> HttpRequest:
        headers = {"Content-Type": "text/plain"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return HttpRequest(
            "POST",
            f"{target.resolved_base_url}/chat",
            headers,
            prompt.encode(),
            frozenset({"Authorization"}) if api_key else frozenset(),
        )

    def new_framer(self) -> FakeFramer:
        return FakeFramer()

    def parse(self, event: RawEvent) -> list[Delta]:
        d = event.data
        tag, rest = d[:1], d[2:]
        if tag == "T":
            return [Delta("text", rest)]
        if tag == "R":
            return [Delta("reasoning", rest)]
        if tag == "U":
            i, o = rest.split(",")
            return [Delta("usage", usage=Usage(input_tokens=int(i), output_tokens=int(o)))]
        if tag == "E":
            st, msg = rest.split(":", 1)
            return [Delta("error", error=msg, error_status=st or None)]
        if tag == "D":
            return [Delta("done")]
        if tag == "B":
            raise ValueError("parser bug")
        return [Delta("other")]


@dataclass
class Script:
    """What the server does: status, events (with a gap before each), faults."""

    status: int = 200
    events: list[str] = field(default_factory=lambda: ["T:a", "T:b", "T:c", "U:3,3", "D"])
    gap_s: float = 0.005
    head_delay_s: float = 0.0
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reset_after: int | None = None  # close the socket after this many events
    stall_after: int | None = None  # stop writing (keep the socket) after this many events
    first_delay_s: float = 0.0  # silence between the headers and the first event (prefill)
    linger_s: float = 0.0  # keep the connection open after the last event


SCRIPTS: dict[str, Script] = {
    "ok": Script(),
    "reasoning": Script(events=["R:think", "R:more", "T:answer", "U:3,3", "D"]),
    "noisy": Script(events=["T:", "U:3,0", "T:a", "T:b", "U:3,2", "D"]),
    "r429": Script(
        status=429,
        body='{"error":{"message":"Rate limit reached for key sk-live-abcdefghijklmnopqrstuvwx","type":"requests"}}',
        headers={"retry-after": "7", "x-ratelimit-remaining-requests": "0", "x-other": "1"},
    ),
    "r529": Script(
        status=529,
        body='{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    ),
    "r500": Script(status=500, body="upstream exploded " + "x" * 2000),
    "midstream": Script(events=["T:a", "E:stream_error:server fell over"]),
    # gateways (LiteLLM, OpenRouter) echo the key in an error event after HTTP 200
    "keyecho": Script(events=["T:a", "E:stream_error:Incorrect API key provided: mygw-SECRET-0123456789"]),
    "overloaded_event": Script(events=["T:a", "E:overloaded:Overloaded"]),
    "truncated": Script(events=["T:a", "T:b"]),
    "parsebug": Script(events=["T:a", "B", "D"]),
    "reset": Script(events=["T:a", "T:b", "T:c", "D"], reset_after=2),
    "stall": Script(events=["T:a", "T:b", "D"], stall_after=1),
    "pings": Script(events=["X"] * 40 + ["T:a", "D"], gap_s=0.05),  # keep-alives, no token
    "slow": Script(events=["T:a", "T:b", "D"], gap_s=0.05),
    "long": Script(events=["T:a"] * 12 + ["D"], gap_s=0.05),
    "prefill": Script(events=["T:a", "T:b", "U:3,2", "D"], first_delay_s=2.0),
    "linger": Script(events=["T:a", "T:b", "U:3,2", "D"], linger_s=5.0),
}


class ScriptServer:
    """aiohttp server on 127.0.0.1:0 playing SCRIPTS; ``truth[id]`` = event write times."""

    def __init__(self) -> None:
        self.truth: dict[str, list[int]] = {}
        self.received: dict[str, int] = {}
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[Any] = []
        self._ids = itertools.count()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        rid = f"s{next(self._ids)}"
        self.received[rid] = perf_counter_ns()
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        self.peers.append(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        sc = SCRIPTS[request.match_info["scenario"]]
        if sc.head_delay_s:
            await asyncio.sleep(sc.head_delay_s)
        if sc.status != 200:
            return web.Response(
                status=sc.status, text=sc.body, headers={**sc.headers, "x-request-id": rid}
            )
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-request-id": rid}
        )
        await resp.prepare(request)
        times = self.truth.setdefault(rid, [])
        if sc.first_delay_s:
            await asyncio.sleep(sc.first_delay_s)
        for i, ev in enumerate(sc.events):
            if sc.reset_after is not None and i == sc.reset_after:
                assert request.transport is not None
                request.transport.abort()
                return resp
            if sc.stall_after is not None and i == sc.stall_after:
                await asyncio.sleep(30)
            await asyncio.sleep(sc.gap_s)
            times.append(perf_counter_ns())
            await resp.write(f"data: {ev}\n\n".encode())
        if sc.linger_s:
            await asyncio.sleep(sc.linger_s)
        await resp.write_eof()
        return resp

    async def __aenter__(self) -> ScriptServer:
        app = web.Application()
        app.router.add_post("/s/{scenario}/chat", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        with contextlib.suppress(Exception):
            await self._runner.cleanup()


@contextlib.asynccontextmanager
async def script_server() -> AsyncIterator[ScriptServer]:
    async with ScriptServer() as srv:
        yield srv


def fake_target(url: str, scenario: str, **kw: Any) -> dict[str, Any]:
    return {"provider": "openai_compat", "base_url": f"{url}/s/{scenario}", "model": "fake-1", **kw}
