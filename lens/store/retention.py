"""Retention: delete old runs (with their requests, chunks and text samples).

``prune(store, older_than)`` removes, in one transaction,

1. every run that is not ``running`` and ended (``finished_at``, else ``started_at``)
   before the cutoff, with all its rows;
2. in the embedded runs that remain (a long-lived embedded profiler keeps one ``running``
   run for as long as the service is up), the requests that started before the cutoff,
   with their chunks and text samples. A burst's run is kept whole or deleted whole.

A per-store default lives in the ``settings`` table (``retention_days``, migration 0002):
``set_retention(store, "90d")``. ``prune(store)`` without ``older_than`` uses it, and
:func:`apply_retention` (called by ``lens prune`` and when an embedded sink opens its store)
does nothing when none is set. Works on SQLite and PostgreSQL alike (SQLAlchemy Core).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from lens.errors import ConfigError
from lens.store.extra_tables import SETTINGS, TEXT_SAMPLES
from lens.store.schema import CHUNKS, REQUESTS, RUNS

__all__ = [
    "RETENTION_KEY",
    "PruneResult",
    "apply_retention",
    "get_retention",
    "parse_age",
    "prune",
    "set_retention",
]

RETENTION_KEY = "retention_days"
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_MAX_AGE = timedelta(days=36525)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_age(text: str | float | timedelta, *, flag: str = "--older-than") -> timedelta:
    """``90d``, ``12h``, ``2w``, ``30m``, ``45s`` (a bare number is days) -> timedelta."""
    if isinstance(text, timedelta):
        return text
    seconds = None
    if isinstance(text, (int, float)):
        seconds = float(text) * 86400
    elif (m := _AGE.match(text)) is not None:
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    # Past _MAX_AGE "now minus the age" is before year 1 (an OverflowError traceback).
    if seconds is None or not 0 <= seconds <= _MAX_AGE.total_seconds():
        raise ConfigError(
            f"cannot read '{text}' as an age" + (" of at most 100 years" if seconds else ""),
            field=flag,
            hint="use a number with a unit: 90d, 12h, 2w, 30m, 45s (a bare number is days)",
        )
    return timedelta(seconds=seconds)


@dataclass(slots=True)
class PruneResult:
    cutoff: datetime
    runs: list[str] = field(default_factory=list)
    requests: int = 0
    chunks: int = 0
    text_samples: int = 0
    dry_run: bool = False


def _engine(store: Any) -> sa.Engine:
    engine = getattr(store, "engine", store)
    if not isinstance(engine, sa.Engine):
        raise ConfigError("retention needs a lens SQL store (lens.store.sql.open_store)")
    return engine


def get_retention(store: Any) -> timedelta | None:
    """The store's retention setting, or None when none is set."""
    with _engine(store).connect() as conn:
        value = conn.execute(
            sa.select(SETTINGS.c.value).where(SETTINGS.c.key == RETENTION_KEY)
        ).scalar()
    return None if value is None else timedelta(days=float(value))


def set_retention(store: Any, age: str | float | timedelta | None) -> None:
    """Store a retention age (None removes the setting)."""
    engine = _engine(store)
    with engine.begin() as conn:
        conn.execute(SETTINGS.delete().where(SETTINGS.c.key == RETENTION_KEY))
        if age is not None:
            days = parse_age(age, flag="--set-retention").total_seconds() / 86400
            if days <= 0:
                raise ConfigError("retention must be longer than 0", field="retention")
            conn.execute(SETTINGS.insert().values(key=RETENTION_KEY, value=repr(days)))


def _count(conn: sa.Connection, table: sa.Table, cond: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(cond)).scalar_one())


def prune(
    store: Any,
    older_than: str | float | timedelta | None = None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Delete runs/requests older than ``older_than`` (default: the store's setting)."""
    if hasattr(store, "flush"):
        store.flush()
    age = parse_age(older_than) if older_than is not None else get_retention(store)
    if age is None:
        raise ConfigError(
            "no age given and the store has no retention setting",
            field="--older-than",
            hint="pass --older-than 90d, or set a default with `lens prune --set-retention 90d`",
        )
    cutoff = (now or datetime.now(UTC)) - age
    result = PruneResult(cutoff=cutoff, dry_run=dry_run)
    engine = _engine(store)
    ended = sa.func.coalesce(RUNS.c.finished_at, RUNS.c.started_at)
    with engine.begin() as conn:
        old_runs = [
            r[0]
            for r in conn.execute(
                sa.select(RUNS.c.run_id).where(RUNS.c.status != "running", ended < cutoff)
            )
        ]
        result.runs = old_runs
        # Rows to remove: all rows of old runs + old requests of the embedded runs that
        # stay. Only embedded ones: a burst still firing, or one that ended after the
        # cutoff, would otherwise lose its first rows and still read "complete".
        embedded = sa.select(RUNS.c.run_id).where(RUNS.c.runner == "embed")
        req_cond = sa.or_(
            REQUESTS.c.run_id.in_(old_runs),
            sa.and_(REQUESTS.c.started_at < cutoff, REQUESTS.c.run_id.in_(embedded)),
        )

        def of_old_request(table: sa.Table) -> Any:
            return sa.exists().where(
                REQUESTS.c.run_id == table.c.run_id,
                REQUESTS.c.request_id == table.c.request_id,
                req_cond,
            )

        result.requests = _count(conn, REQUESTS, req_cond)
        result.chunks = _count(
            conn, CHUNKS, sa.or_(CHUNKS.c.run_id.in_(old_runs), of_old_request(CHUNKS))
        )
        samples_cond = sa.or_(TEXT_SAMPLES.c.run_id.in_(old_runs), of_old_request(TEXT_SAMPLES))
        result.text_samples = _count(conn, TEXT_SAMPLES, samples_cond)
        if dry_run:
            return result
        # Children first: the foreign keys cascade on SQLite only with foreign_keys=ON.
        conn.execute(TEXT_SAMPLES.delete().where(samples_cond))
        conn.execute(
            CHUNKS.delete().where(sa.or_(CHUNKS.c.run_id.in_(old_runs), of_old_request(CHUNKS)))
        )
        conn.execute(REQUESTS.delete().where(req_cond))
        if old_runs:
            conn.execute(RUNS.delete().where(RUNS.c.run_id.in_(old_runs)))
    return result


def apply_retention(store: Any, *, now: datetime | None = None) -> PruneResult | None:
    """Prune by the store's retention setting; None (and no change) when none is set."""
    if get_retention(store) is None:
        return None
    return prune(store, now=now)
