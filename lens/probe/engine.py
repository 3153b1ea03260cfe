"""The burst engine: fire streamed requests under a load shape and time every event.

One asyncio loop, one aiohttp ClientSession per target, one monotonic clock
(``time.perf_counter_ns``) for every interval; wall-clock UTC only for ``started_at``.
Each request becomes exactly one RequestRecord (failed ones too) handed to the sink as
it completes; one failing request never stops the burst and nothing is retried.

The read loop is the hot path: bytes from ``resp.content.iter_any()`` go to the dialect's
framer; the arrival time is taken once per read, right after the framer returns the
events that read completed (their last byte arrived in it), and only then are the events
parsed. Everything derived (TTFT, ITL, TPOT, token estimates) is computed at the end by
:class:`lens.probe.measure.Measurement`. Metric definitions: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from lens.errors import LensError, ProbeError
from lens.probe import read_clock
from lens.probe.dialects import get_dialect
from lens.probe.measure import Measurement, count_text_tokens
from lens.probe.tracing import make_trace_config
from lens.record import BurstResult, ChunkTiming, RequestRecord
from lens.redact.secrets import ERROR_TEXT_LIMIT, scrub, secret_values
from lens.spec import BurstSpec, TargetSpec
from lens.workload.loadshape import Stage, stages
from lens.workload.prompts import Prompt, apply_cache_mode, load_prompts, prompt_hash

if TYPE_CHECKING:
    from lens.probe.dialects.base import Dialect, HttpRequest
    from lens.record import RecordSink

__all__ = ["ProgressEvent", "RateLimiter", "run_burst", "run_burst_sync"]

_RATELIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "x-ms-ratelimit-")
_RATELIMIT_NAMES = ("retry-after", "retry-after-ms")
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-goog-request-id")


class RateLimiter(Protocol):
    """Client-side limiter hook (lens.probe.ratelimit implements it).

    ``acquire`` is awaited before each send and returns the seconds it waited (that wait is
    inside the record's ``queue_ms``); ``observe`` sees every finished record.
    """

    async def acquire(self, target_label: str, est_tokens: int) -> float: ...

    def observe(self, record: RequestRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Passed to ``on_progress`` after each finished request of a target."""

    target: str
    done: int
    total: int | None  # None when only a duration bounds the burst
    errors: int
    last_status: str


@dataclass(slots=True)
class _Target:
    spec: TargetSpec
    label: str
    dialect: Dialect
    api_key: str | None
    secrets: tuple[str, ...]
    host: str
    secret_headers: dict[str, str] = field(default_factory=dict)
    session: aiohttp.ClientSession | None = None
    sem: asyncio.Semaphore | None = None
    planned: int | None = 0
    started: int = 0
    done: int = 0
    errors: int = 0
    est_tokens: dict[str, int] = field(default_factory=dict)


_LINGER_S = 1.0  # after the terminal event, how long to wait for the connection's end


def _endpoint_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _retry_after(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        with contextlib.suppress(ValueError):
            return float(ms) / 1000.0
    v = headers.get("retry-after")
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _ratelimit_json(headers: Mapping[str, str]) -> str | None:
    kept = {
        k.lower(): v
        for k, v in headers.items()
        if k.lower().startswith(_RATELIMIT_PREFIXES) or k.lower() in _RATELIMIT_NAMES
    }
    return json.dumps(kept, separators=(",", ":"), sort_keys=True) if kept else None


def provider_message(body: bytes) -> tuple[str, str]:
    """(message, type) from a provider error body: OpenAI/Anthropic/Gemini/Bedrock shapes."""
    text = body.decode("utf-8", "replace").strip()
    try:
        obj: Any = json.loads(text)
    except ValueError:
        return text, ""
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, str):
            return err, str(obj.get("type") or "")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("Message") or obj.get("message")
            typ = err.get("type") or err.get("status") or err.get("code") or obj.get("type") or ""
            if msg:
                return str(msg), str(typ)
    return text, ""


class _Burst:
    def __init__(
        self,
        spec: BurstSpec,
        *,
        run_id: str | None,
        sink: RecordSink | None,
        on_progress: Callable[[ProgressEvent], None] | None,
        stop: asyncio.Event | None,
        should_start: Callable[[], bool] | None,
        api_keys: Mapping[str, str] | None,
        limiter: RateLimiter | None,
        shard: int,
        abandon: asyncio.Event | None = None,
        deadline_ns: int | None = None,
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.on_progress = on_progress
        self.stop = stop
        self.abandon = abandon
        self.deadline_ns = deadline_ns  # perf_counter_ns by which every request must end
        self.deadline_at: float | None = None  # the same on the loop's clock, set in run()
        self.should_start = should_start
        self.limiter = limiter
        self.shard = shard
        self.result = BurstResult(run_id=run_id or uuid.uuid4().hex)
        self.stages = stages(spec.load)
        self.prompts: list[Prompt] = load_prompts(spec.prompts)
        env = os.environ if api_keys is None else api_keys
        # Resolve every key and dialect before the first request: a missing key is a
        # TargetError, not N failed records.
        self.targets: list[_Target] = []
        for t in spec.targets:
            key = t.resolve_api_key(env)
            secret_headers = t.resolve_secret_headers(env)
            kw: dict[str, Any] = (
                {"region": t.aws_region} if t.resolved_dialect == "bedrock" and t.aws_region else {}
            )
            dialect = get_dialect(t.resolved_dialect, **kw)
            # Build one request now so signing/credential problems (Bedrock) surface as an
            # error before the burst, not as N identical failures inside it.
            dialect.build_request(
                t, "preflight", max_tokens=spec.max_tokens, temperature=spec.temperature, api_key=key
            )
            self.targets.append(
                _Target(
                    spec=t,
                    label=t.label,
                    dialect=dialect,
                    api_key=key,
                    secrets=secret_values(extra=(key, *secret_headers.values())),
                    host=_endpoint_host(t.resolved_base_url),
                    secret_headers=secret_headers,
                )
            )
        self.t0_ns = 0
        self.stopped = False
        self.cancelled = 0
        self._inflight: set[asyncio.Task[None]] = set()

    # -- orchestration -----------------------------------------------------------------
    async def run(self) -> BurstResult:
        spec = self.spec
        per_target = [st.planned() for st in self.stages]
        planned = None if any(n is None for n in per_target) else sum(per_target) + spec.warmup  # type: ignore[arg-type]
        open_loop = any(not st.closed for st in self.stages)
        # Warm pools hold at least as many connections as requests can be in flight, so
        # pool waits only appear when the user asked for more than the cap.
        limit = max((st.level for st in self.stages if st.closed), default=1)
        if open_loop:
            limit = max(limit, spec.load.max_in_flight)
        # No sock_read: aiohttp would apply it to the wait for the first event too, and a
        # long prefill is not idleness. The read loop enforces idle_s after the first token.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=spec.timeouts.connect_s)
        self.result.started_at = datetime.now(UTC)
        if self.deadline_ns is not None:
            loop = asyncio.get_running_loop()
            self.deadline_at = loop.time() + (self.deadline_ns - perf_counter_ns()) / 1e9
        async with contextlib.AsyncExitStack() as stack:
            for tg in self.targets:
                tg.planned = planned
                tg.sem = asyncio.Semaphore(spec.load.max_in_flight)
                if spec.connection == "cold":
                    conn = aiohttp.TCPConnector(limit=limit, force_close=True, use_dns_cache=False)
                else:
                    conn = aiohttp.TCPConnector(limit=limit, keepalive_timeout=60)
                read_clock.install(conn)
                tg.session = await stack.enter_async_context(
                    aiohttp.ClientSession(
                        connector=conn, timeout=timeout, trace_configs=[make_trace_config()]
                    )
                )
            self.t0_ns = perf_counter_ns()
            main = asyncio.ensure_future(
                asyncio.gather(*(self._run_target(tg) for tg in self.targets))
            )
            try:
                if await self._abandoned(main):
                    self._finish(complete=False)
                    return self.result
            except asyncio.CancelledError:
                await self._cancel(main)
                self._finish(complete=False)
                raise
        self._finish(complete=not self.stopped)
        return self.result

    async def _abandoned(self, main: asyncio.Future[Any]) -> bool:
        """Wait for the burst; True when ``abandon`` was set first (in-flight cancelled)."""
        if self.abandon is None:
            await main
            return False
        waiter = asyncio.ensure_future(self.abandon.wait())
        try:
            await asyncio.wait({main, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if main.done():
            main.result()  # re-raise what the burst raised
            return False
        self.stopped = True
        await self._cancel(main)
        return True

    async def _cancel(self, main: asyncio.Future[Any]) -> None:
        # Requests cancelled in flight are not recorded (their timings would be cut short by
        # the client, not the server); they count in ``skipped``.
        self.cancelled += len(self._inflight)
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main

    def _finish(self, *, complete: bool) -> None:
        r = self.result
        r.finished_at = datetime.now(UTC)
        r.complete = complete and self.cancelled == 0
        skipped = self.cancelled
        for tg in self.targets:
            if tg.planned is not None:
                skipped += max(0, tg.planned - tg.started)
        r.skipped = skipped if not r.complete else 0

    def _may_start(self) -> bool:
        if self.stopped:
            return False
        if self.deadline_ns is not None and perf_counter_ns() >= self.deadline_ns:
            self.stopped = True
            return False
        if (self.stop is not None and self.stop.is_set()) or (
            self.should_start is not None and not self.should_start()
        ):
            self.stopped = True
            return False
        return True

    async def _run_target(self, tg: _Target) -> None:
        counter = [0]
        if self.spec.warmup:
            first = self.stages[0].level if self.stages[0].closed else 1
            warm = Stage(min(self.spec.warmup, first), True, self.spec.warmup, None)
            await self._closed(tg, warm, counter, warmup=True)
            counter[0] = 0
        for st in self.stages:
            if self.stopped:
                break
            if st.closed:
                await self._closed(tg, st, counter, warmup=False)
            else:
                await self._open(tg, st, counter)

    async def _closed(self, tg: _Target, st: Stage, counter: list[int], *, warmup: bool) -> None:
        begun = perf_counter_ns()
        deadline = begun + int(st.duration_s * 1e9) if st.duration_s else None
        sent = [0]

        async def worker() -> None:
            while True:
                if st.requests is not None and sent[0] >= st.requests:
                    return
                now = perf_counter_ns()
                if deadline is not None and now >= deadline:
                    return
                if not self._may_start():
                    return
                sent[0] += 1
                idx = counter[0]
                counter[0] += 1
                await self._tracked(tg, idx, now, st.level, warmup)

        await asyncio.gather(*(worker() for _ in range(st.level)))

    async def _open(self, tg: _Target, st: Stage, counter: list[int]) -> None:
        assert tg.sem is not None
        begun = perf_counter_ns()
        tasks: list[asyncio.Task[None]] = []
        for off in st.offsets():
            due = begun + int(off * 1e9)
            delay = (due - perf_counter_ns()) / 1e9
            if delay > 0:
                if self.stop is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), delay)
                else:
                    await asyncio.sleep(delay)
            # Waiting here (max_in_flight saturated) delays the send past ``due``: that lag
            # is the record's queue_ms, never hidden.
            await tg.sem.acquire()
            if not self._may_start():
                tg.sem.release()
                break
            idx = counter[0]
            counter[0] += 1
            tasks.append(asyncio.create_task(self._tracked(tg, idx, due, st.level, False, tg.sem)))
        if tasks:
            await asyncio.gather(*tasks)

    async def _tracked(
        self,
        tg: _Target,
        idx: int,
        scheduled_ns: int,
        level: int,
        warmup: bool,
        release: asyncio.Semaphore | None = None,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            await self._one(tg, idx, scheduled_ns, level, warmup)
        finally:
            self._inflight.discard(task)
            if release is not None:
                release.release()

    # -- one request -------------------------------------------------------------------
    async def _one(
        self, tg: _Target, idx: int, scheduled_ns: int, level: int, warmup: bool
    ) -> None:
        spec = self.spec
        tg.started += 1
        prompt = self.prompts[idx % len(self.prompts)]
        text = apply_cache_mode(prompt.text, spec.cache)
        t = tg.spec
        req = tg.dialect.build_request(
            t, text, max_tokens=spec.max_tokens, temperature=spec.temperature, api_key=tg.api_key
        )
        if tg.secret_headers:
            req.headers.update(tg.secret_headers)
        rec = RequestRecord(
            run_id=self.result.run_id,
            request_id=uuid.uuid4().hex,
            started_at=datetime.now(UTC),
            region=spec.region,
            runner=spec.runner,
            target=tg.label,
            provider=t.provider,
            dialect=tg.dialect.name,
            model=t.model,
            endpoint_host=tg.host,
            scenario=spec.scenario,
            prompt_id=prompt.id,
            prompt_hash=prompt_hash(text),
            warmup=warmup,
            shard=self.shard,
            concurrency=level,
            scheduled_ms=(scheduled_ns - self.t0_ns) / 1e6,
        )
        if self.limiter is not None:
            est = tg.est_tokens.get(prompt.id)
            if est is None:
                est = tg.est_tokens[prompt.id] = count_text_tokens(text, t.model)
            await self.limiter.acquire(tg.label, est + spec.max_tokens)
        m = Measurement(rec, prompt=text, max_chunk_rows=spec.caps.max_chunk_rows)
        rec.started_at = datetime.now(UTC)
        origin = m.start()
        rec.queue_ms = (origin - scheduled_ns) / 1e6
        secrets = tg.secrets + secret_values(req.headers, req.secret_headers)
        m.secrets = secrets
        record, chunks = await self._http(tg, m, req, secrets)
        self._emit(tg, m, record, chunks)

    def _emit(
        self, tg: _Target, m: Measurement, record: RequestRecord, chunks: list[ChunkTiming]
    ) -> None:
        res = self.result
        res.origins_ns[record.request_id] = m.origin_ns
        res.records.append(record)
        res.chunks.extend(chunks)
        if self.sink is not None:
            self.sink.add(record, chunks)
        if self.limiter is not None:
            self.limiter.observe(record)
        tg.done += 1
        if record.status != "ok":
            tg.errors += 1
        if self.on_progress is not None:
            self.on_progress(ProgressEvent(tg.label, tg.done, tg.planned, tg.errors, record.status))

    async def _http(
        self, tg: _Target, m: Measurement, req: HttpRequest, secrets: tuple[str, ...]
    ) -> tuple[RequestRecord, list[ChunkTiming]]:
        assert tg.session is not None
        to = self.spec.timeouts
        loop = asyncio.get_running_loop()
        begun = loop.time()
        total_deadline = begun + to.total_s
        cut = self.deadline_at is not None and self.deadline_at < total_deadline
        if cut:
            total_deadline = self.deadline_at  # type: ignore[assignment]
        first_deadline = min(begun + to.first_token_s, total_deadline)
        resp: aiohttp.ClientResponse | None = None
        timed: read_clock.ArrivalClock | None = None
        idle_s = to.idle_s
        waiting = "first"  # what the deadline now guards: first | idle | total | linger
        status: int | None = None
        try:
            async with asyncio.timeout_at(first_deadline) as cm:
                # Never follow redirects: a redirect would carry key headers (x-api-key,
                # x-goog-api-key) to a host nobody allowed, and no LLM API streams through one.
                resp = await tg.session.request(
                    req.method, req.url, headers=req.headers, data=req.body,
                    trace_request_ctx=m, allow_redirects=False,
                )
                timed, headers_ns = read_clock.watch(resp)
                m.mark("headers", headers_ns)
                status = resp.status
                hdrs = resp.headers
                for name in _REQUEST_ID_HEADERS:
                    if name in hdrs:
                        m.record.server_request_id = hdrs[name]
                        break
                ratelimit = _ratelimit_json(hdrs)
                if status >= 300:  # 3xx too: redirects are not followed (see above)
                    return await self._http_error(m, resp, ratelimit, secrets)
                framer = tg.dialect.new_framer()
                feed = framer.feed
                parse = tg.dialect.parse
                on_event = m.on_event
                clock = perf_counter_ns
                caps = self.spec.caps
                nbytes = 0
                async for data in resp.content.iter_any():
                    nbytes += len(data)
                    if nbytes > caps.max_bytes or m.n_events > caps.max_events:
                        return self._cut(m, status, ratelimit, nbytes)
                    if timed is None:
                        events = feed(data)
                        if events:
                            now = clock()  # one arrival time per read, before any parsing
                            for ev in events:
                                on_event(now, parse(ev))
                    else:
                        # each piece timed at the socket read that delivered it
                        for piece, at in timed.split(data):
                            for ev in feed(piece):
                                on_event(at, parse(ev))
                    if m.first_token_ns is not None:
                        # After the first token: at most idle_s of silence between reads;
                        # after the terminal event, a short grace for the connection's end.
                        now_s = loop.time()
                        if m.done:
                            deadline, waiting = now_s + _LINGER_S, "linger"
                        else:
                            deadline, waiting = now_s + idle_s, "idle"
                        if deadline >= total_deadline:
                            deadline, waiting = total_deadline, "total"
                        cm.reschedule(deadline)
                events = framer.close()
                if events:
                    now = clock()
                    for ev in events:
                        on_event(now, parse(ev))
                return m.finish(None, http_status=status, ratelimit=ratelimit)
        except TimeoutError as exc:
            if m.done:  # the terminal event came; the server just kept the connection open
                return m.finish(None, http_status=status, t_ns=m.last_event_ns)
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                what = f"connect took longer than {to.connect_s:g}s"
            elif waiting == "idle":
                what = f"no data for {to.idle_s:g}s after the last event (idle timeout)"
            elif cut and loop.time() >= total_deadline - 0.001:
                what = "cut at the burst's deadline (a runner's time limit minus the time to write its rows)"
            elif waiting == "total":
                what = f"request exceeded the total timeout of {to.total_s:g}s"
            else:
                limit = min(to.first_token_s, to.total_s)
                what = f"no token within the first-token timeout of {limit:g}s"
            return m.finish("timeout", http_status=status, error=f"timeout: {what}")
        except (aiohttp.ClientError, OSError) as exc:
            if m.done:  # the stream had ended properly; a close error after that is noise
                return m.finish(None, http_status=status)
            msg = scrub(f"{type(exc).__name__}: {exc}", secrets, limit=ERROR_TEXT_LIMIT)
            return m.finish("network", http_status=status, error=msg)
        except Exception as exc:  # a dialect/parser bug: record it, keep the burst going
            msg = scrub(f"client error {type(exc).__name__}: {exc}", secrets, limit=ERROR_TEXT_LIMIT)
            return m.finish("stream_error", http_status=status, error=msg)
        finally:
            if timed is not None:
                timed.close()
            if resp is not None:
                resp.release()

    def _cut(
        self, m: Measurement, status: int | None, ratelimit: str | None, nbytes: int
    ) -> tuple[RequestRecord, list[ChunkTiming]]:
        """A response past a cap (lens.spec.Caps): stop reading, keep what arrived."""
        caps = self.spec.caps
        if nbytes > caps.max_bytes:
            what = f"more than {caps.max_bytes} bytes (caps.max_bytes)"
        else:
            what = f"more than {caps.max_events} events (caps.max_events)"
        return m.finish("truncated", http_status=status, ratelimit=ratelimit,
                        error=f"cut by the client: the response sent {what}")

    async def _http_error(
        self,
        m: Measurement,
        resp: aiohttp.ClientResponse,
        ratelimit: str | None,
        secrets: tuple[str, ...],
    ) -> tuple[RequestRecord, list[ChunkTiming]]:
        code = resp.status
        body = await resp.read()
        msg, typ = provider_message(body)
        if code == 429:
            status = "rate_limited"
        elif code in (503, 529) or "overloaded" in typ.lower():
            status = "overloaded"
        else:
            status = "http_error"
        reason = f"HTTP {code}" + (f" {resp.reason}" if resp.reason else "")
        if 300 <= code < 400:
            where = _endpoint_host(resp.headers.get("Location", "")) or "an unnamed location"
            msg = f"redirect to {where} not followed; point base_url at the final endpoint"
        text = f"{reason}: {msg}" if msg else reason
        return m.finish(
            status,
            http_status=code,
            error=scrub(text, secrets, limit=ERROR_TEXT_LIMIT),
            retry_after_s=_retry_after(resp.headers),
            ratelimit=ratelimit,
        )


async def run_burst(
    spec: BurstSpec,
    *,
    run_id: str | None = None,
    sink: RecordSink | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    stop: asyncio.Event | None = None,
    should_start: Callable[[], bool] | None = None,
    api_keys: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    shard: int = 0,
    abandon: asyncio.Event | None = None,
    deadline_ns: int | None = None,
) -> BurstResult:
    """Run a burst and return every record (warm-up and failures included).

    - ``sink.add(record, chunks)`` is called as each request completes.
    - ``stop`` set, or ``should_start()`` returning False, stops starting new requests;
      in-flight ones finish; the rest count in ``result.skipped`` and ``complete`` is False.
    - ``api_keys`` replaces os.environ for key lookup; a missing key raises TargetError
      before any request is sent.
    - ``limiter`` is awaited before each send (its wait is in ``queue_ms``).
    - ``abandon`` set also cancels in-flight requests (not recorded; finished ones are
      already in the sink) and returns the partial result (``complete`` False, the
      abandoned and never-started requests in ``skipped``).
    - Cancelling the task does the same, then re-raises CancelledError.
    - ``deadline_ns`` (``perf_counter_ns`` time): no request starts after it, and every
      request still running then is cut there and recorded as ``timeout`` with what it
      received (a Lambda runner's time limit minus the time it needs to write its rows).
    """
    burst = _Burst(
        spec,
        run_id=run_id,
        sink=sink,
        on_progress=on_progress,
        stop=stop,
        should_start=should_start,
        api_keys=api_keys,
        limiter=limiter,
        shard=shard,
        abandon=abandon,
        deadline_ns=deadline_ns,
    )
    return await burst.run()


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the ``fast`` extra is installed (LENS_NO_UVLOOP=1 opts out)."""
    if os.environ.get("LENS_NO_UVLOOP"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def run_burst_sync(
    spec: BurstSpec,
    *,
    run_id: str | None = None,
    sink: RecordSink | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_start: Callable[[], bool] | None = None,
    api_keys: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    shard: int = 0,
) -> BurstResult:
    """:func:`run_burst` from synchronous code (its own event loop).

    On Ctrl-C (KeyboardInterrupt) in-flight requests are cancelled and the partial result
    is returned with ``complete=False``; finished records are already in the sink.
    """
    burst = _Burst(
        spec,
        run_id=run_id,
        sink=sink,
        on_progress=on_progress,
        stop=None,
        should_start=should_start,
        api_keys=api_keys,
        limiter=limiter,
        shard=shard,
    )
    async def main() -> None:
        # Return nothing from the main task: asyncio.Runner reprs its SIGINT handler (which
        # holds the task) on exit, and the repr of a finished task includes its result.
        await burst.run()

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main())
        return burst.result
    except KeyboardInterrupt:
        burst._finish(complete=False)
        return burst.result
    except LensError:
        raise
    except aiohttp.ClientError as exc:  # pragma: no cover - session set-up failures
        raise ProbeError(f"burst could not run: {exc}") from exc
