"""The S3/Glue/Athena layout of the results lake, derived from lens.record.

Used by the Lambda runner (writing Parquet), the S3/Athena loaders, and the Terraform
contract test (which checks that terraform/modules/results declares exactly these
columns). Change the record, and everything here follows.

Layout::

    s3://BUCKET/PREFIX/requests/dt=YYYY-MM-DD/region=R/run_id=ID/shard-NNNN.parquet
    s3://BUCKET/PREFIX/chunks/dt=YYYY-MM-DD/region=R/run_id=ID/shard-NNNN.parquet

Object keys are a pure function of (table, dt, region, run_id, shard), so a retried
invocation overwrites its own objects instead of adding duplicate rows.
"""

from __future__ import annotations

from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, Column

PARTITION_KEYS: tuple[str, ...] = ("dt", "region", "run_id")
TABLES: tuple[str, ...] = ("requests", "chunks")

ATHENA_TYPES: dict[str, str] = {
    "str": "string",
    "category": "string",
    "int": "bigint",
    "float": "double",
    "bool": "boolean",
    "timestamp": "timestamp",
}


def _columns(fields: tuple[Column, ...]) -> dict[str, str]:
    return {c.name: ATHENA_TYPES[c.type] for c in fields if c.name not in PARTITION_KEYS}


def glue_columns(table: str) -> dict[str, str]:
    """Non-partition columns of a lake table, name -> Athena type, in record order.

    The chunk table carries run_id/region/dt only as partitions, like the request table.
    """
    if table == "requests":
        return _columns(REQUEST_FIELDS)
    if table == "chunks":
        return _columns(CHUNK_FIELDS)
    raise ValueError(f"unknown lake table {table!r}; known: {', '.join(TABLES)}")


def partition_types() -> dict[str, str]:
    return dict.fromkeys(PARTITION_KEYS, "string")


def object_key(prefix: str, table: str, *, dt: str, region: str, run_id: str, shard: int) -> str:
    """Deterministic key for one shard's Parquet object (idempotent on retry)."""
    base = prefix.strip("/")
    head = f"{base}/" if base else ""
    return f"{head}{table}/dt={dt}/region={region}/run_id={run_id}/shard-{shard:04d}.parquet"
