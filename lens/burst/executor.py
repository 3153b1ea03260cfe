"""What fires a burst's requests: the engine in this process, or (lens.fleet) runners elsewhere.

``lens.burst.run`` does the bookkeeping (run row, budgets, sinks, status) around an
Executor, so every way of firing -- CLI, widgets, ``lens.fire``, schedules, the Lambda
runner, the fleet -- keeps runs the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lens.record import BurstResult

if TYPE_CHECKING:
    from lens.burst.stop import StopSignal
    from lens.record import RecordSink
    from lens.spec import BurstSpec


@dataclass
class ExecResult:
    """An executor's answer: the engine's result plus, for fleets, per-region failures."""

    result: BurstResult
    failures: dict[str, str] = field(default_factory=dict)  # region -> reason
    details: Any = None  # e.g. lens.fleet.FleetResult


class Executor(Protocol):
    """Fires ``spec`` and hands every finished request to ``sink`` as it completes."""

    runner: str  # what the runs table says fired it: local | fleet | lambda | ...

    async def execute(
        self,
        spec: BurstSpec,
        *,
        run_id: str,
        sink: RecordSink,
        on_progress: Callable[[Any], None] | None,
        stop: StopSignal,
    ) -> ExecResult: ...


@dataclass
class LocalExecutor:
    """The burst engine on the running event loop (lens.probe.engine.run_burst)."""

    limiter: Any = None
    api_keys: Mapping[str, str] | None = None
    should_start: Callable[[], bool] | None = None
    shard: int = 0
    deadline_ns: int | None = None  # perf_counter_ns by which every request must end
    runner: str = "local"

    async def execute(
        self,
        spec: BurstSpec,
        *,
        run_id: str,
        sink: RecordSink,
        on_progress: Callable[[Any], None] | None,
        stop: StopSignal,
    ) -> ExecResult:
        from lens.probe.engine import run_burst

        stop_ev, abandon_ev = stop.events()
        result = await run_burst(
            spec, run_id=run_id, sink=sink, on_progress=on_progress, stop=stop_ev,
            abandon=abandon_ev, should_start=self.should_start, api_keys=self.api_keys,
            limiter=self.limiter, shard=self.shard, deadline_ns=self.deadline_ns,
        )  # fmt: skip
        return ExecResult(result)


def default_executor(spec: BurstSpec, *, limiter: Any = None, rpm: float | None = None,
                     tpm: float | None = None,
                     api_keys: Mapping[str, str] | None = None) -> Executor:
    """The engine here, or worker processes when the burst wants more than one core
    (``spec.workers``, or lens.burst.workers.auto_workers)."""
    from lens.burst.workers import WorkersExecutor, auto_workers

    n = auto_workers(spec)
    if n > 1:
        return WorkersExecutor(n, api_keys=api_keys, rpm=rpm, tpm=tpm)
    return LocalExecutor(limiter=limiter, api_keys=api_keys)
