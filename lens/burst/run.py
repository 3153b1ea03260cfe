"""The one way to fire a burst into a store: ``lens.burst.run`` (sync) and ``run_async``.

Every caller -- ``lens run``, the notebook widgets, ``lens.fire``, the fleet and its Lambda
runners, schedules -- fires through here, so a run is always kept the same way:

1. the spec is validated (a mapping goes through ``spec_from_dict``);
2. the store's retention setting is applied and the budget checked, before anything is sent;
3. the run row is written (one run-info format, one run-id format);
4. each finished request goes to the store first, then to every sink and the budget watch;
5. the run ends ``complete``, ``incomplete`` (stopped, abandoned, a region failed) or
   ``failed`` (an exception), with the number of requests never sent in ``skipped``.

What fires the requests is an :class:`~lens.burst.executor.Executor`: the engine on this
loop, worker processes when the burst wants more than one core (lens.burst.workers; the
default picks), or a fleet of runners (``lens.fleet.FleetExecutor``).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lens.burst.executor import ExecResult, Executor, default_executor
from lens.burst.stop import StopSignal
from lens.record import BurstResult, ChunkTiming, RecordSink, RequestRecord, RunInfo, new_run_id
from lens.spec import BurstSpec, spec_from_dict

if TYPE_CHECKING:
    from lens.store.base import Store

__all__ = ["Budget", "FanOut", "RunOutcome", "run", "run_async", "run_info"]


@dataclass(frozen=True)
class Budget:
    """Cost limits checked before a burst and watched while it runs (lens.burst.budget)."""

    per_burst_usd: Decimal | float | str | None = None
    per_day_usd: Decimal | float | str | None = None
    regions: Sequence[str] = ()
    shards: int = 1
    on_lambda: bool = False  # count the Lambda measuring cost too
    metrics: Any = None  # where budget ratios go (a PrometheusSink)
    prices: Any = None  # price overrides: a PriceBook, PriceOverrides or a TOML path


@dataclass
class RunOutcome:
    """What :func:`run` returns: the run's id and status, every record, fleet details."""

    run_id: str
    status: str  # complete | incomplete | failed
    result: BurstResult
    failures: dict[str, str] = field(default_factory=dict)
    details: Any = None
    budget: Any = None  # the BudgetCheck, when a budget was given
    pruned: Any = None  # what the store's retention setting pruned before the run

    @property
    def records(self) -> list[RequestRecord]:
        return self.result.records

    @property
    def chunks(self) -> list[ChunkTiming]:
        return self.result.chunks

    @property
    def skipped(self) -> int:
        return self.result.skipped

    @property
    def complete(self) -> bool:
        return self.status == "complete"


@dataclass
class FanOut:
    """Hands each finished request to every sink in order (the store first, so it is kept)."""

    sinks: list[RecordSink]

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        for s in self.sinks:
            s.add(record, chunks)


def _user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return ""


def run_info(spec: BurstSpec, run_id: str, *, runner: str | None = None,
             extra: Mapping[str, Any] | None = None, keep_text: bool = False) -> RunInfo:
    """The runs-table row for a burst about to fire.

    The spec JSON holds no secrets: keys are named by environment variable, and
    secret-carrying headers are refused by TargetSpec. Nor prompt text: inline prompts
    are kept as hashes and sizes unless ``keep_text`` (then redacted; lens.spec.stored).
    """
    from lens._version import __version__
    from lens.spec.stored import stored_spec_json

    return RunInfo(
        run_id=run_id,
        name=spec.name,
        started_at=datetime.now(UTC),
        spec_json=stored_spec_json(spec, keep_text=keep_text),
        host=socket.gethostname(),
        user=_user(),
        region=spec.region,
        runner=runner or spec.runner,
        lens_version=__version__,
        tags=dict(spec.tags),
        extra=dict(extra or {}),
    )


def _as_spec(spec: BurstSpec | Mapping[str, Any], source: str) -> BurstSpec:
    return spec if isinstance(spec, BurstSpec) else spec_from_dict(spec, source=source)


