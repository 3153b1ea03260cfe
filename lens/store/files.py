"""Export and import runs as Parquet, CSV or JSONL, losslessly.

An export of run R to ``out/R.parquet`` writes three files:

- ``out/R.parquet``          request rows: exactly the REQUEST_FIELDS columns, in order;
- ``out/R.chunks.parquet``   chunk rows: the CHUNK_FIELDS columns;
- ``out/R.meta.json``        the run row (spec, who/where/when, status, tags) + format.

Dtypes come from lens.record.frames (``conform``), so a frame read back equals the
frame exported, nulls included. Format details that keep round trips exact:

- Parquet: pyarrow with the pandas dtypes (categoricals, nullable Int64/boolean, UTC ns).
- CSV: every value written as text, null written as ``\\N`` (so an empty string and a null
  stay distinct; a literal ``\\N`` string would read back as null), floats with full
  round-trip precision, timestamps ISO 8601 with offset. A text cell starting with ``=``,
  ``+``, ``-``, ``@``, tab, carriage return or ``'`` gets one leading ``'`` (OWASP's CSV
  injection rule: a spreadsheet shows it as text, never runs it as a formula); lens's CSV
  readers take that ``'`` off again (only where the guard could have put it), so the round
  trip stays exact and an older export's ``'quoted'`` text is read as it stands.
- JSONL: one JSON object per line, null as ``null``, floats via ``repr`` (exact),
  timestamps ISO 8601 with offset.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lens.errors import ConfigError, NotFoundError, StoreError
from lens.record import (
    CHUNK_FIELDS,
    CHUNK_KINDS,
    REQUEST_FIELDS,
    STATUSES,
    Column,
)
from lens.store.import_checks import (
    bad_number,
    json_line,
)

Format = Literal["parquet", "csv", "jsonl"]
FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
_SUFFIX = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
CSV_NULL = "\\N"
META_VERSION = 1
# Columns whose values come from a closed set (the record's Literal types).
ENUMS: dict[str, tuple[str, ...]] = {"status": STATUSES, "kind": CHUNK_KINDS}
# Text a bool cell may hold (what conform reads as True, and its negations).
_BOOL_TEXT = frozenset(("1", "0", "true", "false", "t", "f", "yes", "no"))
# Excel and LibreOffice run a cell starting with any of these but the quote as a formula;
# the quote is escaped too so that a reader can always take exactly one quote off.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
_TEXT_TYPES = ("str", "category")


def csv_guard(text: str) -> str:
    """A text cell as lens writes it to CSV: ``'`` before a spreadsheet formula's start."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_unguard(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``df`` (CSV text) with the guard's ``'`` taken off the text cells of ``names``.

    Only a ``'`` :func:`csv_guard` could have written comes off (one followed by a formula's
    start or a quote): a cell such as ``'messages' is required`` from an export made before
    the guard, or by hand, reads as it stands.
    """
    def column(s: pd.Series) -> pd.Series:  # object dtype kept: None stays None, not NaN
        return pd.Series([v[1:] if isinstance(v, str) and v.startswith("'")
                          and v[1:].startswith(_FORMULA_START) else v for v in s],
                         index=s.index, dtype=object)

    present = [n for n in names if n in df.columns]
    return df.assign(**{n: column(df[n]) for n in present}) if present else df


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The three files of one exported run."""

    requests: Path
    chunks: Path
    meta: Path
    format: str


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(
                f"unknown format {fmt!r}",
                source="--format",
                hint=f"use one of {', '.join(FORMATS)}",
            )
        return fmt
    suffix = Path(path).suffix.lower()
    for name, suf in _SUFFIX.items():
        if suffix == suf or (name == "jsonl" and suffix in (".ndjson", ".json")):
            return name
    raise ConfigError(
        f"cannot tell the format of {os.fspath(path)!r} from its suffix",
        source="--format",
        hint="give --format parquet|csv|jsonl or name the file .parquet, .csv or .jsonl",
    )


