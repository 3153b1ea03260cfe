"""``lens run``, part two: fire into the store and sinks (one burst, or a fleet), with
progress, Ctrl-C handling, budgets, retention and the measuring-cost report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lens.errors import ConfigError, require

# sinks and progress ------------------------------------------------------------------------


@dataclass
class FanOut:
    """Passes each finished request to every sink (store first, so it is kept)."""

    sinks: list[Any]

    def add(self, record: Any, chunks: Sequence[Any]) -> None:
        for s in self.sinks:
            s.add(record, chunks)


class Progress:
    """A rich progress bar per target on stderr (no-op when disabled)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(
                TextColumn("{task.description}", markup=False),  # target names are data
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[errors]} errors"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.__exit__(None, None, None)
            self._bars = None

    def update(self, event: Any) -> None:
        if self._bars is None:
            return
        task = self._tasks.get(event.target)
        if task is None:
            task = self._bars.add_task(event.target, total=event.total, errors=0)
            self._tasks[event.target] = task
        self._bars.update(task, completed=event.done, total=event.total, errors=event.errors)


# firing ------------------------------------------------------------------------------------


def _limiter(spec: Any, args: argparse.Namespace) -> Any:
    """Client-side rate limiter from --rpm/--tpm; its waits are counted in queue_ms."""
    if args.rpm is None and args.tpm is None:
        return None
    from lens.probe.ratelimit import ClientRateLimiter

    return ClientRateLimiter.for_spec(spec, rpm=args.rpm, tpm=args.tpm)


@dataclass
class _Tally:
    """What the burst started and finished, for the skipped count when it is cancelled."""

    sink: Any
    started: int = 0
    finished: int = 0

    def should_start(self) -> bool:
        # The engine asks before each start (and only while not stopping), so every call
        # is one request started.
        self.started += 1
        return True

    def add(self, record: Any, chunks: Sequence[Any]) -> None:
        self.finished += 1
        self.sink.add(record, chunks)


def _planned(spec: Any) -> int | None:
    """Requests the whole burst would send (warm-up included); None when duration-bound."""
    from lens.workload.loadshape import planned_requests

    per_target = planned_requests(spec.load)
    return None if per_target is None else (per_target + spec.warmup) * len(spec.targets)


async def _fire_async(
    spec: Any, run_id: str, sink: Any, progress: Progress, err: Any, limiter: Any = None
) -> tuple[Any, bool, int]:
    """Run the burst; first Ctrl-C stops new requests, the second abandons in-flight ones.

    Returns (result or None when abandoned, interrupted, skipped). ``skipped`` counts, like
    the engine's ``result.skipped``, requests never started plus those abandoned in flight.
    """
    from lens.probe.engine import run_burst

    stop = asyncio.Event()
    tally = _Tally(sink)
    task = asyncio.ensure_future(
        run_burst(
            spec, run_id=run_id, sink=tally, on_progress=progress.update, stop=stop,
            should_start=tally.should_start, limiter=limiter,
        )
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        if stop.is_set():
            task.cancel()
        else:
            stop.set()
            err.print("lens: stopping: no new requests; Ctrl-C again to abandon in-flight ones")

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        result = await task
        return result, interrupted, result.skipped
    except asyncio.CancelledError:
        # The engine's result is lost with the task: count from what it started/finished.
        planned = _planned(spec)
        expected = tally.started if planned is None else planned
        return None, True, max(0, expected - tally.finished)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def fire_once(
    spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any], err: Any, run_id: str
) -> tuple[str, bool]:
    """Fire one burst into ``store``; returns (final status, interrupted)."""
    from lens.api import run_info

    store.start_run(run_info(spec, run_id))
    fan = FanOut([store, *sinks])
    show = not args.no_progress and sys.stderr.isatty()
    try:
        with Progress(show) as progress:
            with asyncio.Runner() as runner:
                result, interrupted, skipped = runner.run(
                    _fire_async(spec, run_id, fan, progress, err, _limiter(spec, args))
                )
    except BaseException:
        with contextlib.suppress(Exception):
            store.finish_run(run_id, status="failed")
        raise
    complete = result is not None and result.complete and not interrupted
    status = "complete" if complete else "incomplete"
    store.finish_run(run_id, status=status, skipped=0 if complete else skipped)
    return status, interrupted


