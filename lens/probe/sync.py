"""Running a burst from synchronous code: its own event loop (uvloop when installed).

:func:`run_burst_sync` is :func:`lens.probe.engine.run_burst` for callers without a loop
(tests, scripts); ``lens.burst.run.run`` is the one call most callers want instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lens.errors import LensError

if TYPE_CHECKING:
    from lens.probe.targets import ProgressEvent, RateLimiter
    from lens.record import BurstResult, RecordSink
    from lens.spec import BurstSpec

__all__ = ["loop_factory", "run_burst_sync"]


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the ``fast`` extra is installed (LENS_NO_UVLOOP=1 opts out)."""
    if os.environ.get("LENS_NO_UVLOOP"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


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
    from lens.probe.engine import Burst

    burst = Burst(
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
