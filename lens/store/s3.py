"""The results lake on S3: Parquet objects at deterministic keys, Glue partitions, Athena.

Writers (the Lambda runner, the local fleet) call :func:`write_shard`; readers call
:func:`read_dataset` (Parquet dataset under an S3 prefix) or :func:`athena_query` (SQL).
Layout and column types come from :mod:`lens.store.lake_schema`, so a retried invocation
overwrites its own objects and the Glue table matches the record.

boto3/awswrangler are imported lazily (``aws`` extra); the boto3 session is always passed
in. ``athena_query(..., engine="duckdb")`` runs the same Athena SQL through sqlglot and
DuckDB's httpfs over the same objects: the offline path (moto, notebooks) and the tests'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from lens.errors import AwsError, StoreError, require
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, ChunkTiming, Column, RequestRecord
from lens.store.lake_schema import (
    PARTITION_KEYS,
    TABLES,
    glue_columns,
    object_key,
    partition_types,
)

if TYPE_CHECKING:
    import boto3
    import pandas as pd

DEFAULT_TABLES: dict[str, str] = {"requests": "requests", "chunks": "chunks"}
_FIELDS: dict[str, tuple[Column, ...]] = {"requests": REQUEST_FIELDS, "chunks": CHUNK_FIELDS}


def _lake_frame(table: str, records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming]) -> pd.DataFrame:
    """The frame stored for ``table``: record columns minus partitions, Athena-typed."""
    from lens.record.frames import chunks_to_frame, records_to_frame

    df = records_to_frame(records) if table == "requests" else chunks_to_frame(chunks)
    df = df.drop(columns=[c for c in PARTITION_KEYS if c in df.columns])
    # Categoricals become plain strings so the Parquet type is exactly Glue's 'string'.
    for name in df.columns:
        if str(df[name].dtype) == "category":
            df[name] = df[name].astype("object").where(df[name].notna(), None)
    return df


def write_shard(
    records: Sequence[RequestRecord],
    chunks: Sequence[ChunkTiming],
    *,
    bucket: str,
    prefix: str,
    region: str,
    run_id: str,
    shard: int,
    dt: str,
    boto3_session: boto3.Session,
    glue_database: str | None = None,
    tables: Mapping[str, str] | None = None,
    create_missing: bool = True,
) -> dict[str, str]:
    """Write one shard's requests and chunks as Parquet; return ``{table: s3 key}``.

    Keys follow ``lake_schema.object_key`` (a pure function of table/dt/region/run_id/shard),
    so writing the same shard twice replaces the objects: no duplicate rows. Both objects
    are written even when empty, so readers see the shard finished. With ``glue_database``
    the partition is registered (idempotent); a missing database/table is created when
    ``create_missing`` (Terraform normally declares them).
    """
    wr = require("awswrangler", "aws")
    names = {**DEFAULT_TABLES, **(tables or {})}
    keys: dict[str, str] = {}
    try:
        for table in TABLES:
            key = object_key(prefix, table, dt=dt, region=region, run_id=run_id, shard=shard)
            df = _lake_frame(table, records, chunks)
            wr.s3.to_parquet(
                df,
                path=f"s3://{bucket}/{key}",
                index=False,
                dtype=glue_columns(table),
                # Athena reads microsecond timestamps; nanoseconds need engine-specific flags.
                pyarrow_additional_kwargs={"coerce_timestamps": "us", "allow_truncated_timestamps": True},
                boto3_session=boto3_session,
            )
            keys[table] = key
            if glue_database:
                _register_partition(
                    wr,
                    database=glue_database,
                    table=names[table],
                    lake_table=table,
                    location=f"s3://{bucket}/{key.rsplit('/', 1)[0]}/",
                    table_location=f"s3://{bucket}/{_table_prefix(prefix, table)}",
                    values=[dt, region, run_id],
                    boto3_session=boto3_session,
                    create_missing=create_missing,
                )
    except Exception as exc:
        raise _aws_error(exc, f"writing shard {shard} of run {run_id} to s3://{bucket}") from exc
    return keys


def _table_prefix(prefix: str, table: str) -> str:
    base = prefix.strip("/")
    return f"{base}/{table}/" if base else f"{table}/"


def _register_partition(
    wr: Any,
    *,
    database: str,
    table: str,
    lake_table: str,
    location: str,
    table_location: str,
    values: list[str],
    boto3_session: boto3.Session,
    create_missing: bool,
) -> None:
    if create_missing:
        dbs = {d["Name"] for d in wr.catalog.get_databases(boto3_session=boto3_session)}
        if database not in dbs:
            wr.catalog.create_database(database, exist_ok=True, boto3_session=boto3_session)
        if not wr.catalog.does_table_exist(database, table, boto3_session=boto3_session):
            wr.catalog.create_parquet_table(
                database=database,
                table=table,
                path=table_location,
                columns_types=glue_columns(lake_table),
                partitions_types=partition_types(),
                compression="snappy",
                description=f"LLM Latency Lens {lake_table} (lens.store.lake_schema)",
                mode="append",
                boto3_session=boto3_session,
            )
    # batch_create_partition ignores AlreadyExists inside awswrangler: re-runs are no-ops.
    wr.catalog.add_parquet_partitions(
        database=database,
        table=table,
        partitions_values={location: values},
        compression="snappy",
        boto3_session=boto3_session,
    )


def _aws_error(exc: Exception, doing: str) -> AwsError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    what = f"{code}: " if code else f"{type(exc).__name__}: "
    return AwsError(
        f"{doing} failed ({what}{exc})",
        hint="check the bucket/database exist and the credentials allow s3:PutObject, glue:*Partition*",
    )


def _table_of(columns: Sequence[str], hint: str | None = None) -> str | None:
    if hint in TABLES:
        return hint
    cols = set(columns)
    if {"request_id", "index", "t_ms"} <= cols and "status" not in cols:
        return "chunks"
    if {"request_id", "status"} <= cols:
        return "requests"
    return None


def conform_known(df: pd.DataFrame, table: str | None = None) -> pd.DataFrame:
    """Give record columns present in ``df`` their documented dtypes.

    A frame holding whole rows (request_id + status, or request_id + index + t_ms) is
    conformed completely (missing columns added as nulls); an aggregate result only has
    its known columns typed.
    """
    from lens.record.frames import conform

    which = _table_of(list(df.columns), table)
    if which is not None:
        out = conform(df, _FIELDS[which])
    else:
        fields = [c for c in (*REQUEST_FIELDS, *CHUNK_FIELDS) if c.name in df.columns]
        unique = list({c.name: c for c in reversed(fields)}.values())[::-1]  # first of each name
        out = conform(df, unique) if unique else df
    for col in (*REQUEST_FIELDS, *CHUNK_FIELDS):  # Parquet/Athena give us; frames use ns
        if col.type == "timestamp" and col.name in out.columns:
            out[col.name] = out[col.name].astype("datetime64[ns, UTC]")
    return out


def read_dataset(
    s3_uri: str,
    *,
    boto3_session: boto3.Session,
    table: str | None = None,
    partition_filter: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a lake table (e.g. ``s3://bucket/lens/requests/``) into a conformed frame.

    Partition columns (dt, region, run_id) come back from the key path. ``partition_filter``
    keeps only partitions whose values equal the given ones.
    """
    wr = require("awswrangler", "aws")
    uri = s3_uri if s3_uri.endswith("/") or s3_uri.endswith(".parquet") else s3_uri + "/"
    want = dict(partition_filter or {})
    table = table or next((t for t in TABLES if f"/{t}/" in uri or uri.rstrip("/").endswith(t)), None)
    try:
        df = wr.s3.read_parquet(
            path=uri,
            dataset=True,
            partition_filter=(lambda p: all(p.get(k) == v for k, v in want.items())) if want else None,
            boto3_session=boto3_session,
        )
    except wr.exceptions.NoFilesFound:
        import pandas as pd

        df = pd.DataFrame(columns=[c.name for c in _FIELDS.get(table or "requests", REQUEST_FIELDS)])
    except Exception as exc:
        raise _aws_error(exc, f"reading {s3_uri}") from exc
    for key in PARTITION_KEYS:
        if key in df.columns:
            df[key] = df[key].astype("object")
    return conform_known(df, table)


