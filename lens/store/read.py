"""Read request rows (and chunk timings) from any source into conformed pandas frames.

One entry point, :func:`load` (also ``lens.load`` and ``lens.analysis.frames.load``): a
SQLite store (lens.store.read_sqlite), a server database (lens.store.read_server), exported
files (lens.store.files), an S3 Parquet dataset or an Athena query (lens.store.s3).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lens.errors import ConfigError, NotFoundError, require
from lens.record.columns import CHUNK_FIELDS, REQUEST_FIELDS, Column
from lens.record.frames import conform

_FILE_READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl",
                 ".ndjson": "jsonl", ".json": "jsonl"}
_CHUNK_SUFFIXES = (".chunks", "_chunks", "-chunks")


def _as_list(v: str | Iterable[str] | None) -> list[str] | None:
    if v is None:
        return None
    return [v] if isinstance(v, str) else list(v)


def _as_utc(v: Any, name: str) -> pd.Timestamp | None:
    if v is None:
        return None
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read {v!r} as a time", field=name,
                          hint="use an ISO date such as 2026-01-31 or 2026-01-31T12:00Z") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _is_server_url(db: str | os.PathLike[str]) -> bool:
    s = os.fspath(db)
    return "://" in s and not s.startswith("sqlite:")


def _read_file(path: Path, fields: Sequence[Column] = REQUEST_FIELDS) -> pd.DataFrame:
    """One exported file (or a Parquet dataset directory) as a frame.

    Files go through lens.store.files.read_frame, the reader paired with ``lens export``
    (CSV ``\\N`` nulls, JSONL typing), so a round trip keeps every value.
    """
    if path.is_dir():
        return pd.read_parquet(path)
    kind = _FILE_READERS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"unknown file type {path.suffix!r}", source=str(path),
                          hint="use .parquet, .csv or .jsonl (as written by `lens export`)")
    from lens.store.files import read_frame

    return read_frame(path, kind, fields)


def chunk_path_for(path: str | os.PathLike[str]) -> Path | None:
    """The sibling chunk file of an exported request file, if it exists.

    Tries ``NAME.chunks.EXT``, ``NAME_chunks.EXT`` and ``NAME-chunks.EXT`` next to
    ``NAME.EXT`` (and ``chunks`` beside a ``requests`` dataset directory).
    """
    p = Path(path)
    if p.is_dir() and p.name == "requests":
        cand = p.with_name("chunks")
        return cand if cand.exists() else None
    for suffix in _CHUNK_SUFFIXES:
        cand = p.with_name(f"{p.stem}{suffix}{p.suffix}")
        if cand.exists():
            return cand
    return None


def _filter_frame(
    df: pd.DataFrame, *, runs: list[str] | None, since: pd.Timestamp | None,
    until: pd.Timestamp | None, targets: list[str] | None, include_warmup: bool,
) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if runs:
        mask &= df["run_id"].isin(runs)
    if targets:
        mask &= df["target"].astype("object").isin(targets)
    if since is not None:
        mask &= df["started_at"] >= since
    if until is not None:
        # a bare date means "through the end of that day"
        if until == until.normalize():
            mask &= df["started_at"] < until + pd.Timedelta(days=1)
        else:
            mask &= df["started_at"] <= until
    if not include_warmup:
        mask &= ~df["warmup"].fillna(False).astype(bool)
    return df if bool(mask.all()) else df.loc[mask].reset_index(drop=True)


def load(
    db: str | os.PathLike[str] | None = None,
    *,
    runs: str | Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    since: Any = None,
    until: Any = None,
    target: str | Iterable[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    s3: str | None = None,
    athena: str | None = None,
    chunks: bool = False,
    include_warmup: bool = True,
    boto3_session: Any = None,
    chunks_path: str | os.PathLike[str] | None = None,
    athena_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Load request rows (and, with ``chunks=True``, their chunk timings) as pandas frames.

    Exactly one source: ``db`` (a SQLite store path or ``sqlite:///`` URL, read directly
    with sqlite3 for speed; or a PostgreSQL URL, read through lens.store; default
    ``$LENS_DB``, else the default store path of lens.store.paths), ``path`` (a Parquet/CSV/JSONL export or a Parquet directory; chunks come
    from the sibling file, see ``chunk_path_for``, or ``chunks_path``), ``s3`` (an S3 Parquet
    dataset URI, via lens.store.s3.read_dataset) or ``athena`` (an SQL query, via
    lens.store.s3.athena_query; ``athena_options`` are passed through). The AWS sources need
    the ``aws`` extra and take ``boto3_session``.

    Filters apply to every source: ``runs`` (run ids), ``tags`` (run tags, SQLite only),
    ``since``/``until`` (``started_at`` bounds, UTC; a bare date as ``until`` includes that
    whole day), ``target`` (target names), ``include_warmup``.

    Returns the request frame with the dtypes in REQUEST_DTYPES (see the module docstring),
    or ``(requests, chunks)`` when ``chunks=True`` (chunks in CHUNK_DTYPES, only for the
    selected requests).
    """
    if db is not None and not isinstance(db, str | os.PathLike) and hasattr(db, "url"):
        db = str(db.url)  # a lens.store SQLStore
    sources = {k: v for k, v in (("db", db), ("path", path), ("s3", s3), ("athena", athena))
               if v is not None}
    if len(sources) > 1:
        raise ConfigError(f"give one data source, got {', '.join(sources)}",
                          hint="pass only one of db=, path=, s3=, athena=")
    if not sources:
        from lens.store.paths import resolve_db

        sources = {"db": resolve_db()}  # $LENS_DB, else the default store path
    run_list, targets = _as_list(runs), _as_list(target)
    t0, t1 = _as_utc(since, "since"), _as_utc(until, "until")
    kind, src = next(iter(sources.items()))
    if tags and kind != "db":
        raise ConfigError("tags filter needs the SQLite store (runs table)", field="tags",
                          hint="filter by runs= instead, or load from db=")
    flt = {"runs": run_list, "since": t0, "until": t1, "targets": targets,
           "include_warmup": include_warmup}
    if kind == "db":
        req, ch = _from_db(src, tags=tags, chunks=chunks, **flt)
    elif kind == "path":
        req, ch = _from_path(Path(src), chunks, chunks_path)
    else:
        req, ch = _from_aws(kind, src, run_list, chunks, chunks_path, boto3_session,
                            athena_options)
    # A SQLite store has already selected the runs, resolving 'latest' and prefixes.
    sqlite_runs = kind == "db" and not _is_server_url(src)
    out = _filter_frame(conform(req, REQUEST_FIELDS), runs=None if sqlite_runs else run_list, since=t0, until=t1,
                        targets=targets, include_warmup=include_warmup)
    if kind == "db":  # the runs' loop probes, so the gate and health read what lens gate does
        from lens.store.read_clients import attach_run_clients

        attach_run_clients(out, src)
    if not chunks:
        return out
    cf = conform(ch if ch is not None else pd.DataFrame(), CHUNK_FIELDS)
    if kind != "db" or _is_server_url(src):
        cf = cf.loc[cf["request_id"].isin(out["request_id"])].reset_index(drop=True)
    return out, cf


