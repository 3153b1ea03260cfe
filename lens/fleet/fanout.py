"""Fan one burst out to runners in several regions (threads, one invoke per shard and region).

Each region's rows are kept even when another region fails; rows reach ``on_rows`` as soon
as their shard answers. Used by :class:`lens.fleet.executor.FleetExecutor`, which is how
``lens.burst.run`` fires a fleet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lens.fleet.invoker import InvokeError, Invoker, RowFetcher, parse_response
from lens.fleet.runner.wire import RunnerResponse
from lens.record import ChunkTiming, RequestRecord
from lens.spec import BurstSpec

if TYPE_CHECKING:
    import pandas as pd

RowsFn = Callable[[str, list[RequestRecord], list[ChunkTiming]], None]


@dataclass(frozen=True)
class RegionEvent:
    """Progress of one region: ``state`` running | shard_done | failed | ok | partial."""

    region: str
    state: str
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class RegionStatus:
    """How one region did: shards answered/failed, rows kept, skipped requests, reason."""

    region: str
    state: str = "pending"  # pending | running | ok | partial | failed
    shards: int = 0
    shards_ok: int = 0
    n_records: int = 0
    skipped: int = 0
    rows_truncated: int = 0  # records a runner measured but could neither store nor return
    cold_starts: int = 0
    init_ms: float | None = None
    duration_ms: float = 0.0
    reason: str | None = None  # throttled | timeout | not_found | credentials | ...
    error: str | None = None
    s3_keys: list[dict[str, str]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass
class FleetResult:
    run_id: str
    records: list[RequestRecord]
    chunks: list[ChunkTiming]
    statuses: dict[str, RegionStatus]

    @property
    def failures(self) -> dict[str, str]:
        """region -> "reason: message" for every region with a failed shard."""
        return {r: s.error or s.reason or "failed" for r, s in self.statuses.items() if s.state in ("failed", "partial")}

    @property
    def frame(self) -> pd.DataFrame:
        from lens.record.frames import records_to_frame

        return records_to_frame(self.records)

    @property
    def chunk_frame(self) -> pd.DataFrame:
        from lens.record.frames import chunks_to_frame

        return chunks_to_frame(self.chunks)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.statuses.values())


def shard_specs(spec: BurstSpec, shards: int) -> list[BurstSpec]:
    """Split a burst's requests over ``shards`` invocations (warm-up in each; seeds differ)."""
    if shards < 1:
        raise ValueError("shards must be >= 1")
    if shards > 1 and spec.load.kind == "trace":
        from lens.errors import ConfigError

        raise ConfigError(
            "a trace cannot be split into shards: each shard would replay its own copy",
            field="load.trace", hint="fire a trace unsharded (each region replays the whole trace)",
        )  # fmt: skip
    total = spec.load.requests
    if total is None or shards == 1:
        return [spec.model_copy(update={"load": spec.load.model_copy(update={"seed": spec.load.seed + i})})
                for i in range(shards)]
    base, extra = divmod(total, shards)
    out = []
    for i in range(shards):
        n = base + (1 if i < extra else 0)
        if n == 0:
            continue
        out.append(spec.model_copy(update={"load": spec.load.model_copy(update={"requests": n, "seed": spec.load.seed + i})}))
    return out




def fan_out(
    spec: BurstSpec,
    regions: Sequence[str],
    *,
    run_id: str,
    dt: str,
    invoker: Invoker,
    shards: int = 1,
    on_rows: RowsFn | None = None,
    progress: Callable[[RegionEvent], None] | None = None,
    should_start: Callable[[], bool] | None = None,
    inline: bool = True,
    max_workers: int = 32,
) -> FleetResult:
    """Invoke the runner for every (shard, region); blocks until all answered or failed.

    ``should_start()`` is asked before each invocation: False skips it (its requests count
    in the region's ``skipped``). ``dt`` is the run's date partition, fixed before the first
    invocation so shards answering after UTC midnight keep the run's keys.
    """
    specs = shard_specs(spec, shards)
    statuses = {r: RegionStatus(region=r, shards=len(specs)) for r in regions}
    records: list[RequestRecord] = []
    chunks: list[ChunkTiming] = []

    def notify(region: str, state: str, **info: Any) -> None:
        if progress is not None:
            progress(RegionEvent(region, state, info))

    def one(region: str, shard: int, shard_spec: BurstSpec) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        st = statuses[region]
        if should_start is not None and not should_start():
            st.skipped += (shard_spec.load.requests or 0) * len(shard_spec.targets)
            st.reason = st.reason or "stopped"
            return [], []
        if st.state == "pending":
            st.state = "running"
            notify(region, "running", shards=st.shards)
        payload = {
            "spec": shard_spec.model_dump(mode="json", exclude_none=True),
            "run_id": run_id, "region": region, "shard": shard, "shards": len(specs),
            "inline": inline, "dt": dt,
        }
        t0 = time.perf_counter()
        try:
            response = parse_response(invoker.invoke(region, payload))
            if not response.ok and not response.n_records:
                raise InvokeError("refused", response.error or "the runner refused the event")
            if isinstance(invoker, RowFetcher):
                recs, chs = invoker.fetch_rows(region, response)
            else:
                recs, chs = response.inline_rows() or ([], [])
        except InvokeError as exc:
            st.reason, st.error = exc.reason, str(exc)
            notify(region, "failed", shard=shard, reason=exc.reason, error=str(exc))
            return [], []
        except Exception as exc:  # a broken invoker must not lose the other regions
            st.reason, st.error = "error", f"error: {type(exc).__name__}: {exc}"
            notify(region, "failed", shard=shard, reason="error", error=st.error)
            return [], []
        _account(st, shard, response, recs, time.perf_counter() - t0)
        if on_rows is not None and recs:
            on_rows(region, recs, chs)
        notify(region, "shard_done", shard=shard, records=len(recs),
               errors=sum(r.status != "ok" for r in recs),
               skipped=response.skipped, rows_truncated=response.rows_truncated)
        return recs, chs

    jobs = [(r, i, s) for i, s in enumerate(specs) for r in regions]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(jobs)))) as pool:
        for recs, chs in pool.map(lambda j: one(*j), jobs):
            records.extend(recs)
            chunks.extend(chs)
    for st in statuses.values():
        ok = st.shards_ok == st.shards and st.error is None
        st.state = "ok" if ok else ("partial" if st.shards_ok else "failed")
        notify(st.region, st.state, records=st.n_records, reason=st.reason)
    return FleetResult(run_id=run_id, records=records, chunks=chunks, statuses=statuses)


def _account(st: RegionStatus, shard: int, response: RunnerResponse,
             recs: list[RequestRecord], seconds: float) -> None:
    """Fold one shard's answer into its region's status."""
    st.shards_ok += 1
    st.n_records += len(recs)
    st.skipped += response.skipped
    st.rows_truncated += response.rows_truncated
    st.duration_ms += seconds * 1000
    if response.cold_start:
        st.cold_starts += 1
        st.init_ms = response.init_ms
    if response.s3_keys:
        st.s3_keys.append(dict(response.s3_keys))
    if response.summary is not None:
        st.summaries.append(response.summary.model_dump())
    if not response.ok:
        st.reason, st.error = "function_error", str(response.error)
    elif response.rows_truncated:
        # Measured but neither stored nor returned: the run is not complete.
        st.reason = "error"
        st.error = (f"error: shard {shard} left {response.rows_truncated} rows out of its "
                    "response (Lambda's 6 MB limit); give the runner LENS_RESULTS_BUCKET to "
                    "keep every row")
