"""SQL tables of the results store, generated from the record's column tuples.

``requests`` has one column per ``REQUEST_FIELDS`` entry and ``chunks`` carries ``run_id``
plus ``CHUNK_FIELDS`` (chunk request ids are only unique within a run). The logical type of
each Column picks the SQL type, so adding a field to the record changes these tables; the
store's migrations must then add the column too (tests compare the migrated database with
these definitions). ``runs`` is the SQLModel table ``RunRow``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, Column


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive ISO text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sql_type(logical: str) -> sa.types.TypeEngine[Any]:
    """SQL type for a record logical type."""
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "str": sa.Text(),
        "category": sa.String(),
        "int": sa.BigInteger(),
        "float": sa.Float(),
        "bool": sa.Boolean(create_constraint=False),
        "timestamp": UTCDateTime(),
    }
    return types[logical]


def sa_column(col: Column, *, primary_key: bool = False) -> sa.Column[Any]:
    """An SQLAlchemy column for a record Column (same name, type and nullability)."""
    return sa.Column(
        col.name,
        sql_type(col.type),
        nullable=col.nullable and not primary_key,
        primary_key=primary_key,
        comment=col.doc,
    )


class RunRow(SQLModel, table=True):
    """One burst: its spec (no secrets), who/where/when, and how it ended."""

    __tablename__ = "runs"

    run_id: str = Field(primary_key=True)
    name: str = ""
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = "running"
    host: str = ""
    user: str = ""
    region: str = "local"
    runner: str = "local"
    lens_version: str = ""
    spec_json: str = "{}"
    tags_json: str = "{}"
    extra_json: str = "{}"
    skipped: int = 0
    # Process that wrote the run: a 'running' run whose process is gone was killed.
    pid: int | None = None


metadata: sa.MetaData = SQLModel.metadata
RUNS: sa.Table = RunRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation

REQUESTS: sa.Table = sa.Table(
    "requests",
    metadata,
    *(sa_column(c, primary_key=c.name in ("run_id", "request_id")) for c in REQUEST_FIELDS),
    sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE"),
)

CHUNKS: sa.Table = sa.Table(
    "chunks",
    metadata,
    sa.Column("run_id", sa.String(), primary_key=True),
    *(sa_column(c, primary_key=c.name in ("request_id", "index")) for c in CHUNK_FIELDS),
    sa.ForeignKeyConstraint(
        ["run_id", "request_id"],
        ["requests.run_id", "requests.request_id"],
        ondelete="CASCADE",
    ),
)

REQUEST_NAMES: tuple[str, ...] = tuple(c.name for c in REQUEST_FIELDS)
CHUNK_NAMES: tuple[str, ...] = tuple(c.name for c in CHUNK_FIELDS)