def fire_fleet(spec: Any, args: argparse.Namespace, store: Any, err: Any, run_id: str) -> str:
    """--regions/--shards: hand the burst to lens.fleet.fire; make sure its rows are stored."""
    try:
        import lens.fleet as fleet
    except ImportError:
        fleet = None  # type: ignore[assignment]
    fire = getattr(fleet, "fire", None)
    flag = "--regions" if args.regions else "--shards"
    if fire is None:
        raise ConfigError(
            "firing from several regions or shards needs lens.fleet.fire, which this installation lacks",
            source=flag,
            hint="drop --regions/--shards to fire locally",
        )
    regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    kw: dict[str, Any] = {"shards": args.shards or 1, "store": store, "run_id": run_id}
    if regions:
        kw["regions"] = regions

    def progress(region: str, state: str, info: Any = None) -> None:
        if not args.no_progress:
            line = f"lens: {region}: {state}" + (f" ({info})" if info else "")
            err.print(line, markup=False, highlight=False)

    try:
        result = fire(spec, progress=progress, **kw)
    except ValueError as exc:
        raise ConfigError(str(exc), source=flag) from None
    store.flush()
    _ensure_stored(spec, store, result, run_id)
    for region, reason in (getattr(result, "failures", None) or {}).items():
        err.print(f"lens: fleet: {region}: {reason}", markup=False, highlight=False)
    _report_measuring_cost(result, err)
    return run_id


def _report_measuring_cost(result: Any, err: Any) -> None:
    """After a Lambda fleet run: what measuring cost (GB-seconds, invocations, S3 requests)."""
    frame = getattr(result, "frame", None)
    if frame is None or not len(frame) or "runner" not in frame.columns:
        return
    if not (frame["runner"].astype("object") == "lambda").any():
        return  # the local fleet costs nothing on AWS
    from lens.analysis.measuring_cost import actual_measuring_cost

    cost = actual_measuring_cost(frame)
    q = cost.quantities
    err.print(
        f"lens: measuring cost ${cost.total:.6f}: {q.get('invocations', 0):g} invocations, "
        f"{q.get('gb_seconds', 0):.1f} GB-s, {q.get('s3_puts', 0):g} S3 PUTs"
    )


def _ensure_stored(spec: Any, store: Any, result: Any, run_id: str) -> None:
    """Store fleet rows the fleet did not store itself (same run id, no duplicates)."""
    from lens.api import run_info

    if not store.has_run(run_id):
        info = run_info(spec, run_id)
        info.runner = "fleet"
        store.start_run(info)
    have = set(store.requests_frame(run_id)["request_id"].astype(str))
    missing = [r for r in result.records if r.request_id not in have]
    for r in missing:
        r.run_id = run_id
    if missing:
        want = {r.request_id for r in missing}
        store.add_many(missing, [c for c in result.chunks if c.request_id in want])
    if store.get_run(run_id).status == "running":
        failures = getattr(result, "failures", None) or []
        store.finish_run(run_id, status="incomplete" if failures else "complete")


def price_overrides(args: argparse.Namespace) -> Any:
    """The ``--prices`` file as a PriceBook, loaded once (None without the flag)."""
    if getattr(args, "prices", None) is None:
        return None
    if getattr(args, "price_book", None) is None:
        from lens.analysis.pricing import PriceBook

        args.price_book = PriceBook(args.prices)  # a bad file: ConfigError naming it
    return args.price_book


def exporter_sinks(args: argparse.Namespace) -> list[Any]:
    sinks: list[Any] = []
    book = price_overrides(args)  # read before firing, so a bad price file stops nothing
    if args.prometheus is not None or args.pushgateway:
        require("prometheus_client", "prometheus")  # names the extra to install
        from lens.exporters.prometheus import PrometheusSink, pricer_for

        sink = PrometheusSink() if book is None else PrometheusSink(pricer=pricer_for(book))
        if args.prometheus is not None:
            port = sink.serve(args.prometheus)
            print(
                f"lens: serving Prometheus metrics on http://127.0.0.1:{port}/metrics",
                file=sys.stderr,
            )
        sinks.append(sink)
    if args.otlp:
        require("opentelemetry.sdk", "otel")
        from lens.exporters.otel import OtelSink

        sinks.append(OtelSink(args.otlp))
    return sinks


def check_budget_flags(spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any]) -> None:
    if args.budget_usd is None and args.daily_budget_usd is None:
        return
    try:
        from lens.burst.budget import check_budget
    except ImportError as exc:
        raise ConfigError(
            f"budgets are not available in this installation ({exc})", source="--budget-usd"
        ) from None
    metrics = next((s for s in sinks if hasattr(s, "set_budget_ratio")), None)
    regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    fleet = args.regions is not None or args.shards is not None
    check_budget(
        spec, per_burst_usd=args.budget_usd, per_day_usd=args.daily_budget_usd, store=store,
        metrics=metrics, regions=regions, shards=args.shards or 1,
        on_lambda=fleet and _fleet_uses_lambda(), prices=price_overrides(args),
    )  # fmt: skip


def _fleet_uses_lambda() -> bool:
    try:
        from lens.fleet import uses_lambda
    except ImportError:
        return False
    return uses_lambda()


def apply_retention(store: Any, err: Any) -> None:
    """Honour the store's retention setting (``lens prune --set-retention``) before writing."""
    from lens.store.retention import apply_retention

    pruned = apply_retention(store)
    if pruned is not None and pruned.runs:
        err.print(f"lens: retention: pruned {len(pruned.runs)} run(s) older than the store's setting")


