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
        from lens.probe.engine import ProgressEvent

        shards = shard_specs(spec, self.workers)
        loop = asyncio.get_running_loop()
        ctx = mp.get_context("spawn")
        procs, pipes = [], []
        for i, shard in enumerate(shards):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_worker, name=f"lens-worker-{i}", daemon=True,
                args=(child, shard.model_dump_json(), run_id, i, dict(self.api_keys or {}) or None,
                      _share(self.rpm, len(shards)), _share(self.tpm, len(shards))),
            )  # fmt: skip
            proc.start()
            child.close()
            procs.append(proc)
            pipes.append(parent)
        res = BurstResult(run_id=run_id, started_at=datetime.now(UTC))
        done: dict[int, tuple[Any, ...]] = {}
        progress: dict[tuple[int, str], Any] = {}
        failed: list[BaseException] = []

        def deliver(kind: str, shard: int, payload: Any) -> None:
            try:
                if kind == "rec":
                    record, chunks = payload
                    res.records.append(record)
                    res.chunks.extend(chunks)
                    sink.add(record, chunks)
                elif kind == "progress" and on_progress is not None:
                    progress[(shard, payload.target)] = payload
                    mine = [ev for (_, t), ev in progress.items() if t == payload.target]
                    totals = [ev.total for ev in mine]
                    on_progress(ProgressEvent(
                        payload.target, sum(ev.done for ev in mine),
                        None if None in totals else sum(totals),
                        sum(ev.errors for ev in mine), payload.last_status))
            except Exception as exc:  # a sink failing: raised below, never swallowed
                failed.append(exc)

        def read(shard: int, conn: Any) -> None:
            try:
                while True:
                    msg = conn.recv()
                    if msg[0] in ("ready", "done", "error"):
                        loop.call_soon_threadsafe(_note, done, shard, msg)
                        if msg[0] != "ready":
                            return
                    else:
                        loop.call_soon_threadsafe(deliver, msg[0], shard, msg[1])
            except (EOFError, OSError):
                loop.call_soon_threadsafe(_note, done, shard, ("error", "the worker process ended"))

        readers = [threading.Thread(target=read, args=(i, c), daemon=True, name=f"lens-reader-{i}")
                   for i, c in enumerate(pipes)]
        for r in readers:
            r.start()
        try:
            await _wait(lambda: len(done) == len(shards), self.start_timeout_s, procs)
            errors = [m[1] for m in done.values() if m[0] == "error"]
            if errors:
                raise ProbeError(f"a worker process could not start: {errors[0]}")
            done.clear()
            start_at = perf_counter_ns() + _START_MARGIN_NS
            for conn in pipes:
                conn.send(("go", start_at))
            sent = ""
            while len(done) < len(shards):
                level = "abandon" if stop.abandoned else ("stop" if stop.stopped else "")
                if level != sent:
                    for conn in pipes:
                        conn.send((level,))
                    sent = level
                await asyncio.sleep(0.05)
                if not any(p.is_alive() for p in procs) and len(done) < len(shards):
                    await asyncio.sleep(0.2)  # let the readers post what the pipes still hold
                    break
        finally:
            for proc in procs:
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
            for r in readers:
                r.join(1)
        await asyncio.sleep(0)  # deliveries posted before the "done" messages
        if failed:
            raise failed[0]
        errors = [m[1] for m in done.values() if m[0] == "error"]
        if errors or len(done) < len(shards):
            raise ProbeError(f"a worker process failed: {errors[0] if errors else 'it died'}",
                             hint="finished requests are stored; run again with --workers 1 to see why")
        for m in done.values():
            res.origins_ns.update(m[4])
        res.skipped = sum(m[1] for m in done.values())
        res.complete = all(m[2] for m in done.values())
        clients = [m[3] for m in done.values() if m[3]]
        res.client = max(clients, key=lambda c: c.get("lag_p99_ms", 0.0)) if clients else None
        res.finished_at = datetime.now(UTC)
        return ExecResult(res)


def _note(done: dict[int, tuple[Any, ...]], shard: int, msg: tuple[Any, ...]) -> None:
    if msg[0] == "done":
        done[shard] = ("done", *msg[1:])
    else:
        done.setdefault(shard, msg)


async def _wait(cond: Callable[[], bool], timeout_s: float, procs: list[Any]) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
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
