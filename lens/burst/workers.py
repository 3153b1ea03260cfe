"""Fire one burst from several client processes: more cores when there are more (issue #16).

One core saturates at some thousands of stream events per second; past that the client's
own delays show up as latency. :class:`WorkersExecutor` splits the burst with the same
sharding the Lambda runners use (lens.workload.shard: exactly the burst, no more), starts
one process per shard (``spawn``: no inherited threads or sockets), and starts them all at
one ``perf_counter_ns`` time -- CLOCK_MONOTONIC is one clock for the machine -- so every
``scheduled_ms`` counts from the same instant. Rows come back over a pipe to this process,
which hands them to the sinks: one store writer. Stop and abandon reach every worker.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from lens.burst.executor import ExecResult
from lens.errors import ProbeError
from lens.record import BurstResult
from lens.workload.loadshape import stages
from lens.workload.shard import shard_specs

if TYPE_CHECKING:
    from lens.burst.stop import StopSignal
    from lens.record import RecordSink
    from lens.spec import BurstSpec

__all__ = ["STREAMS_PER_WORKER", "WorkersExecutor", "auto_workers"]

STREAMS_PER_WORKER = 256  # streams one process times well (docs/benchmarks.md)
_START_MARGIN_NS = 100_000_000  # from "go" to the shared start: every worker gets the word
_ENDED = "the worker process ended"


def peak_streams(spec: BurstSpec) -> int:
    """Most streams the burst can have open at once (all targets)."""
    per_target = max((st.level for st in stages(spec.load)), default=1)
    return per_target * len(spec.targets)


def auto_workers(spec: BurstSpec, cores: int | None = None) -> int:
    """``spec.workers``, or one process per 256 streams up to one core fewer than the
    machine has (the other is left to the rest: an endpoint, the store, the OS)."""
    if spec.workers is not None:
        return spec.workers
    cores = cores or os.cpu_count() or 1
    return max(1, min(cores - 1, math.ceil(peak_streams(spec) / STREAMS_PER_WORKER)))


@dataclass
class WorkersExecutor:
    """Runs ``workers`` shards of a burst in as many processes (see the module docstring)."""

    workers: int
    api_keys: Mapping[str, str] | None = None
    rpm: float | None = None  # client-side limits for the whole burst: each worker gets 1/n
    tpm: float | None = None
    runner: str = "local"
    start_timeout_s: float = 60.0

    async def execute(
        self,
        spec: BurstSpec,
        *,
        run_id: str,
        sink: RecordSink,
        on_progress: Callable[[Any], None] | None,
        stop: StopSignal,
    ) -> ExecResult:
        shards = shard_specs(spec, self.workers)
        pool = _Pool(asyncio.get_running_loop(), sink, on_progress, run_id)
        pool.spawn(shards, self.api_keys, _share(self.rpm, len(shards)), _share(self.tpm, len(shards)))
        try:
            # Workers say "ready" after their warm-up requests (lens.probe.worker), each of
            # which may take up to the total timeout.
            await pool.wait_ready(self.start_timeout_s + spec.warmup * spec.timeouts.total_s,
                                  stop)
            pool.go()
            await pool.run_until_done(stop)
        finally:
            pool.reap()
        res, failures = pool.result()
        return ExecResult(res, failures=failures)


class _Pool:
    """The worker processes of one burst, their pipes, and what they sent back."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: RecordSink,
                 on_progress: Callable[[Any], None] | None, run_id: str) -> None:
        self.loop, self.sink, self.on_progress = loop, sink, on_progress
        self.run_id = run_id
        self.procs: list[Any] = []
        self.pipes: list[Any] = []
        self.readers: list[threading.Thread] = []
        self.res = BurstResult(run_id=run_id, started_at=datetime.now(UTC))
        self.done: dict[int, tuple[Any, ...]] = {}
        self.progress: dict[tuple[int, str], Any] = {}
        self.failed: list[BaseException] = []
        self.planned: dict[int, int | None] = {}  # requests each shard would send
        self.rows: dict[int, int] = {}  # requests each shard sent back
        self.sent = ""  # the stop level the workers were told

    def spawn(self, shards: list[BurstSpec], api_keys: Mapping[str, str] | None,
              rpm: float | None, tpm: float | None) -> None:
        ctx = mp.get_context("spawn")
        keys = dict(api_keys or {}) or None
        for i, shard in enumerate(shards):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, name=f"lens-worker-{i}", daemon=True,
                               args=(child, shard.model_dump_json(), self.run_id, i, keys, rpm, tpm))
            proc.start()
            child.close()
            self.procs.append(proc)
            self.pipes.append(parent)
        for i, conn in enumerate(self.pipes):
            r = threading.Thread(target=self._read, args=(i, conn), daemon=True,
                                 name=f"lens-reader-{i}")
            r.start()
            self.readers.append(r)

    async def wait_ready(self, timeout_s: float, stop: StopSignal) -> None:
        # (Ctrl-C during the warm-up reaches the workers now, not after it)
        await _wait(lambda: len(self.done) == len(self.procs), timeout_s, self.procs,
                    lambda: self.forward(stop))
        errors = [m[1] for m in self.done.values() if m[0] == "error"]
        if errors:
            raise ProbeError(f"a worker process could not start: {errors[0]}")
        self.planned = {i: (m[1] if len(m) > 1 else None) for i, m in self.done.items()}
        self.done.clear()

    def go(self) -> None:
        start_at = perf_counter_ns() + _START_MARGIN_NS
        for conn in self.pipes:
            conn.send(("go", start_at))

    def forward(self, stop: StopSignal) -> None:
        """Tell every worker a stop or abandon it has not been told yet."""
        level = "abandon" if stop.abandoned else ("stop" if stop.stopped else "")
        if level != self.sent:
            for conn in self.pipes:
                conn.send((level,))
            self.sent = level

    async def run_until_done(self, stop: StopSignal) -> None:
        while len(self.done) < len(self.procs):
            self.forward(stop)
            await asyncio.sleep(0.05)
            if not any(p.is_alive() for p in self.procs) and len(self.done) < len(self.procs):
                await asyncio.sleep(0.2)  # let the readers post what the pipes still hold
                break

    def reap(self) -> None:
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
        for r in self.readers:
            r.join(1)

    def result(self) -> tuple[BurstResult, dict[str, str]]:
        """The merged result, and ``worker N -> why`` for workers that ended without
        finishing (the run is then incomplete; what they never sent is in ``skipped``).
        Raises when no worker finished at all."""
        if self.failed:
            raise self.failed[0]
        finished = {i: m for i, m in self.done.items() if m[0] == "done"}
        lost = [i for i in range(len(self.procs)) if i not in finished]
        if not finished:
            errors = [m[1] for m in self.done.values() if m[0] == "error"]
            raise ProbeError(f"a worker process failed: {errors[0] if errors else 'it died'}",
                             hint="finished requests are stored; run again with --workers 1 to see why")
        res = self.res
        failures: dict[str, str] = {}
        for m in finished.values():
            res.origins_ns.update(m[4])
        res.skipped = sum(m[1] for m in finished.values())
        for i in lost:
            failures[f"worker {i}"] = self._why(i)
            planned = self.planned.get(i)
            if planned is not None:
                res.skipped += max(0, planned - self.rows.get(i, 0))
        res.complete = not lost and all(m[2] for m in finished.values())
        clients = [m[3] for m in finished.values() if m[3]]
        res.client = max(clients, key=lambda c: c.get("lag_p99_ms", 0.0)) if clients else None
        res.finished_at = datetime.now(UTC)
        return res, failures

    def _why(self, shard: int) -> str:
        msg = self.done.get(shard)
        code = self.procs[shard].exitcode
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with code {code}" if code else "ended")
        said = f" ({msg[1]})" if msg is not None and msg[0] == "error" and len(msg) > 1 \
            and msg[1] != _ENDED else ""
        return (f"the worker process {how} before finishing{said}; its "
                f"{self.rows.get(shard, 0)} finished requests are stored")

    # -- the readers' side: posted to the loop's thread ----------------------------------------

    def _read(self, shard: int, conn: Any) -> None:
        post = self.loop.call_soon_threadsafe
        try:
            while True:
                msg = conn.recv()
                if msg[0] in ("ready", "done", "error"):
                    post(_note, self.done, shard, msg)
                    if msg[0] != "ready":
                        return
                else:
                    post(self._deliver, msg[0], shard, msg[1])
        except (EOFError, OSError):
            post(_note, self.done, shard, ("error", _ENDED))

    def _deliver(self, kind: str, shard: int, payload: Any) -> None:
        from lens.probe.engine import ProgressEvent

        try:
            if kind == "rec":
                self.rows[shard] = self.rows.get(shard, 0) + 1
                record, chunks = payload
                self.res.records.append(record)
                self.res.chunks.extend(chunks)
                self.sink.add(record, chunks)
            elif kind == "progress" and self.on_progress is not None:
                self.progress[(shard, payload.target)] = payload
                mine = [ev for (_, t), ev in self.progress.items() if t == payload.target]
                totals = [ev.total for ev in mine]
                self.on_progress(ProgressEvent(
                    payload.target, sum(ev.done for ev in mine),
                    None if None in totals else sum(totals),
                    sum(ev.errors for ev in mine), payload.last_status))
        except Exception as exc:  # a sink failing: raised by result(), never swallowed
            self.failed.append(exc)


def _note(done: dict[int, tuple[Any, ...]], shard: int, msg: tuple[Any, ...]) -> None:
    if msg[0] == "done":
        done[shard] = ("done", *msg[1:])
    else:
        done.setdefault(shard, msg)


async def _wait(cond: Callable[[], bool], timeout_s: float, procs: list[Any],
                tick: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if tick is not None:
            tick()
        if loop.time() > end or not any(p.is_alive() for p in procs):
            raise ProbeError("the worker processes did not start in time",
                             hint="try --workers 1; check that lens imports in a fresh Python")
        await asyncio.sleep(0.02)


def _share(limit: float | None, n: int) -> float | None:
    return None if limit is None else limit / n


def _worker(conn: Any, spec_json: str, run_id: str, shard: int,
            api_keys: dict[str, str] | None, rpm: float | None, tpm: float | None) -> None:
    """One shard in its own process: ready, wait for go, fire, send rows, say done."""
    from lens.probe.worker import serve_shard

    serve_shard(conn, spec_json, run_id, shard, api_keys, rpm=rpm, tpm=tpm)
