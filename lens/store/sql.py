"""The local results store: SQLite (WAL) through SQLAlchemy/SQLModel; other URLs later.

``open_store(url_or_path)`` opens (creating and migrating) a database and returns a
``SQLStore``, which implements lens.store.base.Store. Requests reach it through ``add``
(event loop, non-blocking; a BackgroundWriter commits each request with its chunks in one
transaction) or ``add_many`` (bulk, synchronous). SQLite runs with ``journal_mode=WAL``,
``synchronous=NORMAL`` (a commit survives a process crash; only an OS crash can lose the
last few) and ``foreign_keys=ON``.

A run row whose status is still ``running`` but whose writing process (same host) is gone
was killed; opening the store marks it ``incomplete``.
"""

from __future__ import annotations

import json
import operator
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lens.errors import NotFoundError, StoreError
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, ChunkTiming, RequestRecord
from lens.store.base import RunInfo
from lens.store.migrations import migrate
from lens.store.paths import display_db, resolve_db
from lens.store.schema import CHUNK_NAMES, CHUNKS, REQUEST_NAMES, REQUESTS, RUNS
from lens.store.sql_engine import (
    normalize_url,
    pid_alive,
    sqlite_pragmas,
    sqlite_ts,
    to_url,
    unwritable,
    without_secret,
)
from lens.store.writer import BackgroundWriter, Item

__all__ = ["RUN_STATUSES", "SQLStore", "normalize_url", "open_store", "to_url"]

RUN_STATUSES = ("running", "complete", "incomplete", "failed")

_REQ_GETTER = operator.attrgetter(*REQUEST_NAMES)
_CHUNK_GETTER = operator.attrgetter(*CHUNK_NAMES)
_TS_INDEX = tuple(i for i, c in enumerate(REQUEST_FIELDS) if c.type == "timestamp")
_REQ_INSERT = "INSERT INTO requests ({}) VALUES ({})".format(
    ", ".join(f'"{n}"' for n in REQUEST_NAMES), ", ".join("?" * len(REQUEST_NAMES))
)
_CHUNK_INSERT = 'INSERT INTO chunks (run_id, request_id, "index", t_ms, kind, n_tokens) VALUES (?, ?, ?, ?, ?, ?)'


