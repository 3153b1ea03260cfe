"""Fire a burst from Python and keep every request: the library twin of ``lens run``.

    import lens
    result = lens.fire({"targets": [...], "load": {"requests": 50, "concurrency": 8}},
                       db="lens.db")
    df = lens.load("lens.db", runs=[result.run_id])

``lens.fire`` is :func:`lens.burst.run` with a default store and the engine's result as
its answer; use ``lens.run`` for the full outcome (status, fleet failures, budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lens.burst.executor import LocalExecutor
from lens.burst.run import run, run_info
from lens.record import BurstResult, new_run_id
from lens.spec import BurstSpec
from lens.store.base import Store

__all__ = ["capacity", "fire", "new_run_id", "run_info"]


def fire(
    spec: BurstSpec | Mapping[str, Any],
    *,
    db: str | None = None,
    store: Store | None = None,
    run_id: str | None = None,
    api_keys: Mapping[str, str] | None = None,
    limiter: Any = None,
    on_progress: Any = None,
) -> BurstResult:
    """Fire ``spec`` and store every request as it completes.

    ``spec`` is a BurstSpec or a mapping validated like a spec file. Requests go to
    ``store`` or to the store at ``db`` (a SQLite path or SQLAlchemy URL; default: the
    ``lens run`` default, ``$LENS_DB`` or ``~/.local/share/lens/lens.db``). The run is
    marked ``complete``, or ``incomplete`` if interrupted (what finished is kept).
    ``api_keys`` replaces the environment for key lookup; ``limiter`` is a client-side
    rate limiter (lens.probe.ratelimit); ``on_progress`` gets a ProgressEvent per request.
    """
    own = store is None
    if store is None:
        from lens.store.paths import resolve_db
        from lens.store.sql import open_store

        store = open_store(resolve_db(db))
    try:
        outcome = run(
            spec, store=store, run_id=run_id, on_progress=on_progress, source="lens.fire(spec)",
            executor=LocalExecutor(limiter=limiter, api_keys=api_keys),
        )  # fmt: skip
    finally:
        if own:
            store.close()
    return outcome.result


def capacity(
    spec: BurstSpec | Mapping[str, Any],
    *,
    slo: Any = None,
    search: Any = None,
    db: str | None = None,
    store: Store | None = None,
    target: str | None = None,
    on_level: Any = None,
    stop: Any = None,
) -> Any:
    """The highest concurrency (or request rate) whose SLO attainment meets the target:
    lens.burst.capacity.search_capacity with a default store (as :func:`fire`).

    ``slo``: ``["ttft_ms<=500", ...]`` or a mapping (default: the spec's ``slo:``);
    ``search``: a SearchSpec or mapping (default: the spec's ``search:``, else defaults).
    Returns a CapacityResult: ``answer``, ``explain()``, ``frame()``, ``chart()``.
    """
    from lens.burst.capacity import search_capacity

    own = store is None
    if store is None:
        from lens.store.paths import resolve_db
        from lens.store.sql import open_store

        store = open_store(resolve_db(db))
    try:
        return search_capacity(spec, slo=slo, search=search, store=store, target=target,
                               on_level=on_level, stop=stop, source="lens.capacity(spec)")
    finally:
        if own:
            store.close()
