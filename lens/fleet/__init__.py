"""Fire one burst from several regions at once and gather every row.

``fire(spec, regions=[...], shards=N)`` invokes the runner in every region concurrently
(N invocations per region, the burst's requests split between them), keeps each region's
rows even when another region fails, and returns a :class:`FleetResult` (records, chunks,
a DataFrame, per-region statuses and failure reasons). Without an ``invoker``: AWS Lambda
when AWS credentials and a fleet config (lens.fleet.config) exist, else the local fleet
(lens.fleet.local), which is what offline notebooks use.

It is ``lens.burst.run`` with a :class:`~lens.fleet.executor.FleetExecutor`: runs are kept
exactly as local bursts are. boto3 is imported only when the AWS path is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lens.fleet.fanout import FleetResult, RegionEvent, RegionStatus, shard_specs
from lens.fleet.invoker import Invoker
from lens.spec import BurstSpec

if TYPE_CHECKING:
    from lens.store.base import Store

__all__ = ["FleetResult", "RegionEvent", "RegionStatus", "default_invoker", "fire",
           "shard_specs", "uses_lambda"]


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


def default_invoker(boto3_session: Any | None, regions: Sequence[str]) -> tuple[Invoker, Callable[[], None]]:
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
    progress: Callable[[str, str, dict[str, Any]], None] | None = None,
    boto3_session: Any | None = None,
    run_id: str | None = None,
    inline: bool = True,
    max_workers: int = 32,
) -> FleetResult:
    """Run ``spec`` in every region at once and gather the rows.

    ``progress(region, state, info)`` is called as each region starts and as each of its
    shards answers or fails. With ``store`` the run and its rows are saved (status ``complete``
    only when every shard of every region answered).
    """
    from lens.burst.run import run
    from lens.fleet.executor import FleetExecutor

    executor = FleetExecutor(regions=regions, shards=shards, invoker=invoker,
                             boto3_session=boto3_session, inline=inline,
                             max_workers=max_workers)
    def on_progress(ev: RegionEvent) -> None:
        if progress is not None:
            progress(ev.region, ev.state, dict(ev.info))

    run(spec, store=store, executor=executor, run_id=run_id, on_progress=on_progress,
                  run_extra={"regions": list(regions), "shards": shards})
    assert executor.result is not None
    return executor.result
