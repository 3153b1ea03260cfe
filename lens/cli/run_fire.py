"""``lens run``, part two: flags to one ``lens.burst.run`` call (local or fleet executor,
sinks, budget, progress), then what to tell the user about it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lens.cli.safe_text import clean
from lens.errors import require

# sinks and progress ------------------------------------------------------------------------


class Progress:
    """A rich progress bar per target on stderr (no-op when disabled); for a fleet, one
    line per region state change (``fleet_lines``)."""

    def __init__(self, enabled: bool, *, fleet_lines: bool = False, err: Any = None) -> None:
        self.enabled = enabled and not fleet_lines
        self.fleet_lines = fleet_lines
        self.err = err
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
        region = getattr(event, "region", None)
        if region is not None and hasattr(event, "state"):  # a fleet region event
            if self.fleet_lines and self.err is not None:
                info = ", ".join(f"{k}={v}" for k, v in event.info.items() if v not in (None, 0))
                line = f"lens: {region}: {event.state}" + (f" ({info})" if info else "")
                self.err.print(clean(line), markup=False, highlight=False)
            return
        if self._bars is None:
            return
        task = self._tasks.get(event.target)
        if task is None:
            task = self._bars.add_task(clean(event.target), total=event.total, errors=0)
            self._tasks[event.target] = task
        self._bars.update(task, completed=event.done, total=event.total, errors=event.errors)


# firing ------------------------------------------------------------------------------------


def _limiter(spec: Any, args: argparse.Namespace) -> Any:
    """Client-side rate limiter from --rpm/--tpm; its waits are counted in queue_ms."""
    if args.rpm is None and args.tpm is None:
        return None
    from lens.probe.ratelimit import ClientRateLimiter

    return ClientRateLimiter.for_spec(spec, rpm=args.rpm, tpm=args.tpm)


def _regions(args: argparse.Namespace) -> list[str]:
    return [r.strip() for r in (args.regions or "").split(",") if r.strip()]


def _is_fleet(args: argparse.Namespace) -> bool:
    return args.regions is not None or args.shards is not None


def _executor(spec: Any, args: argparse.Namespace, err: Any) -> Any:
    """The local engine (in worker processes when the burst wants more than one core), or
    with --regions/--shards the fleet (lens.fleet)."""
    from lens.burst.executor import default_executor

    if not _is_fleet(args):
        return default_executor(spec, limiter=_limiter(spec, args), rpm=args.rpm, tpm=args.tpm)
    from lens.fleet.executor import FleetExecutor

    return FleetExecutor(regions=_regions(args) or ["us-east-1"], shards=args.shards or 1)


def _budget(args: argparse.Namespace, sinks: list[Any]) -> Any:
    if args.budget_usd is None and args.daily_budget_usd is None:
        return None
    from lens.burst.run import Budget

    fleet = _is_fleet(args)
    return Budget(
        per_burst_usd=args.budget_usd, per_day_usd=args.daily_budget_usd,
        regions=_regions(args), shards=args.shards or 1,
        on_lambda=fleet and _fleet_uses_lambda(),
        metrics=next((s for s in sinks if hasattr(s, "set_budget_ratio")), None),
        prices=price_overrides(args),
    )  # fmt: skip


def fire(
    spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any], err: Any, run_id: str
) -> tuple[str, bool]:
    """Fire one burst into ``store`` through lens.burst.run; returns (status, interrupted)."""
    from lens.burst.run import run

    signals: list[str] = []

    def on_signal(level: str) -> None:
        signals.append(level)
        if level == "stop":
            err.print("lens: stopping: no new requests; Ctrl-C again to abandon in-flight ones")

    show = not args.no_progress and sys.stderr.isatty()
    with Progress(show, fleet_lines=_is_fleet(args) and not args.no_progress, err=err) as progress:
        outcome = run(
            spec, store=store, sinks=sinks, on_progress=progress.update, run_id=run_id,
            executor=_executor(spec, args, err), budget=_budget(args, sinks),
            on_signal=on_signal,
        )  # fmt: skip
    if outcome.pruned is not None and outcome.pruned.runs:
        err.print(f"lens: retention: pruned {len(outcome.pruned.runs)} run(s) older than the "
                  "store's setting")
    for region, reason in outcome.failures.items():
        where = region if region.startswith("worker ") else f"fleet: {region}"  # --workers
        err.print(clean(f"lens: {where}: {reason}"), markup=False, highlight=False)
    if outcome.details is not None:
        _report_measuring_cost(outcome.details, err)
    return outcome.status, bool(signals)


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


def _fleet_uses_lambda() -> bool:
    try:
        from lens.fleet import uses_lambda
    except ImportError:
        return False
    return uses_lambda()