async def run_async(
    spec: BurstSpec | Mapping[str, Any],
    *,
    store: Store | None = None,
    sinks: Sequence[RecordSink] = (),
    on_progress: Callable[[Any], None] | None = None,
    stop: StopSignal | None = None,
    executor: Executor | None = None,
    run_id: str | None = None,
    budget: Budget | None = None,
    retention: bool = True,
    run_extra: Mapping[str, Any] | None = None,
    source: str = "lens.run(spec)",
    keep_text: bool = False,
) -> RunOutcome:
    """Fire ``spec`` into ``store`` (and ``sinks``) on the running event loop.

    ``store`` may be None (rows only go to ``sinks`` and the returned outcome: the Lambda
    runner writes its own Parquet). ``source`` names the spec in validation errors. ``stop`` stops or abandons the burst from anywhere.
    ``keep_text`` keeps inline prompt texts (redacted) in the stored spec; by default
    only their hashes and sizes.
    Raises BudgetExceededError before anything is sent when a budget would be exceeded.
    """
    spec = _as_spec(spec, source)
    executor = executor or default_executor(spec)
    stop = stop or StopSignal()
    run_id = run_id or new_run_id()
    chain: list[RecordSink] = [*([store] if store is not None else []), *sinks]
    check = pruned = None
    if store is not None and retention and getattr(store, "engine", None) is not None:
        from lens.store.retention import apply_retention  # SQL stores keep a retention setting

        pruned = apply_retention(store)
    if budget is not None:
        from lens.burst.budget import BudgetWatch, check_budget

        check = check_budget(
            spec, per_burst_usd=budget.per_burst_usd, per_day_usd=budget.per_day_usd,
            store=store, metrics=budget.metrics, regions=list(budget.regions),
            shards=budget.shards, on_lambda=budget.on_lambda, prices=budget.prices,
        )  # fmt: skip
        if check is not None:
            chain.append(BudgetWatch(check, metrics=budget.metrics))
    if store is not None:
        info = run_info(spec, run_id, runner=executor.runner, extra=run_extra, keep_text=keep_text)
        info.region = getattr(executor, "region", None) or info.region
        store.start_run(info)
    try:
        out: ExecResult = await executor.execute(
            spec, run_id=run_id, sink=FanOut(chain), on_progress=on_progress, stop=stop
        )
    except BaseException:
        if store is not None:
            with contextlib.suppress(Exception):
                store.finish_run(run_id, status="failed")
        raise
    res = out.result
    complete = res.complete and not out.failures and not stop.stopped
    status = "complete" if complete else "incomplete"
    if store is not None:
        store.finish_run(run_id, status=status, skipped=0 if complete else res.skipped,
                         extra={"client": res.client} if res.client else None)
    return RunOutcome(run_id, status, res, dict(out.failures), out.details, check, pruned)


def run(
    spec: BurstSpec | Mapping[str, Any],
    *,
    on_signal: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> RunOutcome:
    """:func:`run_async` from synchronous code, on its own event loop (uvloop when installed).

    Takes :func:`run_async`'s keyword arguments. Called from the main thread, the first
    Ctrl-C (or SIGTERM) stops starting requests and the second abandons in-flight ones;
    ``on_signal("stop" | "abandon")`` is told each time. The partial outcome is returned
    either way (status ``incomplete``).
    """
    from lens.probe.sync import loop_factory

    stop = kwargs.get("stop") or StopSignal()
    kwargs["stop"] = stop
    out: list[RunOutcome] = []

    async def main() -> None:
        # Return nothing from the main task: asyncio.Runner reprs it on exit (through its
        # SIGINT handler), and the repr of a finished task includes its result -- every
        # record of the burst, O(n) in time and memory for nothing.
        _install_signals(stop, on_signal)
        out.append(await run_async(spec, **kwargs))

    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:  # (not inside the except block: its exception would become every
        # exception's __context__ while the burst runs)
        saved = _signal_handlers()
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                runner.run(main())
            return out[0]
        finally:
            # uvloop leaves its (closed) loop's handlers installed: a later SIGTERM would be
            # swallowed (a Lambda runtime or a CLI process could no longer be stopped).
            _restore_signal_handlers(saved)
    # Called from a running loop (a notebook cell): block on a private loop in a thread.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lens-run") as pool:
        pool.submit(asyncio.run, main()).result()
    return out[0]


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _signal_handlers() -> dict[int, Any]:
    """The process's SIGINT/SIGTERM handlers (empty off the main thread: nothing to restore)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in _SIGNALS}


def _restore_signal_handlers(saved: Mapping[int, Any]) -> None:
    for sig, handler in saved.items():
        with contextlib.suppress(TypeError, ValueError, OSError):
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _install_signals(stop: StopSignal, on_signal: Callable[[str], None] | None) -> None:
    loop = asyncio.get_running_loop()

    def handle() -> None:
        level = "abandon" if stop.stopped else "stop"
        if level == "abandon":
            stop.abandon()
        else:
            stop.stop()
        if on_signal is not None:
            on_signal(level)

    for sig in _SIGNALS:
        # Only the main thread may install handlers (a notebook's worker thread cannot).
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, handle)
