"""How the simulated endpoint answers one request (the half of :class:`lens.sim.server.
SimServer` that serves): parse, fault, plan, headers on the profile's schedule, a capacity
slot, each event written at its planned time with its write time kept as ground truth, the
profile's connection habit and server-reported timing. See lens.sim.server for the routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from lens.sim.conn import ConnState, ConnTracker
from lens.sim.latency import (
    PrefixCache,
    choose_fault,
    estimate_tokens,
    fault_position,
    make_plan,
    request_rng,
    token_text,
)
from lens.sim.profiles import FAULT_KINDS, PRESETS, Profile
from lens.sim.reported import llamacpp_timings, processing_ms
from lens.sim.truth import SimTruth, TruthStore
from lens.sim.wire import WRITERS, ParsedRequest, UsageOut, WireWriter

_now = time.perf_counter_ns


async def _sleep_until(target_ns: int) -> None:
    delay = target_ns - _now()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


_MIDSTREAM = frozenset({"midstream_error", "reset", "stall", "truncate"})


class Serving:
    """Request handling, mixed into SimServer (which holds the profiles, truths, caches)."""

    # the server's state (SimServer.__init__ sets it)
    profiles: dict[str, Profile]
    seed: int
    conns: ConnTracker
    active: int
    queued: int
    served: int
    _truths: TruthStore
    _counter: Iterator[int]
    _token: str
    _sems: dict[str, asyncio.Semaphore]
    _caches: dict[str, PrefixCache]
    _created: int

    def profile(self, name: str) -> Profile | None:  # SimServer's
        raise NotImplementedError

    @staticmethod
    def _error(cls: type[WireWriter], kind: str, rid: str, *, status: int | None = None,
               message: str | None = None, retry_after_s: float = 1.0) -> web.Response:
        code, headers, body = cls.error_response(kind, retry_after_s=retry_after_s, message=message)
        headers["x-request-id"] = rid
        return web.Response(status=status or code, body=body, headers=headers, content_type="application/json")

    async def _handle(self, request: web.Request, dialect: str, stream_route: bool | None) -> web.StreamResponse:
        received = _now()
        n = next(self._counter)
        rid = f"sim-{self._token}-{n}"
        cls = WRITERS[dialect]
        state = self.conns.open(request)
        pname = request.match_info.get("profile", "default")
        profile = self.profile(pname)
        conn = profile.conn if profile is not None else PRESETS["default"].conn
        resp: web.StreamResponse | None = None
        streamed = False
        truth: SimTruth | None = None
        try:
            if profile is None:
                resp = self._error(cls, "bad_request", rid, status=404, message=(
                    f"unknown sim profile {pname!r}; known: {', '.join(sorted(set(self.profiles) | set(PRESETS)))}"))
                return resp
            parsed = await self._read_request(request, cls, rid, stream_route)
            if isinstance(parsed, web.Response):
                resp = parsed
                return resp
            req, forced = parsed

            truth = SimTruth(rid, pname, dialect, received, model=req.model, stream=req.stream,
                             conn_id=state.conn_id, conn_seq=state.requests)
            self._truths.add(truth)
            prompt_tokens = estimate_tokens(req.prompt_text)
            cached = self._cached_tokens(pname, profile, req.prompt_text, prompt_tokens)
            rng = request_rng(self.seed, n)
            fault = choose_fault(profile, rng) if forced is None else (None if forced == "none" else forced)
            plan = make_plan(profile, rng, prompt_tokens=prompt_tokens, cached_tokens=cached, max_tokens=req.max_tokens)
            truth.prompt_tokens = prompt_tokens
            truth.cached_tokens = cached
            truth.fault = fault
            header_ns = min(int(profile.header_ms * 1e6), plan.ttft_ns)
            if profile.require_key and not cls.has_key(request.headers, request.query):
                truth.fault = None
                resp = self._finish_error(truth, profile, state, self._error(cls, "unauthorized", rid), received)
                return resp
            rejected = fault in ("rate_limited", "overloaded")
            if rejected or not req.stream or profile.headers == "early":
                await _sleep_until(received + header_ns)
            if rejected:
                resp = self._finish_error(truth, profile, state, self._error(
                    cls, fault or "", rid, retry_after_s=profile.faults.retry_after_s), received + header_ns)
                return resp
            writer = cls(rid, req, self._created)
            if not req.stream:
                resp = await self._nonstream(request, truth, profile, state, pname, writer, plan, received)
                return resp
            streamed = True
            resp = web.StreamResponse(status=200, headers={
                "x-request-id": rid, "content-type": cls.content_type, "cache-control": "no-cache"})
            if profile.headers == "early":
                await self._open(request, resp, truth, profile, state, received + header_ns)
            async with self._slot(pname, profile, truth):
                t0 = received if truth.queue_ns == 0 else _now()
                truth.slot_ns = t0
                if profile.headers == "slot":
                    await _sleep_until(t0 + header_ns)
                    await self._open(request, resp, truth, profile, state, t0 + header_ns)
                await self._stream(request, resp, truth, profile, state, writer, plan, fault, t0, rng)
            return resp
        except ConnectionError:
            # The client went away mid-stream (its choice, or a reset it caused): what it
            # was sent is the events whose write succeeded.
            if truth is not None:
                truth.client_disconnected = True
                truth.output_tokens = sum(e.n_tokens for e in truth.token_events())
                truth.reasoning_tokens = sum(e.n_tokens for e in truth.token_events("reasoning"))
            resp = None
            return web.Response(status=499)  # never sent: the transport is closed
        finally:
            closed = self.conns.finish(request, resp, conn, state, streamed=streamed)
            if truth is not None:
                truth.finished_ns = _now()
                truth.conn_closed = truth.conn_closed or closed
            self.served += 1

    async def _read_request(self, request: web.Request, cls: type[WireWriter], rid: str,
                            stream_route: bool | None) -> tuple[ParsedRequest, str | None] | web.Response:
        """The parsed request and its forced fault (``x-sim-fault``), or the 400 to answer."""
        try:
            body = json.loads(await request.read() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return self._error(cls, "bad_request", rid, message=f"invalid JSON body: {exc}")
        req = cls.parse(body, request.match_info.get("model"))
        if stream_route is not None:
            req.stream = stream_route
        forced = request.headers.get("x-sim-fault")
        if forced is not None and forced not in FAULT_KINDS and forced != "none":
            return self._error(cls, "bad_request", rid, message=(
                f"x-sim-fault {forced!r} is not one of none, {', '.join(FAULT_KINDS)}"))
        return req, forced

    def _cached_tokens(self, pname: str, profile: Profile, prompt_text: str, prompt_tokens: int) -> int:
        """Prompt tokens this profile's prefix cache already holds (0 without a cache)."""
        if not profile.cache_prefix:
            return 0
        cache = self._caches.get(pname)
        if cache is None:
            cache = self._caches[pname] = PrefixCache.for_tokens(profile.cache_capacity_tokens)
        return min(prompt_tokens, cache.lookup_and_add(prompt_text) // 4)

    def _finish_error(self, truth: SimTruth, profile: Profile, state: ConnState, resp: web.Response,
                      planned_ns: int) -> web.Response:
        self._set_reported_header(resp, truth, profile, planned_ns)
        truth.conn_closed = self.conns.prepare(resp, profile.conn, state)
        truth.status = resp.status
        truth.headers_ns = _now()
        return resp

    @staticmethod
    def _set_reported_header(resp: web.StreamResponse, truth: SimTruth, profile: Profile, planned_ns: int) -> None:
        if profile.server_timing == "openai":
            ms = processing_ms(truth.received_ns, planned_ns)
            resp.headers["openai-processing-ms"] = str(ms)
            truth.server_timing = {"openai-processing-ms": ms}

    async def _open(self, request: web.Request, resp: web.StreamResponse, truth: SimTruth, profile: Profile,
                    state: ConnState, planned_ns: int) -> None:
        """Send a stream's headers (planned for ``planned_ns``) with the profile's habits."""
        self._set_reported_header(resp, truth, profile, planned_ns)
        truth.conn_closed = self.conns.prepare(resp, profile.conn, state)
        truth.headers_ns = _now()  # write start of the headers, like events
        truth.status = 200
        await resp.prepare(request)  # StreamResponse sends its headers right away

    @contextlib.asynccontextmanager
    async def _slot(self, pname: str, profile: Profile, truth: SimTruth) -> Any:
        if profile.max_concurrency <= 0:
            self.active += 1
            try:
                yield
            finally:
                self.active -= 1
            return
        sem = self._sems.get(pname)
        if sem is None:
            sem = self._sems[pname] = asyncio.Semaphore(profile.max_concurrency)
        if sem.locked():
            start = _now()
            self.queued += 1
            try:
                await sem.acquire()
            finally:
                self.queued -= 1
            truth.queue_ns = max(1, _now() - start)
        else:
            await sem.acquire()
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            sem.release()

    async def _write(self, resp: web.StreamResponse, truth: SimTruth, evs: list[tuple[str, int, bytes]],
                     eof: bool = False) -> None:
        """Write events the provider emits at the same instant (one token delta, or a
        block switch plus its first delta, or the terminal group) in ONE write, so each
        costs one send; every event is recorded with that write's start/end times."""
        if not evs:
            if eof:
                await resp.write_eof()
            return
        data = evs[0][2] if len(evs) == 1 else b"".join(e[2] for e in evs)
        # Record before writing (end = start for now) so a client that has read the
        # bytes never sees a truth without the event; the end time is patched after.
        first = truth.n_events
        start = _now()
        add = truth.add_event
        for kind, n, _ in evs:
            add(kind, n, start, start)
        try:
            if eof:
                await resp.write_eof(data)  # payload and the chunked terminator in one send
            else:
                await resp.write(data)
        except ConnectionError:
            truth.drop_events(first)  # never sent: the client had gone
            raise
        truth.set_write_end(first, _now())

    async def _stream(self, request: web.Request, resp: web.StreamResponse, truth: SimTruth,
                      profile: Profile, state: ConnState, writer: WireWriter, plan: Any, fault: str | None,
                      t0: int, rng: Any) -> None:
        usage = UsageOut(truth.prompt_tokens, truth.cached_tokens, 0, 0)
        # With headers held until the first token, the stream's opening events go out with
        # that token (what a server that buffers until it has output sends).
        held = writer.start(usage)
        if resp.prepared:
            await self._write(resp, truth, held)
            held = []
        events = plan.events
        fault_at = -1
        if fault in _MIDSTREAM:
            after = request.headers.get("x-sim-fault-after", "")
            fault_at = min(int(after), len(events)) if after.isdigit() else fault_position(profile, rng, len(events))
        shift = 0
        sent = {"text": 0, "reasoning": 0}
        for i in range(len(events) + 1):
            if i == fault_at:
                if not resp.prepared:
                    await self._open(request, resp, truth, profile, state, _now())
                truth.output_tokens = sent["text"] + sent["reasoning"]
                truth.reasoning_tokens = sent["reasoning"]
                if fault == "midstream_error":
                    await self._write(resp, truth, held + writer.midstream_error(), eof=True)
                    return
                if fault == "truncate":
                    await self._write(resp, truth, held, eof=True)
                    return
                if fault == "reset":
                    if request.transport is not None:
                        request.transport.abort()
                    return
                # stall
                if profile.faults.stall_ms is None:
                    deadline = _now() + int(profile.faults.stall_max_s * 1e9)
                    while _now() < deadline and request.transport is not None and not request.transport.is_closing():
                        await asyncio.sleep(0.05)
                    truth.client_disconnected = request.transport is None or request.transport.is_closing()
                    if request.transport is not None:
                        request.transport.abort()
                    return
                stall_ns = int(profile.faults.stall_ms * 1e6)
                await asyncio.sleep(stall_ns / 1e9)
                shift += stall_ns
            if i == len(events):
                break
            ev = events[i]
            target = t0 + ev.offset_ns + shift
            delay = target - _now()
            if delay > 0:
                await asyncio.sleep(delay / 1e9)
            lag = _now() - target
            if lag > truth.max_lag_ns:
                truth.max_lag_ns = lag
            if not resp.prepared:
                await self._open(request, resp, truth, profile, state, target)
            evs = writer.delta(ev.kind, token_text(ev.token_index, ev.n_tokens), ev.n_tokens)
            if held:
                evs = held + evs
                held = []
            await self._write(resp, truth, evs)
            sent[ev.kind] += ev.n_tokens
        truth.output_tokens = sent["text"] + sent["reasoning"]
        truth.reasoning_tokens = sent["reasoning"]
        final = UsageOut(truth.prompt_tokens, truth.cached_tokens, sent["text"], sent["reasoning"])
        self._report_llamacpp(truth, profile, writer, plan, shift)
        latency_ms = (_now() - truth.received_ns) / 1e6
        if truth.dialect == "bedrock":
            truth.server_timing = {"latencyMs": round(latency_ms)}
        await self._write(resp, truth, writer.finish(final, plan.finish_reason, latency_ms), eof=True)

    @staticmethod
    def _report_llamacpp(truth: SimTruth, profile: Profile, writer: WireWriter, plan: Any, shift: int) -> None:
        """Give the writer llama.cpp's ``timings`` from the plan (a stall adds to decode time)."""
        if profile.server_timing != "llamacpp" or not writer.supports_timings or not plan.events:
            return
        first, last = plan.events[0].offset_ns, plan.events[-1].offset_ns + shift
        writer.timings = llamacpp_timings(
            prompt_tokens=truth.prompt_tokens, cached_tokens=truth.cached_tokens, prompt_ns=first,
            predicted_n=plan.text_tokens + plan.reasoning_tokens, predicted_ns=last - first)
        truth.server_timing = {"timings": writer.timings}

    async def _nonstream(self, request: web.Request, truth: SimTruth, profile: Profile, state: ConnState,
                         pname: str, writer: WireWriter, plan: Any, received: int) -> web.Response:
        async with self._slot(pname, profile, truth):
            t0 = received if truth.queue_ns == 0 else _now()
            truth.slot_ns = t0
            await _sleep_until(t0 + plan.end_ns)
        text = "".join(token_text(e.token_index, e.n_tokens) for e in plan.events if e.kind == "text")
        reasoning = "".join(token_text(e.token_index, e.n_tokens) for e in plan.events if e.kind == "reasoning")
        usage = UsageOut(truth.prompt_tokens, truth.cached_tokens, plan.text_tokens, plan.reasoning_tokens)
        writer.latency_ms = latency = (_now() - received) / 1e6
        if truth.dialect == "bedrock":
            truth.server_timing = {"latencyMs": round(latency)}
        self._report_llamacpp(truth, profile, writer, plan, 0)
        body = writer.nonstream_body(text, reasoning, usage, plan.finish_reason)
        truth.output_tokens = usage.output
        truth.reasoning_tokens = usage.reasoning
        resp = web.Response(status=200, body=body, content_type="application/json", headers={"x-request-id": truth.request_id})
        self._set_reported_header(resp, truth, profile, t0 + plan.end_ns)
        truth.conn_closed = self.conns.prepare(resp, profile.conn, state)
        start = _now()
        truth.headers_ns = start
        truth.status = 200
        truth.add_event("text", plan.text_tokens, start, start)
        await resp.prepare(request)
        await resp.write_eof()  # headers and body go out together here
        truth.set_write_end(0, _now())
        return resp
