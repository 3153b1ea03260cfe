"""Fire a burst through runners in several regions: the fleet's Executor for lens.burst.run.

The fan-out runs in worker threads (invocations block); rows and progress are handed back
to the event loop's thread, so sinks see them exactly as they see the local engine's.
Stopping skips invocations not yet started; runners already invoked run to the end.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lens.burst.executor import ExecResult
from lens.fleet.fanout import FleetResult, RegionEvent, fan_out
from lens.fleet.invoker import Invoker
from lens.record import BurstResult, ChunkTiming, RequestRecord

if TYPE_CHECKING:
    from lens.burst.stop import StopSignal
    from lens.record import RecordSink
    from lens.spec import BurstSpec


@dataclass
class FleetExecutor:
    """Runs a burst in ``regions`` (``shards`` invocations each) through an Invoker.

    Without an ``invoker``: AWS Lambda when a fleet config and AWS credentials exist, else
    the local fleet (started here, closed after).
    """

    regions: Sequence[str] = ("us-east-1",)
    shards: int = 1
    invoker: Invoker | None = None
    boto3_session: Any = None
    inline: bool = True
    max_workers: int = 32
    runner: str = "fleet"
    result: FleetResult | None = field(default=None, init=False)

    @property
    def region(self) -> str:
        """What the runs table says for where it fired from: the regions, comma-separated."""
        return ",".join(dict.fromkeys(self.regions))

    async def execute(
        self,
        spec: BurstSpec,
        *,
        run_id: str,
        sink: RecordSink,
        on_progress: Callable[[Any], None] | None,
        stop: StopSignal,
    ) -> ExecResult:
        regions = list(dict.fromkeys(self.regions))
        if not regions:
            raise ValueError("give at least one region")
        loop = asyncio.get_running_loop()
        invoker: Invoker | None = self.invoker
        close = None
        if invoker is None:  # starting the local fleet takes a moment: not on the loop
            from lens.fleet import default_invoker

            invoker, close = await loop.run_in_executor(
                None, default_invoker, self.boto3_session, regions
            )

        failed: list[BaseException] = []

        def deliver(region: str, recs: list[RequestRecord], chs: list[ChunkTiming]) -> None:
            by_id: dict[str, list[ChunkTiming]] = {}
            for c in chs:
                by_id.setdefault(c.request_id, []).append(c)
            try:
                for r in recs:
                    r.run_id = run_id
                    sink.add(r, by_id.get(r.request_id, []))
            except Exception as exc:  # e.g. the store failed: raised below, never swallowed
                failed.append(exc)

        def on_rows(region: str, recs: list[RequestRecord], chs: list[ChunkTiming]) -> None:
            loop.call_soon_threadsafe(deliver, region, recs, chs)

        def progress(ev: RegionEvent) -> None:
            if on_progress is not None:
                loop.call_soon_threadsafe(on_progress, ev)

        assert invoker is not None
        started = datetime.now(UTC)
        try:
            fleet = await loop.run_in_executor(None, functools.partial(
                fan_out, spec, regions, run_id=run_id, dt=started.strftime("%Y-%m-%d"),
                invoker=invoker, shards=self.shards, on_rows=on_rows, progress=progress,
                should_start=lambda: not stop.stopped, inline=self.inline,
                max_workers=self.max_workers,
            ))  # fmt: skip
        finally:
            if close is not None:
                close()
        if failed:
            raise failed[0]
        self.result = fleet
        res = BurstResult(
            run_id=run_id, records=fleet.records, chunks=fleet.chunks, skipped=fleet.skipped,
            complete=not fleet.failures and not stop.stopped, started_at=started,
            finished_at=datetime.now(UTC),
        )
        return ExecResult(res, failures=fleet.failures, details=fleet)
