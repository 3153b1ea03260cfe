"""Fire a burst from Python and keep every request: the library twin of ``lens run``.

    import lens
    result = lens.fire({"targets": [...], "load": {"requests": 50, "concurrency": 8}},
                       db="lens.db")
    df = lens.load("lens.db", runs=[result.run_id])
"""

from __future__ import annotations

import contextlib
import getpass
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lens.record import BurstResult, new_run_id
from lens.spec import BurstSpec, spec_from_dict
from lens.store.base import RunInfo, Store


def _user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return ""


def run_info(spec: BurstSpec, run_id: str) -> RunInfo:
    """The runs-table row for a burst about to fire (spec JSON holds no secrets: keys are
    named by environment variable, and secret-carrying headers are refused by TargetSpec)."""
    from lens import __version__

    return RunInfo(
        run_id=run_id,
        name=spec.name,
        started_at=datetime.now(UTC),
        spec_json=spec.model_dump_json(exclude_none=True),
        host=socket.gethostname(),
        user=_user(),
        region=spec.region,
        runner=spec.runner,
        lens_version=__version__,
        tags=dict(spec.tags),
    )


def fire(
    spec: BurstSpec | Mapping[str, Any],
    *,
    db: str | None = None,
    store: Store | None = None,
    run_id: str | None = None,
    **engine_kwargs: Any,
) -> BurstResult:
    """Fire ``spec`` and store every request as it completes.

    ``spec`` is a BurstSpec or a mapping validated like a spec file. Requests go to
    ``store`` or to the store at ``db`` (a SQLite path or SQLAlchemy URL; default: the
    ``lens run`` default, ``$LENS_DB`` or ``~/.local/share/lens/lens.db``). The run is
    marked ``complete``, or ``incomplete`` if interrupted (what finished is kept).
    ``engine_kwargs`` go to :func:`lens.probe.engine.run_burst_sync` (``api_keys``,
    ``limiter``, ``on_progress``, ...).
    """
    from lens.probe.engine import run_burst_sync

    if not isinstance(spec, BurstSpec):
        spec = spec_from_dict(spec, source="lens.fire(spec)")
    own = store is None
    if store is None:
        from lens.store.paths import resolve_db
        from lens.store.sql import open_store

        store = open_store(resolve_db(db))
    run_id = run_id or new_run_id()
    try:
        store.start_run(run_info(spec, run_id))
        status = "failed"
        try:
            result = run_burst_sync(spec, run_id=run_id, sink=store, **engine_kwargs)
            status = "complete" if result.complete else "incomplete"
        finally:
            store.finish_run(run_id, status=status, skipped=0 if status == "failed" else result.skipped)
    finally:
        if own:
            store.close()
    return result
