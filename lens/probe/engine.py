"""The burst engine: fire streamed requests under a load shape and time every event.

One asyncio loop, one lens HttpClient per target, one monotonic clock
(``time.perf_counter_ns``) for every interval; wall-clock UTC only for ``started_at``.
Each request becomes exactly one RequestRecord (failed ones too) handed to the sink as
it completes; one failing request never stops the burst and nothing is retried.

This module orchestrates: stages of closed-loop workers or open-loop arrivals run *units*
of work; what a unit sends (one request, or a multi-turn session) and when its turns go
is lens.workload.plan's; one request on the wire is lens.probe.exchange's, and everything
derived (TTFT, ITL, TPOT, token estimates) is :class:`lens.probe.measure.Measurement`'s.
Metric definitions: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from lens.probe.dialects import get_dialect
from lens.probe.exchange import exchange
from lens.probe.fdlimit import ensure_open_files
from lens.probe.http import HttpClient
from lens.probe.lag import LagMonitor
from lens.probe.measure import Measurement, count_text_tokens
from lens.probe.pacing import LEAD_NS, gc_frozen, sleep_until
from lens.probe.targets import BurstTarget, ProgressEvent, RateLimiter, resolve_targets
from lens.record import BurstResult, ChunkTiming, RequestRecord
from lens.redact.secrets import secret_values
from lens.spec import BurstSpec
from lens.workload.conversation import prompt_text
from lens.workload.loadshape import Stage
from lens.workload.plan import Item, Workload
from lens.workload.prompts import prompt_hash

if TYPE_CHECKING:
    from lens.record import RecordSink

__all__ = ["Burst", "ProgressEvent", "RateLimiter", "loop_factory", "run_burst", "run_burst_sync"]


@functools.lru_cache(maxsize=4096)
def _hash_of(text: str) -> str:
    # Prompt sets cycle: the same text objects come back, and a str caches its own hash.
    return prompt_hash(text)


class Burst:
    """A prepared burst: keys, dialects and prompts resolved (a missing key raises here,
    before anything is sent); :meth:`run` fires it. :func:`run_burst` is both steps."""

    def __init__(
        self, spec: BurstSpec, *, run_id: str | None, sink: RecordSink | None,
        on_progress: Callable[[ProgressEvent], None] | None, stop: asyncio.Event | None,
        should_start: Callable[[], bool] | None, api_keys: Mapping[str, str] | None,
        limiter: RateLimiter | None, shard: int, abandon: asyncio.Event | None = None,
        deadline_ns: int | None = None,
        start_at_ns: int | None = None,
    ) -> None:  # fmt: skip
        self.spec = spec
        self.sink = sink
        self.on_progress = on_progress
        self.stop = stop
        self.abandon = abandon
        self.deadline_ns = deadline_ns  # perf_counter_ns by which every request must end
        self.start_at_ns = start_at_ns  # perf_counter_ns of the burst's start (shards share it)
        self.deadline_at: float | None = None  # the same on the loop's clock, set in run()
        self.lag = LagMonitor()  # is the client keeping up? (client_lag_ms, result.client)
        self._id_prefix = os.urandom(8).hex()
        self._ids = 0
        self.should_start = should_start
        self.limiter = limiter
        self.shard = shard
        self.result = BurstResult(run_id=run_id or uuid.uuid4().hex)
        # What to send and when (prompts, trace rows, sessions): lens.workload.plan.
        self.work = Workload(spec, salt=f"{self.result.run_id}:{shard}")
        self.stages = self.work.stages
        # Every key and dialect resolved before the first request: a missing key is a
        # TargetError, not N failed records.
        env = os.environ if api_keys is None else api_keys
        self.targets = resolve_targets(spec, env, get_dialect)
        self.t0_ns = 0
        # A shard of a burst fired from several processes (lens.probe.worker) sets this: it
        # is awaited after the warm-up, before the shared start (``start_at_ns``) is known.
        self.before_start: Callable[[], Awaitable[None]] | None = None
        self._warmed = False  # warm-ups ran before the start (shards: before_start)
        self.stopped = False
        self.cancelled = 0
        self._inflight: set[asyncio.Task[None]] = set()

    # -- orchestration -----------------------------------------------------------------
    async def run(self) -> BurstResult:
        spec = self.spec
        per_stage = [st.planned() for st in self.stages]
        counts = [n for n in per_stage if n is not None]
        planned = (self.work.planned(sum(counts) + spec.warmup)
                   if len(counts) == len(per_stage) else None)
        open_loop = any(not st.closed for st in self.stages)
        # Warm pools hold at least as many connections as requests can be in flight, so
        # pool waits only appear when the user asked for more than the cap.
        limit = max((st.level for st in self.stages if st.closed), default=1)
        if open_loop:
            limit = max(limit, spec.load.max_in_flight)
        # Each connection is a socket: past the process's open-files limit connects fail on
        # the client ("too many open files"), not at the provider.
        ensure_open_files(limit * len(self.targets))
        self.result.started_at = datetime.now(UTC)
        if self.deadline_ns is not None:
            loop = asyncio.get_running_loop()
            self.deadline_at = loop.time() + (self.deadline_ns - perf_counter_ns()) / 1e9
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(gc_frozen())  # no long GC pause inside the burst (pacing.py)
            for tg in self.targets:
                tg.planned = planned
                tg.sem = asyncio.Semaphore(spec.load.max_in_flight)
                tg.client = HttpClient(
                    limit=limit, force_close=spec.connection == "cold",
                    connect_timeout=spec.timeouts.connect_s, ca_bundle=spec.ca_bundle,
                    max_body=spec.caps.max_bytes,
                )  # fmt: skip
                stack.push_async_callback(tg.client.close)
            for model in {t.model for t in spec.targets}:
                # Load the tokenizer now (about 0.3 s), not inside the first request's finish,
                # where it would stall the loop and every stream and send in flight.
                count_text_tokens("lens", model)
            # An open-loop first stage builds its first arrivals LEAD_NS ahead (lens.probe.
            # pacing): the burst's clock starts that much after now, or at the start shards in
            # other processes share (CLOCK_MONOTONIC is one clock for the whole machine).
            if self.before_start is not None:
                # Shards warm up first and then wait for the shared start, so every shard's
                # schedule counts from that one instant (a warm-up after it would start each
                # shard's open-loop clock when its own warm-up ended).
                self.lag.start()
                if spec.warmup:
                    self.t0_ns = perf_counter_ns()  # warm-up rows count from their own start
                    await asyncio.gather(*(self._warm(tg) for tg in self.targets))
                    self._warmed = True
                await self.before_start()
            lead = 0 if self.stages and self.stages[0].closed else LEAD_NS
            t0 = self.start_at_ns or perf_counter_ns() + lead
            wait_ns = t0 - lead - perf_counter_ns()
            if wait_ns > 0:
                await asyncio.sleep(wait_ns / 1e9)
            self.t0_ns = t0
            if self.before_start is None:  # (a shard started it before its warm-up)
                self.lag.start()
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
        r.client = self.lag.stop().as_dict()
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

    async def _warm(self, tg: BurstTarget) -> None:
        first = self.stages[0].level if self.stages[0].closed else 1
        warm = Stage(min(self.spec.warmup, first), True, self.spec.warmup, None)
        await self._closed(tg, warm, [0], warmup=True)

    async def _run_target(self, tg: BurstTarget) -> None:
        counter = [0]
        if self.spec.warmup and not self._warmed:
            await self._warm(tg)
        for st in self.stages:
            if self.stopped:
                break
            if st.closed:
                await self._closed(tg, st, counter, warmup=False)
            else:
                await self._open(tg, st, counter)

    async def _closed(self, tg: BurstTarget, st: Stage, counter: list[int], *, warmup: bool) -> None:
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

    async def _open(self, tg: BurstTarget, st: Stage, counter: list[int]) -> None:
        assert tg.sem is not None
        # The first stage counts from the burst's start (shards in other processes share it,
        # so their schedules interleave exactly); a later one from when it is entered, plus
        # the lead that lets its first arrival be built ahead too.
        first = st is self.stages[0] and (not self.spec.warmup or self._warmed)
        begun = self.t0_ns if first else perf_counter_ns() + LEAD_NS
        tasks: list[asyncio.Task[None]] = []
        for off in st.offsets():
            due = begun + int(off * 1e9)
            # The request is built LEAD_NS ahead and waits for its send time itself (in
            # _one), so building it never delays it or a simultaneous arrival.
            self.work.prepare(counter[0])
            await sleep_until(due - LEAD_NS, self._sleep, self._stopped)
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

    def _stopped(self) -> bool:
        return self.stopped or (self.stop is not None and self.stop.is_set())

    async def _sleep(self, delay: float) -> None:
        """Sleep ``delay`` s, or less when the burst is stopped meanwhile."""
        if self.stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), delay)

    async def _tracked(
        self, tg: BurstTarget, idx: int, scheduled_ns: int, level: int, warmup: bool,
        release: asyncio.Semaphore | None = None,
    ) -> None:  # fmt: skip
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)

        async def send(item: Item, sched_ns: int) -> str | None:
            return await self._one(tg, item, sched_ns, level, warmup)

        try:
            await self.work.run_unit(
                idx, scheduled_ns, send, warmup=warmup, may_start=self._may_start, sleep=self._sleep
            )
        finally:
            self._inflight.discard(task)
            if release is not None:
                release.release()

    # -- one request -------------------------------------------------------------------
    async def _one(
        self, tg: BurstTarget, item: Item, scheduled_ns: int, level: int, warmup: bool
    ) -> str | None:
        """Send one request; its answer text when it ended ok (a session's next turn)."""
        spec = self.spec
        tg.started += 1
        t = tg.spec
        req = tg.dialect.build_request(
            t, item.prompt, max_tokens=item.max_tokens, temperature=spec.temperature,
            api_key=tg.api_key,
        )  # fmt: skip
        if tg.secret_headers:
            req.headers.update(tg.secret_headers)
        text = prompt_text(item.prompt)
        phash = _hash_of(text)
        rec = RequestRecord(
            run_id=self.result.run_id, request_id=self._next_id(), started_at=datetime.now(UTC),
            region=spec.region, runner=spec.runner, target=tg.label, provider=t.provider,
            dialect=tg.dialect.name, model=t.model, endpoint_host=tg.host,
            scenario=spec.scenario, prompt_id=item.prompt_id, prompt_hash=phash,
            warmup=warmup, shard=self.shard, concurrency=level,
            scheduled_ms=(scheduled_ns - self.t0_ns) / 1e6,
            session_id=item.session_id, turn=item.turn,
        )  # fmt: skip
        if self.limiter is not None:
            est = item.input_tokens if item.input_tokens is not None else tg.est_tokens.get(phash)
            if est is None:
                est = tg.est_tokens[phash] = count_text_tokens(text, t.model)
            await self.limiter.acquire(tg.label, est + item.max_tokens)
        m = Measurement(rec, prompt=text, max_chunk_rows=spec.caps.max_chunk_rows)
        if scheduled_ns > perf_counter_ns():  # an open-loop arrival built ahead of its time
            await sleep_until(scheduled_ns, asyncio.sleep, lambda: False)  # never sent early
        rec.started_at = datetime.now(UTC)
        origin = m.start()
        rec.queue_ms = (origin - scheduled_ns) / 1e6
        secrets = tg.secrets + secret_values(req.headers, req.secret_headers)
        m.secrets = secrets
        assert tg.client is not None
        record, chunks = await exchange(
            tg.client, req, m, tg.dialect, timeouts=spec.timeouts, caps=spec.caps,
            secrets=secrets, deadline_at=self.deadline_at, cancel=item.cancel,
        )  # fmt: skip
        if record.e2e_ms is not None:
            end = m.origin_ns + int(record.e2e_ms * 1e6)
            record.client_lag_ms = round(self.lag.max_between(m.origin_ns, end), 3)
        self._emit(tg, m, record, chunks)
        return m.answer_text() if record.status == "ok" else None

    def _next_id(self) -> str:
        """32 hex digits like uuid4().hex, unique across processes: a random prefix per burst
        and a counter (uuid4 per request costs a getrandom() syscall; on some VMs 100+ us)."""
        self._ids += 1
        return f"{self._id_prefix}{self._ids:016x}"

    def _emit(
        self, tg: BurstTarget, m: Measurement, record: RequestRecord, chunks: list[ChunkTiming]
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
        if record.status not in ("ok", "cancelled"):  # a client cancel is not a server error
            tg.errors += 1
        if self.on_progress is not None:
            self.on_progress(ProgressEvent(tg.label, tg.done, tg.planned, tg.errors, record.status))


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
    start_at_ns: int | None = None,
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
    - ``start_at_ns`` (``perf_counter_ns`` time): the burst's start, shared by the shards of
      one burst fired from several processes (``scheduled_ms`` counts from it).
    """
    burst = Burst(
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
        start_at_ns=start_at_ns,
    )
    return await burst.run()


from lens.probe.sync import loop_factory, run_burst_sync  # noqa: E402  (public path)