def athena_query(
    sql: str,
    *,
    database: str,
    workgroup: str = "primary",
    s3_output: str | None = None,
    boto3_session: boto3.Session | None = None,
    ctas_approach: bool = False,
    unload_approach: bool = False,
    engine: Literal["athena", "duckdb"] = "athena",
    lake: str | None = None,
    tables: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Run Athena SQL over the results lake and return a frame conformed to the record.

    ``engine="athena"`` (default) runs it on Athena through awswrangler with
    ``ctas_approach=False`` (no temporary tables) or UNLOAD, in ``workgroup`` with results
    at ``s3_output``. ``engine="duckdb"`` transpiles the same SQL (sqlglot, athena ->
    duckdb) and runs it on DuckDB over the Parquet objects under ``lake``
    (``s3://bucket/prefix``), with the session's credentials and endpoint: no Athena needed.
    """
    if engine == "duckdb":
        if not lake:
            raise StoreError("engine='duckdb' needs lake='s3://BUCKET/PREFIX'", hint="pass lake=")
        return conform_known(
            duckdb_query(sql, lake=lake, database=database, boto3_session=boto3_session, tables=tables)
        )
    wr = require("awswrangler", "aws")
    try:
        df = wr.athena.read_sql_query(
            sql,
            database=database,
            ctas_approach=ctas_approach and not unload_approach,
            unload_approach=unload_approach,
            unload_parameters={"file_format": "PARQUET"} if unload_approach else None,
            s3_output=s3_output,
            workgroup=workgroup,
            boto3_session=boto3_session,
        )
    except Exception as exc:
        raise _aws_error(exc, f"Athena query in {database!r} (workgroup {workgroup!r})") from exc
    return conform_known(df)


def duckdb_connect_s3(boto3_session: boto3.Session | None) -> Any:
    """A DuckDB connection with httpfs loaded (from the PyPI wheel, offline) and an S3
    secret built from the boto3 session: its credentials, region and endpoint."""
    duckdb = require("duckdb", "test")
    con = duckdb.connect()
    _load_httpfs(con)
    if boto3_session is None:
        return con
    creds = boto3_session.get_credentials()
    frozen = creds.get_frozen_credentials() if creds else None
    endpoint = boto3_session.client("s3").meta.endpoint_url
    parts = urlsplit(endpoint)
    opts = {
        "TYPE": "s3",
        "REGION": boto3_session.region_name or "us-east-1",
        "USE_SSL": "true" if parts.scheme == "https" else "false",
    }
    if frozen:
        opts["KEY_ID"] = frozen.access_key
        opts["SECRET"] = frozen.secret_key
        if frozen.token:
            opts["SESSION_TOKEN"] = frozen.token
    if parts.hostname and not parts.hostname.endswith("amazonaws.com"):
        opts["ENDPOINT"] = parts.netloc
        opts["URL_STYLE"] = "path"
    body = ", ".join(f"{k} {v}" if v in ("true", "false", "s3") else f"{k} '{_q(v)}'" for k, v in opts.items())
    con.execute(f"CREATE OR REPLACE SECRET lens_s3 ({body})")
    return con


def _q(v: str) -> str:
    return v.replace("'", "''")


def _load_httpfs(con: Any) -> None:
    try:
        con.execute("LOAD httpfs")
        return
    except Exception:
        pass
    try:  # the duckdb-extension-httpfs wheel ships the binary; install it from the wheel
        from duckdb_extensions import import_extension

        import_extension("httpfs", con=con)
        con.execute("LOAD httpfs")
    except Exception as exc:
        raise StoreError(
            f"DuckDB's httpfs extension could not be loaded ({exc})",
            hint="pip install duckdb-extensions duckdb-extension-httpfs matching the duckdb version",
        ) from exc


def duckdb_query(
    sql: str,
    *,
    lake: str,
    database: str,
    boto3_session: boto3.Session | None,
    tables: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Run Athena-dialect ``sql`` on DuckDB over the lake's Parquet objects.

    Views ``<database>.<table>`` (and unqualified ``<table>``) read
    ``<lake>/<lake table>/dt=*/region=*/run_id=*/*.parquet`` with Hive partitions kept
    as strings, as Glue declares them.
    """
    sqlglot = require("sqlglot", "test")
    names = {**DEFAULT_TABLES, **(tables or {})}
    con = duckdb_connect_s3(boto3_session)
    try:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
        root = lake.rstrip("/")
        for lake_table, name in names.items():
            glob = f"{root}/{lake_table}/*/*/*/*.parquet"
            src = (
                f"read_parquet('{_q(glob)}', hive_partitioning=true, hive_types_autocast=false, "
                "union_by_name=true)"
            )
            con.execute(f'CREATE OR REPLACE VIEW "{database}"."{name}" AS SELECT * FROM {src}')
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {src}')
        (duck_sql,) = sqlglot.transpile(sql, read="athena", write="duckdb")
        return con.execute(duck_sql).df()
    except Exception as exc:
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"DuckDB query over {lake} failed: {exc}", hint="check the SQL and the lake path") from exc
    finally:
        con.close()


def read_shard(
    s3_client: Any,
    bucket: str,
    keys: Mapping[str, str],
    *,
    run_id: str,
    region: str,
) -> tuple[list[RequestRecord], list[ChunkTiming]]:
    """Read one shard's objects (``{table: key}`` as write_shard returned) back into rows.

    Partition values (run_id, region) are not stored in the objects; they are given here.
    Used by the fan-out when a response was too large to carry its rows inline.
    """
    import io

    import pyarrow.parquet as pq

    def table_rows(table: str) -> list[dict[str, Any]]:
        key = keys.get(table)
        if not key:
            return []
        try:
            body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise _aws_error(exc, f"reading s3://{bucket}/{key}") from exc
        return pq.read_table(io.BytesIO(body)).to_pylist()

    records = [
        RequestRecord.from_dict({**row, "run_id": run_id, "region": region})
        for row in table_rows("requests")
    ]
    chunks = [ChunkTiming(**row) for row in table_rows("chunks")]
    return records, chunks
