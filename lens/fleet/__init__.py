"""Fire one burst from several regions at once and gather every row.

``fire(spec, regions=[...], shards=N)`` invokes the runner in every region concurrently
(N invocations per region, the burst's requests split between them), keeps each region's
rows even when another region fails, and returns a :class:`FleetResult` (records, chunks,
a DataFrame, per-region statuses and failure reasons). Without an ``invoker``: AWS Lambda
when AWS credentials and a fleet config (lens.fleet.config) exist, else the local fleet
(lens.fleet.local), which is what offline notebooks use.

boto3 is imported only when the AWS path is taken.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lens.fleet.invoker import InvokeError, Invoker, RowFetcher, rows_from_response
from lens.record import ChunkTiming, RequestRecord
from lens.spec import BurstSpec

if TYPE_CHECKING:
    import pandas as pd

    from lens.store.base import Store

__all__ = ["FleetResult", "RegionStatus", "fire", "shard_specs"]

ProgressFn = Callable[[str, str, Mapping[str, Any]], None]


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
        from lens.analysis.frames import records_to_frame

        return records_to_frame(self.records)

    @property
    def chunk_frame(self) -> pd.DataFrame:
        from lens.analysis.frames import chunks_to_frame

        return chunks_to_frame(self.chunks)

    @property
    def skipped(self) -> int:
        return sum(s.skipped for s in self.statuses.values())


def shard_specs(spec: BurstSpec, shards: int) -> list[BurstSpec]:
    """Split a burst's requests over ``shards`` invocations (warm-up in each; seeds differ)."""
    if shards < 1:
        raise ValueError("shards must be >= 1")
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


def uses_lambda(boto3_session: Any | None = None) -> bool:
    """True when ``fire`` without an invoker would call Lambda (fleet config + credentials)."""
    return _lambda_config(boto3_session) is not None


def _lambda_config(boto3_session: Any | None) -> Any | None:
    from lens.fleet.config import load_fleet_config

    config = load_fleet_config()
    if config is None:
        return None
    try:
        import boto3

        session = boto3_session or boto3.Session()
        return config if session.get_credentials() is not None else None
    except ImportError:
        return None


def _default_invoker(boto3_session: Any | None, regions: Sequence[str]) -> tuple[Invoker, Callable[[], None]]:
    """Lambda when credentials + fleet config exist, else a local fleet (closed after)."""
    config = _lambda_config(boto3_session)
    if config is not None:
        from lens.fleet.lambda_ import LambdaInvoker

        return LambdaInvoker(config, boto3_session=boto3_session), lambda: None
    from lens.fleet.local import LocalFleet

    fleet = LocalFleet(list(regions)).start()
    return fleet, fleet.close