def _migrate_when_free(engine: sa.Engine, attempts: int = 8) -> None:
    """Migrate; on SQLite's "database is locked", wait and try again.

    Switching a fresh file to WAL takes a lock SQLite does not wait for (its busy handler is
    not called), so several processes opening one new database at once (a fleet of
    ``lens run``s, ``--workers``) can see it for a moment; migrations themselves are
    serialised by ``BEGIN IMMEDIATE`` (lens.store.migrations).
    """
    delay = 0.05
    for attempt in range(attempts):
        try:
            migrate(engine)
            return
        except sa.exc.OperationalError as exc:
            if "database is locked" not in str(exc) or attempt == attempts - 1:
                raise
            engine.dispose()  # a connection that met the lock mid-pragma is not reused
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class SQLStore:
    """A results store on any SQLAlchemy database (SQLite tested; PostgreSQL by URL)."""

    def __init__(self, url: str, *, writer_batch: int = 1000) -> None:
        self.url = url
        self.display_url = display_db(url)  # what messages show: the password masked
        try:
            self.engine = sa.create_engine(url)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", sqlite_pragmas)
            sa.event.listen(self.engine, "handle_error", unwritable(self.display_url))
            _migrate_when_free(self.engine)
        except StoreError:
            raise
        except (sa.exc.SQLAlchemyError, ImportError, OSError, ValueError) as exc:
            # ValueError: a URL SQLAlchemy cannot take apart (e.g. a port that is no number)
            raise StoreError(
                f"cannot open the results store {self.display_url}: {without_secret(exc, url)}",
                hint="check --db / LENS_DB: a writable file path or a valid SQLAlchemy URL",
            ) from None
        self._writer_batch = writer_batch
        self._writer: BackgroundWriter | None = None
        self._writer_lock = threading.Lock()
        try:
            self.reap_dead_runs()
        except StoreError:  # a read-only store can still be read (lens runs, show, export)
            pass

    # writing -----------------------------------------------------------------------------

    def start_run(self, run: RunInfo) -> None:
        """Insert the run row (status running, this process's pid)."""
        if run.run_id == "latest" or not run.run_id.strip():
            # 'latest' names the newest run wherever a run id is read (show, export, ...).
            raise StoreError(
                f"'{run.run_id}' cannot be a run id: it must not be empty, and 'latest' always "
                "means the newest run",
                hint="choose another --run-id (or omit it to get a fresh one)",
            )
        row = {
            "run_id": run.run_id,
            "name": run.name,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "host": run.host or socket.gethostname(),
            "user": run.user,
            "region": run.region,
            "runner": run.runner,
            "lens_version": run.lens_version,
            "spec_json": run.spec_json,
            "tags_json": json.dumps(run.tags, sort_keys=True),
            "extra_json": json.dumps(run.extra, sort_keys=True, default=str),
            "skipped": run.skipped,
            "pid": os.getpid() if run.status == "running" else None,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(RUNS.insert().values(**row))
        except sa.exc.IntegrityError:
            raise StoreError(
                f"a run with id {run.run_id!r} already exists",
                hint="choose another --run-id (or omit it to get a fresh one)",
            ) from None

    def finish_run(
        self, run_id: str, *, status: str, skipped: int = 0,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Commit pending requests, then set the run's final status and finish time;
        ``extra`` is merged into the run's extra data (e.g. the client's loop health)."""
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
        self.flush()
        values: dict[str, Any] = {"status": status, "skipped": skipped,
                                  "finished_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            if extra:
                row = conn.execute(
                    sa.select(RUNS.c.extra_json).where(RUNS.c.run_id == run_id)
                ).first()
                merged = {**json.loads((row[0] if row else None) or "{}"), **extra}
                values["extra_json"] = json.dumps(merged, sort_keys=True, default=str)
            res = conn.execute(RUNS.update().where(RUNS.c.run_id == run_id).values(**values))
        if res.rowcount == 0:
            raise NotFoundError(f"no run {run_id!r} in {self.display_url}")

    def set_finished_at(self, run_id: str, finished_at: datetime | None) -> None:
        """Overwrite a run's finish time (imports keep the original one)."""
        with self.engine.begin() as conn:
            conn.execute(
                RUNS.update().where(RUNS.c.run_id == run_id).values(finished_at=finished_at)
            )

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        """Queue one finished request for the writer thread (returns at once)."""
        writer = self._writer
        if writer is None:
            with self._writer_lock:  # add may come from several threads at once
                if self._writer is None:
                    self._writer = BackgroundWriter(self._write_items, max_batch=self._writer_batch)
                writer = self._writer
        writer.add(record, chunks)

    def add_many(self, records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming]) -> None:
        """Write many requests and chunks in one transaction (import, bulk loads)."""
        self.flush()
        by_req: dict[str, list[ChunkTiming]] = {}
        for c in chunks:
            by_req.setdefault(c.request_id, []).append(c)
        try:
            self._write_items([(r, by_req.get(r.request_id, ())) for r in records])
        except sa.exc.IntegrityError as exc:  # imports check first; this is the last line
            raise StoreError(
                f"cannot store the rows in {self.display_url}: a request or chunk id is already "
                f"there, or a chunk belongs to no request ({getattr(exc, 'orig', exc)})",
                hint="each request id may appear once per run: remove the repeated rows, or "
                "import the file under another --run-id",
            ) from None

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
        self.engine.dispose()

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_items(self, items: list[Item]) -> None:
        if not items:
            return
        if self.engine.dialect.name == "sqlite":
            self._write_items_sqlite(items)
            return
        req_rows: list[dict[str, Any]] = []
        chunk_rows: list[dict[str, Any]] = []
        for record, chunks in items:
            req_rows.append({n: getattr(record, n) for n in REQUEST_NAMES})
            for c in chunks:
                chunk_rows.append(
                    {"run_id": record.run_id, "request_id": c.request_id, "index": c.index,
                     "t_ms": c.t_ms, "kind": c.kind, "n_tokens": c.n_tokens}
                )  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(REQUESTS.insert(), req_rows)
            if chunk_rows:
                conn.execute(CHUNKS.insert(), chunk_rows)

    def _write_items_sqlite(self, items: list[Item]) -> None:
        # The hot path (bench/store_write.py): plain executemany with tuples in the storage
        # format SQLAlchemy's SQLite DateTime uses (naive UTC text), ~3x faster than Core.
        req_rows: list[tuple[Any, ...]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        get_row, get_chunk = _REQ_GETTER, _CHUNK_GETTER
        for record, chunks in items:
            row: tuple[Any, ...] = get_row(record)
            if _TS_INDEX:
                cells = list(row)
                for i in _TS_INDEX:
                    cells[i] = sqlite_ts(cells[i])
                row = tuple(cells)
            req_rows.append(row)
            rid = (record.run_id,)
            chunk_rows.extend(rid + get_chunk(c) for c in chunks)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(_REQ_INSERT, req_rows)
            if chunk_rows:
                conn.exec_driver_sql(_CHUNK_INSERT, chunk_rows)

    # reading -----------------------------------------------------------------------------

    def reap_dead_runs(self) -> list[str]:
        """Mark 'running' runs of this host whose process is gone as 'incomplete'."""
        host = socket.gethostname()
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(RUNS.c.run_id, RUNS.c.pid).where(
                    RUNS.c.status == "running", RUNS.c.host == host
                )
            ).all()
            dead = [
                r.run_id
                for r in rows
                if r.pid is not None and r.pid != os.getpid() and not pid_alive(r.pid)
            ]
            if dead:
                conn.execute(
                    RUNS.update().where(RUNS.c.run_id.in_(dead)).values(status="incomplete")
                )
        return dead

    def _run_info(self, row: Any, n_requests: int) -> RunInfo:
        extra = json.loads(row.extra_json or "{}")
        if row.pid is not None:
            extra.setdefault("pid", row.pid)
        return RunInfo(
            run_id=row.run_id,
            name=row.name,
            started_at=row.started_at,
            spec_json=row.spec_json,
            finished_at=row.finished_at,
            status=row.status,
            host=row.host,
            user=row.user,
            region=row.region,
            runner=row.runner,
            lens_version=row.lens_version,
            tags=json.loads(row.tags_json or "{}"),
            skipped=row.skipped,
            n_requests=n_requests,
            extra=extra,
        )

    def list_runs(self, *, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first, with their request counts."""
        self.reap_dead_runs()
        counts = (
            sa.select(REQUESTS.c.run_id, sa.func.count().label("n"))
            .group_by(REQUESTS.c.run_id)
            .subquery()
        )
        q = (
            sa.select(RUNS, sa.func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.run_id == RUNS.c.run_id)
            .order_by(RUNS.c.started_at.desc(), RUNS.c.run_id.desc())
        )
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [self._run_info(r, r.n) for r in conn.execute(q)]

    def has_run(self, run_id: str) -> bool:
        """True when a run with exactly this id exists."""
        with self.engine.connect() as conn:
            q = sa.select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)
            return conn.execute(q).first() is not None

    def resolve_run_id(self, run_id: str) -> str:
        """An exact run id, a unique prefix of one, or 'latest'."""
        with self.engine.connect() as conn:
            if run_id == "latest":
                found = conn.execute(
                    sa.select(RUNS.c.run_id).order_by(RUNS.c.started_at.desc()).limit(1)
                ).scalar()
                if found is None:
                    raise NotFoundError(
                        f"no runs in {self.display_url}", hint="fire one with `lens run`"
                    )
                return str(found)
            exact = conn.execute(sa.select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)).scalar()
            if exact is not None:
                return str(exact)
            like = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matches = (
                conn.execute(
                    sa.select(RUNS.c.run_id).where(RUNS.c.run_id.like(like, escape="\\")).limit(6)
                )
                .scalars()
                .all()
            )
        if len(matches) == 1:
            return str(matches[0])
        if not matches:
            raise NotFoundError(
                f"no run {run_id!r} in {self.display_url}", hint="list runs with `lens runs`"
            )
        raise NotFoundError(
            f"run id prefix {run_id!r} is ambiguous: {', '.join(matches[:5])}",
            hint="give more characters of the run id",
        )

    def get_run(self, run_id: str) -> RunInfo:
        """One run (exact id, unique prefix or 'latest'); NotFoundError if absent."""
        self.reap_dead_runs()
        rid = self.resolve_run_id(run_id)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(RUNS).where(RUNS.c.run_id == rid)).one()
            n = conn.execute(
                sa.select(sa.func.count()).select_from(REQUESTS).where(REQUESTS.c.run_id == rid)
            ).scalar_one()
        return self._run_info(row, int(n))

    def requests_frame(self, run_id: str | None = None) -> pd.DataFrame:
        """Request rows (one run, or all) as a frame with lens.record.frames dtypes."""
        from lens.record.frames import conform

        q = sa.select(*(REQUESTS.c[n] for n in REQUEST_NAMES))
        if run_id is not None:
            q = q.where(REQUESTS.c.run_id == run_id)
        q = q.order_by(REQUESTS.c.started_at, REQUESTS.c.request_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        df = pd.DataFrame([tuple(r) for r in rows], columns=list(REQUEST_NAMES))
        return conform(df, REQUEST_FIELDS)

    def chunks_frame(self, run_id: str | None = None) -> pd.DataFrame:
        """Chunk rows (CHUNK_FIELDS columns) of one run, or all, ordered by request and index."""
        from lens.record.frames import conform

        q = sa.select(*(CHUNKS.c[n] for n in CHUNK_NAMES))
        if run_id is not None:
            q = q.where(CHUNKS.c.run_id == run_id)
        q = q.order_by(CHUNKS.c.request_id, CHUNKS.c["index"])
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        df = pd.DataFrame([tuple(r) for r in rows], columns=list(CHUNK_NAMES))
        return conform(df, CHUNK_FIELDS)

    def records(self, run_id: str) -> list[RequestRecord]:
        """Request rows of a run as RequestRecords."""
        q = (
            sa.select(*(REQUESTS.c[n] for n in REQUEST_NAMES))
            .where(REQUESTS.c.run_id == run_id)
            .order_by(REQUESTS.c.started_at, REQUESTS.c.request_id)
        )
        with self.engine.connect() as conn:
            return [RequestRecord.from_dict(dict(r._mapping)) for r in conn.execute(q)]

    def delete_run(self, run_id: str, *, exact: bool = False) -> None:
        """Delete a run and its rows. ``exact``: ``run_id`` is the id itself, never a
        prefix or 'latest' (rolling back a run this process just started)."""
        rid = run_id if exact else self.resolve_run_id(run_id)
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(CHUNKS.delete().where(CHUNKS.c.run_id == rid))
            conn.execute(REQUESTS.delete().where(REQUESTS.c.run_id == rid))
            conn.execute(RUNS.delete().where(RUNS.c.run_id == rid))


def open_store(url_or_path: str | os.PathLike[str] | None = None) -> SQLStore:
    """Open (create, migrate) the store at a path or SQLAlchemy URL; None -> default path."""
    target = resolve_db(os.fspath(url_or_path) if url_or_path is not None else None)
    return SQLStore(to_url(target))