def run_files(path: str | os.PathLike[str], fmt: str | None = None) -> RunFiles:
    """The request, chunk and metadata paths belonging to ``path`` (any of the three)."""
    p = Path(path)
    name = p.name
    for tail in (".meta.json",):
        if name.endswith(tail):
            stem = name[: -len(tail)]
            meta = p
            if fmt is None:
                fmt = _meta_format(meta)
            break
    else:
        fmt = format_for(p, fmt)
        stem = name[: -len(p.suffix)] if p.suffix else name
        stem = stem.removesuffix(".chunks")
    suffix = p.suffix if p.suffix and not name.endswith(".meta.json") else _SUFFIX[fmt]
    parent = p.parent
    return RunFiles(
        requests=parent / f"{stem}{suffix}",
        chunks=parent / f"{stem}.chunks{suffix}",
        meta=parent / f"{stem}.meta.json",
        format=fmt,
    )


def _meta_format(meta: Path) -> str:
    try:
        return str(json.loads(meta.read_text(encoding="utf-8"))["format"])
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"{meta}: not a lens run metadata file ({exc})") from None


# frame <-> file ----------------------------------------------------------------------------


def _cell(value: Any, col: Column) -> Any:
    """A JSON-ready Python value for one cell (None for every kind of null)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if col.type == "float":
        f = float(value)
        return None if math.isnan(f) else f
    if col.type == "int":
        return int(value)
    if col.type == "bool":
        return bool(value)
    if col.type == "timestamp":
        return pd.Timestamp(value).isoformat()
    return str(value)


def write_frame(df: pd.DataFrame, path: Path, fmt: str, fields: Sequence[Column]) -> None:
    """Write a conformed frame to ``path`` in ``fmt``."""
    from lens.record.frames import conform

    df = conform(df, fields)
    names = [c.name for c in fields]
    df = df[names]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        df.to_parquet(path, index=False)
        return
    cols = list(fields)
    columns = [df[c.name].tolist() for c in cols]
    text = [c.type in _TEXT_TYPES for c in cols]
    rows = zip(*columns, strict=True) if columns else iter(())
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                obj = {c.name: _cell(v, c) for c, v in zip(cols, row, strict=True)}
                fh.write(json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n")
        return
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in rows:
            out = []
            for c, is_text, v in zip(cols, text, row, strict=True):
                cell = _cell(v, c)
                if cell is None:
                    out.append(CSV_NULL)
                elif is_text:
                    out.append(csv_guard(cell))
                else:
                    out.append(repr(cell) if isinstance(cell, float) else cell)
            w.writerow(out)


def read_frame(path: Path, fmt: str, fields: Sequence[Column]) -> pd.DataFrame:
    """Read a file written by ``write_frame`` back into a conformed frame."""
    from lens.record.frames import conform

    if not path.is_file():
        raise NotFoundError(f"{path}: file not found", hint="check the path of the exported run")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
        elif fmt == "csv":
            df = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[CSV_NULL], encoding="utf-8"
            ).astype(object)
            df = csv_unguard(df.where(df.notna(), None),
                             [c.name for c in fields if c.type in _TEXT_TYPES])
        else:
            rows = []
            with path.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            rows.append(json_line(line))
                        except ValueError as exc:
                            raise StoreError(f"{path}: line {n} is not a lens row: {exc}",
                                             hint="give the file as `lens export` wrote it") from None
            df = pd.DataFrame(rows, columns=[c.name for c in fields])
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read as {fmt}: {exc}") from None
    missing = [c.name for c in fields if not c.nullable and c.name not in df.columns]
    if missing:
        raise StoreError(
            f"{path}: missing required columns {missing}", hint="export the run with `lens export`"
        )
    checked = {c.name: _checked_column(df[c.name], c, path, fmt) for c in fields if c.name in df}
    return conform(df.assign(**checked) if checked else df, fields)


def _shown(value: Any) -> str:
    """A cell as messages quote it: ``'abc'``, ``-5.0``, ``None`` (never a numpy repr)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    return repr(value)


