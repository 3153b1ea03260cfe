"""The Fire panel's firing: one burst at a time through ``lens.burst.run_async``, its
progress, Stop, and the closing status (done / stopped after N of M / every request
failed, plus whether the client kept up). Mixed into lens.widgets.fire.FirePanel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from lens.errors import LensError
from lens.record import ChunkTiming, RequestRecord, new_run_id
from lens.spec import BurstSpec
from lens.widgets._display import info_html, status_html
from lens.widgets.fire_results import closing_line, health_line
from lens.widgets.live import fleet_invoker


class _Sink:
    """RecordSink for the burst: hands each finished request to the panel."""

    def __init__(self, panel: FiringMixin) -> None:
        self.panel = panel

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        self.panel._add_rows([record], list(chunks))


class FiringMixin:
    """Fire, wait, stop; rows and progress as they arrive (FirePanel holds the state)."""

    store: Any
    redraw_interval: float
    controls: Any
    progress: Any
    status: Any
    health: Any
    closed: bool
    records: list[RequestRecord]
    chunks: list[ChunkTiming]
    all_records: list[RequestRecord]
    all_chunks: list[ChunkTiming]
    run_id: str | None
    outcome: Any
    error: BaseException | None
    fleet_result: Any
    _task: Any
    _stop: Any
    _lock: threading.Lock
    _dirty: bool
    _fresh: bool
    _invoker: Any
    _own_invoker: Any
    _regions_of_run: list[str]
    _spec_of_run: Any

    # FirePanel's (declared for the type checker)
    frame: Any

    def spec(self) -> BurstSpec:
        raise NotImplementedError

    def show_error(self, exc: BaseException) -> None:
        raise NotImplementedError

    def redraw(self) -> None:
        raise NotImplementedError

    def _reopen(self) -> None:
        raise NotImplementedError

    def _compute(self) -> Any:
        raise NotImplementedError

    def _show(self, drawn: Any) -> None:
        raise NotImplementedError

    # ---- firing ---------------------------------------------------------------------------

    def client_health(self) -> Any:
        """Whether the client kept up during the latest burst (lens.analysis.health)."""
        from lens.analysis.health import client_health

        client = getattr(self.outcome.result, "client", None) if self.outcome else None
        return client_health(self.frame, client)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def fire(self) -> Any:
        """Start a burst (what the Fire button does); returns the task, or None on a bad spec.

        On a running event loop (a notebook kernel) it is a task on that loop; without one
        the burst runs on its own loop in a daemon thread.
        """
        if self.running:
            return self._task
        try:
            if self.closed:
                self._reopen()
            spec = self.spec()
        except Exception as exc:
            self.show_error(exc)
            return None
        regions = list(self.controls.regions.value)
        self._begin(spec, regions)
        coro = self._guard(self._run(spec, regions))
        try:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(coro)
        except RuntimeError:
            self._task = _thread_future(coro)
        return self._task

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the current burst (if any) has finished."""
        task = self._task
        if task is None:
            return
        fut = asyncio.shield(task) if isinstance(task, asyncio.Future) else asyncio.wrap_future(task)
        await asyncio.wait_for(fut, timeout)

    async def fire_and_wait(self, timeout: float | None = None) -> Any:
        """Fire, wait, and return the run's request frame (empty on an error; see ``error``)."""
        if self.fire() is not None:
            await self.wait(timeout)
        return self.frame

    def stop(self) -> None:
        """Start no new requests (or shards); in-flight ones finish and are kept."""
        if self._stop is not None:
            self._stop.stop()
            self.controls.stop_button.disabled = True
            self.status.value = status_html(
                "warn", f"stopping after {self.progress.done:,} requests: waiting for the "
                "in-flight ones")

    def _begin(self, spec: BurstSpec, regions: list[str]) -> None:
        from lens.burst.stop import StopSignal

        self.error = self.outcome = self.fleet_result = None
        self._stop = StopSignal()
        self._regions_of_run = regions
        self._spec_of_run = spec
        with self._lock:
            self.records, self.chunks = [], []
        self._fresh = True  # the last run's chart stays until this run's first rows
        self.run_id = new_run_id()
        per_target = (spec.load.requests or 0) * (spec.sessions.turns if spec.sessions else 1)
        if regions:
            planned: dict[str, int | None] = {r: per_target * len(spec.targets) or None
                                              for r in regions}
        else:
            planned = {t.label: per_target or None for t in spec.targets}
        self.progress.begin(planned)
        self.controls.set_running(True)
        self.health.value = ""
        where = f"regions {', '.join(regions)}" if regions else "in-process"
        self.status.value = info_html(
            f"running {self.run_id}: {len(spec.targets)} target(s), {where}")

    def _end(self) -> None:
        self.controls.set_running(False)
        self._stop = None

    async def _guard(self, coro: Any) -> None:
        stopped = False
        try:
            await coro
            stopped = bool(self.outcome is not None and self.outcome.status != "complete"
                           and self._stop is not None and self._stop.stopped)
        except asyncio.CancelledError:
            stopped = True
            self.status.value = status_html("warn", "cancelled")
        except Exception as exc:
            self.show_error(exc)
        finally:
            self.progress.finish(stopped)
            self.redraw()
            self._close_status(stopped)
            self._end()

    def _close_status(self, stopped: bool) -> None:
        if self.error is not None or self.outcome is None:
            return
        kind, text = closing_line(self.run_id, self.progress.done, self.progress.planned,
                                  self.progress.failed, stopped, self.outcome.skipped)
        self.status.value = status_html(kind, text)
        if self.records:
            hk, htext = health_line(self.frame, getattr(self.outcome.result, "client", None))
            self.health.value = status_html(hk, htext).replace("lens-status", "lens-health")

    async def _run(self, spec: BurstSpec, regions: list[str]) -> None:
        """ONE library call: lens.burst.run_async (the engine here, or the fleet)."""
        from lens.burst.executor import LocalExecutor
        from lens.burst.run import run_async

        loop = asyncio.get_running_loop()
        executor: Any = LocalExecutor()
        if regions:
            from lens.fleet.executor import FleetExecutor

            if self._invoker is None:  # starting the local fleet takes a moment: not on the loop
                self._own_invoker = await loop.run_in_executor(None, fleet_invoker)
                self._invoker = self._own_invoker
            executor = FleetExecutor(regions=regions, shards=int(self.controls.shards.value),
                                     invoker=self._invoker)
        ticker = loop.create_task(self._tick())
        try:
            self.outcome = await run_async(
                spec, store=self.store, sinks=[_Sink(self)], on_progress=self._on_progress,
                stop=self._stop, executor=executor, run_id=self.run_id, source="panel",
                run_extra={"regions": regions} if regions else None,
            )  # fmt: skip
        finally:
            ticker.cancel()
        self.fleet_result = self.outcome.details
        if self.outcome.failures:
            msgs = "; ".join(f"{r}: {m}" for r, m in self.outcome.failures.items())
            self.show_error(LensError(f"some regions failed ({msgs})",
                                      hint="rows of the other regions are kept"))

    # ---- results --------------------------------------------------------------------------

    def _add_rows(self, records: list[RequestRecord], chunks: list[ChunkTiming]) -> None:
        with self._lock:
            self.records.extend(records)
            self.chunks.extend(chunks)
            self.all_records.extend(records)
            self.all_chunks.extend(chunks)
            self._dirty = True
        for r in records:
            key = (r.region or "?") if self._regions_of_run else r.target
            self.progress.add(key, r.status, r.error)

    def _on_progress(self, ev: Any) -> None:
        if hasattr(ev, "state"):  # a fleet region event
            self.progress.region_state(ev.region, ev.state, dict(ev.info))
            if ev.state == "failed":
                self.error = self.error or LensError(
                    f"{ev.region}: {ev.info.get('error') or ev.info.get('reason')}")
            return
        t = self.progress.tallies.get(ev.target)
        if t is not None and ev.total:
            t.planned = ev.total  # the engine's own count (sessions, traces)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.redraw_interval)
            self.progress.render()  # counts and the live timer, even before any row
            if self._dirty:
                # Build the frame, chart and Vega spec in a worker thread: the burst's timing
                # runs on this loop, and a blocked loop would delay (inflate) its timestamps.
                self._dirty = False
                try:
                    drawn = await loop.run_in_executor(None, self._compute)
                except Exception as exc:
                    self.show_error(exc)
                    continue
                self._show(drawn)


def _thread_future(coro: Any) -> Any:
    """Run ``coro`` on a private event loop in a daemon thread (no running loop here)."""
    import concurrent.futures

    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(asyncio.run(coro))
        except BaseException as exc:
            fut.set_exception(exc)

    threading.Thread(target=run, name="lens-fire", daemon=True).start()
    return fut
