"""Test doubles for the Lambda runner (lens.fleet.runner.handle).

``burst_executor(fn)`` turns a fake burst function -- ``fn(spec, *, run_id, sink,
should_start, api_keys, shard)`` adding rows to ``sink`` and returning something with
``skipped`` and ``records`` (or raising) -- into the executor factory ``handle`` takes, so
the handler still fires through ``lens.burst.run.run`` while the test decides what the
"engine" measured. ``should_start()`` is True until the deadline the handler computed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lens.burst.executor import ExecResult
from lens.record import BurstResult


class Ctx:
    """A Lambda context whose remaining time counts down from ``ms`` (like the real one)."""

    def __init__(self, ms: float = 60_000, request_id: str = "11111111-2222-3333-4444-555555555555") -> None:
        self.aws_request_id = request_id
        self.deadline = time.monotonic() + ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


@dataclass
class FnExecutor:
    fn: Callable[..., Any]
    api_keys: Any
    deadline_ns: int
    shard: int
    runner: str = "lambda"

    async def execute(self, spec: Any, *, run_id: str, sink: Any, on_progress: Any, stop: Any) -> ExecResult:
        res = self.fn(spec, run_id=run_id, sink=sink, api_keys=self.api_keys, shard=self.shard,
                      should_start=lambda: time.perf_counter_ns() < self.deadline_ns)
        return ExecResult(BurstResult(run_id=run_id, records=list(getattr(res, "records", [])),
                                      skipped=int(getattr(res, "skipped", 0))))


def burst_executor(fn: Callable[..., Any], seen: dict[str, Any] | None = None) -> Callable[..., FnExecutor]:
    """The executor factory for ``handle(..., executor=...)``; ``seen`` gets its arguments."""

    def make(*, api_keys: Any, deadline_ns: int, shard: int, runner: str) -> FnExecutor:
        if seen is not None:
            seen.update(deadline_ns=deadline_ns, executor_runner=runner)
        return FnExecutor(fn, api_keys, deadline_ns, shard, runner)

    return make