def _checked_column(raw: pd.Series, col: Column, path: Path, fmt: str) -> pd.Series:
    """``raw`` with its column's dtype; StoreError (file, column, row, value, fix) for a value
    the conversion would turn into a null or a wrong value, instead of storing that."""
    from lens.record.frames import conform

    def bad(pos: int, what: str) -> StoreError:
        value = raw.iloc[pos]
        line = f" (line {pos + 2})" if fmt == "csv" else ""
        null = {"csv": CSV_NULL, "jsonl": "null"}.get(fmt, "a null")
        return StoreError(
            f"{path}: column {col.name!r}, row {pos + 1}{line}: {_shown(value)} {what}",
            hint=f"correct the value in the file (write {null} for no value), "
            "or re-export the run with `lens export`",
        )

    def convert(s: pd.Series) -> pd.Series:
        return conform(pd.DataFrame({col.name: s}), [col])[col.name]

    present = raw.notna().to_numpy()
    if col.type == "bool" and raw.dtype == object:
        for pos, v in enumerate(raw.tolist()):
            if (
                present[pos]
                and not isinstance(v, bool)
                and str(v).strip().lower() not in _BOOL_TEXT
            ):
                raise bad(pos, "is not true or false")
    try:
        out = convert(raw)
    except (ValueError, TypeError, OverflowError):
        for pos in range(len(raw)):  # find the first value that cannot be converted
            try:
                one = convert(raw.iloc[pos : pos + 1])
            except (ValueError, TypeError, OverflowError):
                raise bad(pos, f"is not a valid {col.type}") from None
            if present[pos] and one.isna().all():
                raise bad(pos, f"is not a valid {col.type}") from None
        raise
    lost = present & out.isna().to_numpy()  # a value that conversion made null
    if lost.any():
        raise bad(int(lost.argmax()), f"is not a valid {col.type}")
    if col.type in ("float", "int"):
        # vectorised: a per-cell check cost ~5 s on a million-row, 63-column load
        vals = pd.to_numeric(out, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            wrong = np.flatnonzero(np.isinf(vals) | (vals < 0))
        if wrong.size:
            pos = int(wrong[0])
            raise bad(pos, bad_number(float(vals[pos])) or f"is not a valid {col.type}")
    if not col.nullable and not present.all():
        raise bad(int((~present).argmax()), "is missing, and the column is required")
    allowed = ENUMS.get(col.name)
    if allowed is not None:
        unknown = present & ~raw.astype("object").isin(allowed).to_numpy()
        if unknown.any():
            raise bad(int(unknown.argmax()), f"is not one of {', '.join(allowed)}")
    return out


# runs --------------------------------------------------------------------------------------


def export_run(
    store: Any, run_id: str, path: str | os.PathLike[str], fmt: str | None = None
) -> RunFiles:
    """Write run ``run_id`` of ``store`` (a SQLStore) to ``path`` + chunk and meta siblings."""
    from lens.record import run_info_dict

    files = run_files(path, fmt)
    run = store.get_run(run_id)
    run.spec_json = _without_prompt_text(run.spec_json)
    store.flush()
    requests = store.requests_frame(run.run_id)
    chunks = store.chunks_frame(run.run_id)
    write_frame(requests, files.requests, files.format, REQUEST_FIELDS)
    write_frame(chunks, files.chunks, files.format, CHUNK_FIELDS)
    meta = {
        "lens_export": META_VERSION,
        "format": files.format,
        "requests": files.requests.name,
        "chunks": files.chunks.name,
        "n_requests": len(requests),
        "n_chunks": len(chunks),
        "run": run_info_dict(run),
    }
    files.meta.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return files


def _without_prompt_text(spec_json: str) -> str:
    """A stored spec with inline prompt texts as hashes (runs stored before that rule)."""
    from lens.spec.stored import hide_prompt_text

    try:
        data = json.loads(spec_json or "{}")
    except ValueError:
        return spec_json
    if not isinstance(data, dict) or "inline" not in (data.get("prompts") or {}):
        return spec_json
    return json.dumps(hide_prompt_text(data), separators=(",", ":"))
