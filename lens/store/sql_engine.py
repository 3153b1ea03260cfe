"""Connecting to a results database: URLs, SQLite's pragmas, and errors said plainly.

``to_url`` turns a path or URL into an SQLAlchemy URL (``postgresql://`` gets the psycopg
driver lens ships), SQLite connections get WAL and a busy timeout, and a database that
cannot be written raises a StoreError saying so. Used by lens.store.sql and the readers.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lens.errors import StoreError
from lens.store.paths import display_db, is_url

__all__ = ["normalize_url", "pid_alive", "sqlite_pragmas", "sqlite_ts", "to_url", "unwritable",
           "without_secret"]


def sqlite_ts(value: datetime | None) -> str | None:
    """Naive-UTC text, exactly as SQLAlchemy's SQLite DateTime stores it."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # busy_timeout first: switching a fresh file to WAL needs a lock that another process
    # opening the same new database may hold for a moment.
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` -> ``postgresql+psycopg://`` (the driver lens ships
    with, extra ``postgres``); other URLs unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def to_url(url_or_path: str | os.PathLike[str]) -> str:
    """An SQLAlchemy URL for a path or URL; creates the parent directory of a path."""
    text = os.fspath(url_or_path)
    if is_url(text):
        return normalize_url(text)
    path = Path(text).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the directory for the database {path}: {exc.strerror}",
            hint="pass --db PATH (or set LENS_DB) to a writable location",
        ) from None
    return f"sqlite:///{path.resolve()}"


def without_secret(exc: BaseException, url: str) -> str:
    """An exception's text with the URL (some parse errors quote it) and password masked."""
    text = str(exc).replace(url, display_db(url))
    try:
        password = sa.engine.make_url(url).password if is_url(url) else None
    except (sa.exc.ArgumentError, ValueError):
        password = None
    return text.replace(str(password), "***") if password else text


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def unwritable(display: str) -> Any:
    """A ``handle_error`` listener: a database that cannot be written (a read-only file or
    folder, a read-only mount) raises a StoreError saying so, not the driver's raw error
    (#17 item 13)."""

    def listener(ctx: Any) -> None:
        text = str(ctx.original_exception).lower()
        if "readonly database" in text or "read-only" in text or "unable to open database" in text:
            what = "open" if "unable to open" in text else "write to"
            raise StoreError(
                f"cannot {what} the results store {display}: it is read-only here "
                f"({str(ctx.original_exception).strip()})",
                hint="pass --db (or set LENS_DB) to a file you may write, or make the file and "
                "its folder writable (SQLite also writes <file>-wal and <file>-shm beside it)",
            )

    return listener
