"""Import a run exported by ``lens export`` (lens.store.files): back into a store, exactly.

Every check an import runs before storing rows lens did not measure itself is in
lens.store.import_checks; what other tools wrote is read by lens.importers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lens.errors import StoreError
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, ChunkTiming, Column, RequestRecord
from lens.store.files import read_frame, run_files
from lens.store.import_checks import (
    check_chunk_owners,
    json_line,
    meta_time,
    positions_repeated,
    rows_text,
)

__all__ = ["frame_to_chunks", "frame_to_records", "import_run", "read_frame_empty", "read_run"]


def read_run(
    path: str | os.PathLike[str], fmt: str | None = None
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Read an exported run: (metadata dict, request frame, chunk frame)."""
    files = run_files(path, fmt)
    meta: dict[str, Any] = {}
    if files.meta.is_file():
        try:
            meta = json_line(files.meta.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise StoreError(f"{files.meta}: not a lens run metadata file ({exc})",
                             hint="keep the .meta.json that `lens export` wrote") from None
        if not isinstance(meta, dict):
            raise StoreError(f"{files.meta}: not a lens run metadata file (not a JSON object)")
    requests = read_frame(files.requests, files.format, REQUEST_FIELDS)
    chunks = (
        read_frame(files.chunks, files.format, CHUNK_FIELDS)
        if files.chunks.is_file()
        else read_frame_empty(CHUNK_FIELDS)
    )
    return meta, requests, chunks


def read_frame_empty(fields: Sequence[Column]) -> pd.DataFrame:
    from lens.record.frames import conform

    return conform(pd.DataFrame(columns=[c.name for c in fields]), fields)


def _none(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return v.item()
    return v


def frame_to_records(df: pd.DataFrame) -> list[RequestRecord]:
    names = [c.name for c in REQUEST_FIELDS]
    cols = [df[n].tolist() for n in names]
    return [
        RequestRecord(**{n: _none(v) for n, v in zip(names, row, strict=True)})
        for row in zip(*cols, strict=True)
    ]


def frame_to_chunks(df: pd.DataFrame) -> list[ChunkTiming]:
    names = [c.name for c in CHUNK_FIELDS]
    cols = [df[n].tolist() for n in names]
    return [
        ChunkTiming(**{n: _none(v) for n, v in zip(names, row, strict=True)})
        for row in zip(*cols, strict=True)
    ]


def _run_from_meta(run: Any, source: str) -> Any:
    """The RunInfo of a ``.meta.json``'s ``run``; StoreError naming the field that is wrong."""
    from lens.record import run_info_from_dict
    from lens.store.base import RunInfo

    if not isinstance(run, dict):
        raise StoreError(f"{source}: 'run' is not an object", hint="keep the .meta.json that `lens export` wrote")
    run = {k: v for k, v in run.items() if k in RunInfo.__dataclass_fields__}  # newer lens: more
    for k in ("started_at", "finished_at"):
        when = meta_time(run.get(k), source, f"run.{k}")
        run = {**run, k: when.isoformat() if when is not None else None}
    try:
        return run_info_from_dict(run)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{source}: its run record cannot be read ({exc})",
                         hint="keep the .meta.json that `lens export` wrote") from None


def import_run(
    store: Any, path: str | os.PathLike[str], *, fmt: str | None = None, run_id: str | None = None
) -> str:
    """Load an exported run into ``store``; returns its run id (``run_id`` renames it)."""
    from lens.store.base import RunInfo

    meta, requests, chunks = read_run(path, fmt)
    files = run_files(path, fmt)
    repeated = positions_repeated(requests["request_id"].astype(str))
    if repeated:
        first = requests["request_id"].iloc[repeated[0]]
        raise StoreError(
            f"{files.requests}: request_id {str(first)[:60]!r} is used by more than one row "
            f"({rows_text(repeated, 1 if files.format == 'csv' else 0)} repeats an earlier one)",
            hint="each request needs its own id: remove the repeated rows, or re-export the run")
    repeated = positions_repeated(zip(chunks["request_id"].astype(str), chunks["index"], strict=True))
    if repeated:
        raise StoreError(f"{files.chunks}: {rows_text(repeated)} repeats an earlier row's request_id and index",
                         hint="remove the repeated chunk rows, or re-export the run")
    check_chunk_owners(requests["request_id"], chunks["request_id"].tolist(), str(files.chunks),
                       header_lines=1 if files.format == "csv" else 0)
    ids = sorted(set(requests["run_id"].dropna().astype(str)))
    if meta.get("run"):
        run = _run_from_meta(meta["run"], str(files.meta))
    elif len(ids) == 1:
        started = requests["started_at"].min()
        run = RunInfo(
            run_id=ids[0], name=ids[0], started_at=started.to_pydatetime(), status="complete"
        )
    else:
        raise StoreError(
            f"{path}: no metadata file and {len(ids)} run ids in the rows",
            hint="import files written by `lens export` (keep the .meta.json beside them)",
        )
    if len(ids) > 1:
        raise StoreError(
            f"{path}: rows belong to {len(ids)} runs ({', '.join(ids[:3])}...); export one run per file"
        )
    new_id = run_id or run.run_id
    requests = requests.assign(run_id=new_id)
    status, skipped = run.status, run.skipped
    run.run_id = new_id
    run.status = "running"
    run.extra = {**run.extra, "imported_from": os.fspath(path)}
    run.extra.pop("pid", None)
    finished = run.finished_at
    store.start_run(run)
    try:
        store.add_many(frame_to_records(requests), frame_to_chunks(chunks))
    except Exception:
        store.delete_run(new_id, exact=True)
        raise
    store.finish_run(
        new_id, status=status if status != "running" else "incomplete", skipped=skipped
    )
    if finished is not None:
        store.set_finished_at(new_id, finished)
    return new_id
