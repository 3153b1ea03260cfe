"""Numbered schema migrations with an applied table, in the style of simonw/llm.

Each migration is a file ``lens/store/migrations/NNNN_name.py`` defining
``up(conn: sqlalchemy.Connection) -> None``. ``migrate`` applies, in order, those not yet
listed in ``_lens_migrations`` (one transaction per migration, recorded in the same
transaction), so re-running is a no-op and a database from any earlier migration upgrades.

Several processes may open a fresh database at once (a fleet of ``lens run``s, a test
matrix). Each migration's transaction therefore holds the database's one migration lock
-- SQLite: ``BEGIN IMMEDIATE`` (the single writer lock, waited for via busy_timeout);
PostgreSQL: ``pg_advisory_xact_lock`` -- and re-reads the applied set under it, so a
migration another process applied meanwhile is skipped, never run twice.

Migrations freeze the columns they create by name (0001 lists the columns of its day);
types come from the record. Adding a record field therefore needs a new migration calling
``add_columns``; a test compares the migrated database with lens.store.schema.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from lens.errors import StoreError

MIGRATIONS_DIR = Path(__file__).parent
APPLIED_TABLE = "_lens_migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.py$")
# PostgreSQL advisory lock id of lens migrations (any constant 64-bit value; "lensmigr").
PG_LOCK_KEY = int.from_bytes(b"lensmigr", "big") & 0x7FFF_FFFF_FFFF_FFFF

_applied = sa.Table(
    APPLIED_TABLE,
    sa.MetaData(),
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("applied_at", sa.String(), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Migration:
    name: str  # file stem, e.g. "0001_initial"
    path: Path

    def load(self) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"lens_migration_{self.name}", self.path)
        if spec is None or spec.loader is None:  # pragma: no cover - path checked by discover
            raise StoreError(f"cannot load migration {self.path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not callable(getattr(module, "up", None)):
            raise StoreError(f"migration {self.path} defines no up(conn) function")
        return module


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations in ``directory``, ordered by number; numbers must be unique."""
    found = sorted(
        (Migration(p.stem, p) for p in directory.glob("*.py") if _NAME.match(p.name)),
        key=lambda m: m.name,
    )
    numbers = [m.name[:4] for m in found]
    dup = {n for n in numbers if numbers.count(n) > 1}
    if dup:
        raise StoreError(f"two migrations share the number {sorted(dup)[0]} in {directory}")
    return found


def applied(conn: sa.Connection) -> list[str]:
    """Names of migrations already applied to this database (creates the applied table)."""
    # IF NOT EXISTS, not checkfirst: check-then-create races with another process.
    conn.execute(sa.schema.CreateTable(_applied, if_not_exists=True))
    return [row[0] for row in conn.execute(sa.select(_applied.c.name).order_by(_applied.c.name))]


def _applied_unlocked(engine: sa.Engine) -> set[str]:
    """The applied set read without the lock or any write: a hint that lets opening an
    up-to-date database skip the writer lock (the locked re-read decides)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(APPLIED_TABLE):
            return set()
        return set(conn.execute(sa.select(_applied.c.name)).scalars())


@contextlib.contextmanager
def locked(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction holding the database's migration lock (one holder at a time)."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite runs DDL outside transactions unless one is open: open it, so a
            # failing migration leaves no half-made tables behind. IMMEDIATE takes the write
            # lock now (waiting for it), instead of failing "database is locked" when a read
            # transaction later tries to write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_LOCK_KEY)))
        yield conn


def migrate(
    engine: sa.Engine, *, directory: Path = MIGRATIONS_DIR, upto: str | None = None
) -> list[str]:
    """Apply pending migrations (up to and including number/name ``upto``); return their names.

    Safe to run from several processes at once: only the process that applies a migration
    lists it in its return value.
    """
    wanted = [m for m in discover(directory) if upto is None or m.name[:4] <= upto[:4]]
    hint = _applied_unlocked(engine)  # errors here (cannot connect) are not a migration's
    done: list[str] = []
    for mig in wanted:
        if mig.name in hint:
            continue
        module = mig.load()
        try:
            with locked(engine) as conn:
                if mig.name in applied(conn):
                    continue  # another process applied it while we waited for the lock
                module.up(conn)
                conn.execute(
                    _applied.insert().values(
                        name=mig.name, applied_at=datetime.now(UTC).isoformat()
                    )
                )
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"migration {mig.name} failed: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}",
                hint="restore the database from a backup or export its runs and start a new one",
            ) from exc
        done.append(mig.name)
    return done


# Helpers migrations use -----------------------------------------------------------------


def create_table(conn: sa.Connection, table: sa.Table, columns: Iterable[str]) -> None:
    """Create ``table`` with only the named columns (and constraints among them)."""
    names = list(columns)
    md = sa.MetaData()
    md.reflect(bind=conn)  # foreign keys resolve against the tables already there
    cols = [c._copy() for c in table.columns if c.name in names]
    missing = set(names) - {c.name for c in cols}
    if missing:
        raise StoreError(f"migration names unknown columns of {table.name}: {sorted(missing)}")
    constraints = [
        fk._copy()
        for fk in table.foreign_key_constraints
        if all(c in names for c in fk.column_keys)
    ]
    sa.Table(table.name, md, *cols, *constraints).create(conn)


def add_columns(conn: sa.Connection, table: sa.Table, columns: Iterable[str]) -> None:
    """Add the named columns of ``table`` (as lens.store.schema defines them) to the database."""
    for name in columns:
        col = table.columns[name]
        ddl_type = col.type.compile(dialect=conn.dialect)
        null = "" if col.nullable else " NOT NULL DEFAULT ''"
        conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {ddl_type}{null}')


def create_index(conn: sa.Connection, name: str, table: str, columns: Iterable[str]) -> None:
    cols = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({cols})")