def _from_db(src: Any, *, tags: Mapping[str, str] | None, chunks: bool, **flt: Any
             ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if "://" in os.fspath(src) and not os.fspath(src).startswith("sqlite"):
        from lens.store.read_server import load_frames  # PostgreSQL and other server URLs

        return load_frames(os.fspath(src), tags=tags, chunks=chunks, **flt)
    from lens.store.read_sqlite import load_sqlite

    return load_sqlite(src, tags=tags, chunks=chunks, **flt)


def _from_path(p: Path, chunks: bool, chunks_path: str | os.PathLike[str] | None
               ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if not p.exists():
        raise NotFoundError(f"{p}: no such file", hint="check the path of the export")
    req = _read_file(p)
    if not chunks:
        return req, None
    cp = Path(chunks_path) if chunks_path else chunk_path_for(p)
    if cp is None or not cp.exists():
        raise NotFoundError(f"{p}: no chunk file beside it",
                            hint="export with chunks or pass chunks_path=")
    return req, _read_file(cp, CHUNK_FIELDS)


def _from_aws(kind: str, src: Any, run_list: list[str] | None, chunks: bool,
              chunks_path: Any, boto3_session: Any, athena_options: Mapping[str, Any] | None
              ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    s3mod = require("lens.store.s3", "aws")
    if kind == "s3":
        # one run: let the reader skip other run_id partitions
        pf = {"run_id": run_list[0]} if run_list and len(run_list) == 1 else None
        req = s3mod.read_dataset(src, boto3_session=boto3_session, partition_filter=pf)
        ch = None
        if chunks:
            uri = chunks_path or str(src).rstrip("/").rsplit("/requests", 1)[0] + "/chunks/"
            ch = s3mod.read_dataset(str(uri), boto3_session=boto3_session, table="chunks",
                                    partition_filter=pf)
        return req, ch
    if chunks:
        raise ConfigError("chunks=True is not available for athena=",
                          hint="query the chunks table with a second athena= call")
    return s3mod.athena_query(src, boto3_session=boto3_session, **dict(athena_options or {})), None
