"""``lens backup PATH``: a consistent copy of a SQLite store, safe while bursts write.

Uses SQLite's online backup API (``sqlite3.Connection.backup``) in one step: the copy is
taken inside a single read transaction, so it is the database as of one instant (WAL mode
lets writers carry on meanwhile; each request and its chunks were committed together, so
the copy never holds half a request). The copy is written to a temporary file beside
PATH, checked with ``PRAGMA integrity_check``, and only then renamed onto PATH.

PostgreSQL stores are backed up with the server's own tools (``pg_dump``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from lens.errors import ConfigError, StoreError
from lens.store.paths import is_url

__all__ = ["BackupResult", "backup_sqlite", "sqlite_path"]


@dataclass(slots=True)
class BackupResult:
    path: Path
    bytes: int
    integrity: str
    requests: int


def sqlite_path(db: str | os.PathLike[str]) -> Path:
    """The file of a SQLite path or ``sqlite:///`` URL; ConfigError for other URLs."""
    text = os.fspath(db)
    if is_url(text):
        if not text.startswith("sqlite"):
            raise ConfigError(
                f"`lens backup` copies SQLite stores; {text.split('://')[0]}:// is not one",
                field="--db",
                hint="back up PostgreSQL with pg_dump (e.g. pg_dump -Fc DBNAME > lens.dump)",
            )
        text = text.split(":///", 1)[1] if ":///" in text else text.split("://", 1)[1]
    path = Path(text).expanduser()
    if not path.is_file():
        raise StoreError(f"no SQLite store at {path}", hint="pass --db PATH (or set LENS_DB)")
    return path


def backup_sqlite(db: str | os.PathLike[str], dest: str | os.PathLike[str]) -> BackupResult:
    """Copy the store ``db`` to ``dest`` consistently; returns size, integrity and row count."""
    src_path = sqlite_path(db)
    out = Path(dest).expanduser()
    if out.is_dir():
        out = out / src_path.name
    if out.resolve() == src_path.resolve():
        raise ConfigError("the backup path is the store itself", hint="choose another PATH")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    src = sqlite3.connect(src_path, timeout=30)  # read-write open: WAL readers need the -shm
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)  # pages=-1: all pages in one step, one consistent snapshot
            # A standalone file: no -wal sidecar needed to read it.
            dst.execute("PRAGMA journal_mode=DELETE")
            integrity = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
            try:
                n = int(dst.execute("SELECT count(*) FROM requests").fetchone()[0])
            except sqlite3.DatabaseError:
                n = 0
        finally:
            dst.close()
    except sqlite3.Error as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(
            f"backup of {src_path} failed: {exc}", hint="check disk space at PATH"
        ) from None
    finally:
        src.close()
    if integrity != "ok":
        tmp.unlink(missing_ok=True)
        raise StoreError(f"the backup copy failed its integrity check: {integrity}")
    os.replace(tmp, out)
    return BackupResult(out, out.stat().st_size, integrity, n)