def fire(
    spec: BurstSpec,
    regions: Sequence[str] = ("us-east-1",),
    *,
    shards: int = 1,
    invoker: Invoker | None = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
    boto3_session: Any | None = None,
    run_id: str | None = None,
    inline: bool = True,
    max_workers: int = 32,
) -> FleetResult:
    """Run ``spec`` in every region at once and gather the rows.

    ``progress(region, state, info)`` is called as each region starts and as each of its
    shards answers or fails (from worker threads). With ``store`` the run and its rows are
    saved (run status ``complete`` only when every shard of every region answered).
    """
    regions = list(dict.fromkeys(regions))
    if not regions:
        raise ValueError("give at least one region")
    started = datetime.now(UTC)
    run_id = run_id or f"fleet-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    # One dt partition per run, fixed before the first invocation: shards answering after
    # UTC midnight (or retried) keep the run's keys instead of landing in the next day.
    dt = started.strftime("%Y-%m-%d")
    specs = shard_specs(spec, shards)
    close: Callable[[], None] = lambda: None  # noqa: E731
    if invoker is None:
        invoker, close = _default_invoker(boto3_session, regions)
    statuses = {r: RegionStatus(region=r, shards=len(specs)) for r in regions}
    records: list[RequestRecord] = []
    chunks: list[ChunkTiming] = []
    if store is not None:
        from lens import __version__
        from lens.store.base import RunInfo

        store.start_run(RunInfo(
            run_id=run_id, name=spec.name, started_at=started, spec_json=spec.model_dump_json(),
            region=",".join(regions), runner="fleet", lens_version=__version__, tags=dict(spec.tags),
            extra={"regions": regions, "shards": len(specs)},
        ))

    def one(region: str, shard: int, shard_spec: BurstSpec) -> tuple[str, list[RequestRecord], list[ChunkTiming]]:
        st = statuses[region]
        if st.state == "pending":
            st.state = "running"
            _notify(progress, region, "running", {"shards": st.shards})
        payload = {
            "spec": shard_spec.model_dump(mode="json", exclude_none=True),
            "run_id": run_id, "region": region, "shard": shard, "shards": len(specs), "inline": inline,
            "dt": dt,
        }
        t0 = time.perf_counter()
        try:
            response = invoker.invoke(region, payload)
            if not response.get("ok") and not response.get("n_records"):
                raise InvokeError("refused", str(response.get("error", "the runner refused the event")))
            if isinstance(invoker, RowFetcher):
                recs, chs = invoker.fetch_rows(region, response)
            else:
                recs, chs = rows_from_response(response) or ([], [])
        except InvokeError as exc:
            st.reason, st.error = exc.reason, str(exc)
            _notify(progress, region, "failed", {"shard": shard, "reason": exc.reason, "error": str(exc)})
            return region, [], []
        except Exception as exc:  # a broken invoker must not lose the other regions
            st.reason, st.error = "error", f"error: {type(exc).__name__}: {exc}"
            _notify(progress, region, "failed", {"shard": shard, "reason": "error", "error": st.error})
            return region, [], []
        st.shards_ok += 1
        st.n_records += len(recs)
        st.skipped += int(response.get("skipped", 0) or 0)
        st.rows_truncated += int(response.get("rows_truncated", 0) or 0)
        st.duration_ms += (time.perf_counter() - t0) * 1000
        if response.get("cold_start"):
            st.cold_starts += 1
            st.init_ms = response.get("init_ms")
        if response.get("s3_keys"):
            st.s3_keys.append(dict(response["s3_keys"]))
        if response.get("summary"):
            st.summaries.append(response["summary"])
        if not response.get("ok"):
            st.reason, st.error = "function_error", str(response.get("error"))
        elif response.get("rows_truncated"):
            # Measured but neither stored nor returned: the run is not complete.
            st.reason = "error"
            st.error = (f"error: shard {shard} left {response['rows_truncated']} rows out of its response "
                        "(Lambda's 6 MB limit); give the runner LENS_RESULTS_BUCKET to keep every row")
        _notify(progress, region, "shard_done", {"shard": shard, "records": len(recs), "skipped": response.get("skipped", 0),
                                                 "rows_truncated": response.get("rows_truncated", 0)})
        return region, recs, chs

    try:
        jobs = [(r, i, s) for i, s in enumerate(specs) for r in regions]
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(jobs)))) as pool:
            for _region, recs, chs in pool.map(lambda j: one(*j), jobs):
                records.extend(recs)
                chunks.extend(chs)
    finally:
        close()
    for st in statuses.values():
        st.state = "ok" if st.shards_ok == st.shards and st.error is None else (
            "partial" if st.shards_ok else "failed")
        _notify(progress, st.region, st.state, {"records": st.n_records, "reason": st.reason})
    if store is not None:
        store.add_many(records, chunks)
        done = all(s.state == "ok" for s in statuses.values())
        store.finish_run(run_id, status="complete" if done else "incomplete",
                         skipped=sum(s.skipped for s in statuses.values()))
    return FleetResult(run_id=run_id, records=records, chunks=chunks, statuses=statuses)


def _notify(progress: ProgressFn | None, region: str, state: str, info: Mapping[str, Any]) -> None:
    if progress is not None:
        progress(region, state, dict(info))
