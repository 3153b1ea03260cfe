"""Any CSV of per-request results, with a column mapping.

A mapping entry is ``LENS=THEIRS``: a lens column on the left (``ttft_ms``; the ``_ms``
may be left off: ``ttft``), a column of the file on the right, optionally converted:

- ``ttft=ttft_s:s`` -- the column holds seconds (``:s``, ``:ms``, ``:us``, ``:ns``); lens
  times are milliseconds. ``started_at=ts:s`` reads epoch seconds (ISO text needs no unit).
- ``ttft=ttft_s*1000`` or ``e2e=latency_us/1000`` -- multiply or divide by a number (number
  columns only; ``started_at`` takes a unit, not a factor).
- ``ok=success`` -- a true/false column: status ``ok`` when true, else from ``error``.

Columns already named like lens columns are taken as they are. Give ``map`` as a list of
such strings, one comma-separated string, or a dict ``{"ttft": "ttft_s:s"}``.
What is not mapped stays null (required identity columns get lens's defaults; every such
choice is in the notes). Details: docs/importers.md#csv.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from lens.errors import ConfigError
from lens.importers import derive
from lens.importers.base import ImportedRun, PeerImportError, default_run_id, file_stem
from lens.importers.validate import check_frame, describe, is_null
from lens.record import REQUEST_FIELDS

_COLUMNS = {c.name: c for c in REQUEST_FIELDS}
_SPEC = re.compile(r"^\s*([A-Za-z_][\w]*)\s*=\s*(.+?)\s*(?::\s*(ns|us|µs|ms|s))?\s*"
                   r"(?:([*/])\s*([0-9.eE+-]+))?\s*$")
_PSEUDO = ("ok",)
_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "µs": 10**3, "ns": 1}
_ALIASES = {"itl": "itl_mean_ms", "latency": "e2e_ms", "e2el": "e2e_ms"}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    lens: str
    theirs: str
    unit: str | None = None
    factor: float = 1.0


def parse_map(spec: str | Iterable[str] | Mapping[str, str] | None) -> list[ColumnMap]:
    """``--map`` entries -> mappings; ConfigError naming every bad entry."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        items = [f"{k}={v}" for k, v in spec.items()]
    elif isinstance(spec, str):
        items = [s for s in spec.split(",") if s.strip()]
    else:
        items = [s for part in spec for s in str(part).split(",") if s.strip()]
    out: list[ColumnMap] = []
    bad: list[str] = []
    unknown: list[str] = []
    for item in items:
        m = _SPEC.match(item)
        if not m:
            bad.append(f"'{item.strip()}'")
            continue
        lens = _lens_name(m.group(1))
        if lens is None:
            unknown.append(_unknown(m.group(1), item.strip()))
            continue
        unit, op, num = m.group(3), m.group(4), m.group(5)
        why = _refused(lens, unit, op, num)
        if why:
            bad.append(f"'{item.strip()}' ({why})")
            continue
        factor = 1.0 if not op else (float(num) if op == "*" else 1.0 / float(num))
        out.append(ColumnMap(lens, m.group(2).strip(), unit, factor))
    if bad or unknown:
        parts = [f"cannot read the column mapping {', '.join(bad)}"] if bad else []
        if unknown:
            parts.append(f"unknown lens column{'s' * (len(unknown) > 1)} {', '.join(unknown)}")
        hint = ("write LENS_COLUMN=THEIR_COLUMN, optionally with :s/:ms/:us/:ns or *NUMBER, "
                "e.g. ttft=time_to_first_token_s:s") if bad else ""
        if unknown:
            hint += ("; " if hint else "") + (
                "the left side of LENS=THEIRS is a lens column (the _ms may be left off: ttft "
                "for ttft_ms) or ok (a true/false column): " + ", ".join([*_COLUMNS, "ok"]))
        raise ConfigError("; ".join(parts), source="--map", hint=hint)
    return out


def _lens_name(name: str) -> str | None:
    """The lens column a mapping's left side names (aliases, ``_ms`` left off), or None."""
    lens = _ALIASES.get(name, name)
    for candidate in (lens, f"{lens}_ms"):
        if candidate in _COLUMNS or candidate in _PSEUDO:
            return candidate
    return None


def _unknown(name: str, item: str) -> str:
    """``'bogus' (in 'bogus=x'; did you mean 'e2e'?)`` for a left side naming no column."""
    import difflib

    names = [*_COLUMNS, *_PSEUDO, *_ALIASES, *(c[:-3] for c in _COLUMNS if c.endswith("_ms"))]
    guess = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.7)
    return f"'{name}' (in '{item}'" + (f"; did you mean '{guess[0]}'?)" if guess else ")")


def _refused(lens: str, unit: str | None, op: str | None, num: str | None) -> str | None:
    """Why a unit or factor does not fit lens column ``lens`` (None when it fits)."""
    if unit and not (lens.endswith("_ms") or lens in ("started_at", "retry_after_s")):
        return "a unit only fits times"
    if not op:
        return None
    if lens == "started_at":  # an epoch number scaled by a factor is no time anyone means
        return "started_at takes a unit such as :s or :ms, not a factor"
    col = _COLUMNS.get(lens)
    if col is None or col.type not in ("float", "int"):
        return "a factor only fits number columns"
    try:
        factor = float(num or "")
    except ValueError:
        return "the factor must be a finite number other than 0"
    if not math.isfinite(factor) or factor == 0 or not math.isfinite(1.0 / factor):
        return "the factor must be a finite number other than 0"
    return None


def _delimiter(head: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(head.split("\n", 5)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


class CSVMapImporter:
    name = "csv"
    tool = "csv"
    description = "any CSV of per-request results, with a column mapping (map=...)"

    def sniff(self, path: Path, head: str) -> int:
        return 10 if path.suffix.lower() in (".csv", ".tsv") and head.strip() else 0

    def load(self, path: Path, **options: Any) -> ImportedRun:
        maps = parse_map(options.get("map"))
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, sep=_delimiter(head, path),
                          encoding="utf-8", encoding_errors="replace").astype(object)
        theirs = list(raw.columns)
        missing = [f"'{m.theirs}'" for m in maps if _col(theirs, m.theirs) is None]
        if missing:
            raise PeerImportError(
                f"{path}: the mapping names columns the file does not have: "
                + ", ".join(missing) + f" (its columns: {', '.join(theirs)})",
                hint="correct the names after '=' in the mapping")
        mapped = {m.lens for m in maps}
        auto = [ColumnMap(c, c) for c in theirs if c in _COLUMNS and c not in mapped]
        maps = maps + auto
        if not any(m.lens in ("ttft_ms", "e2e_ms", "last_token_ms") for m in maps):
            raise PeerImportError(
                f"{path}: no column is mapped to a lens time (ttft_ms, e2e_ms or last_token_ms)"
                f"; the file's columns are: {', '.join(theirs)}",
                hint="pass a mapping such as map=['ttft=ttft_seconds:s', 'e2e=latency_ms']")
        return _build(path, raw, theirs, maps, options)


def _col(theirs: list[str], name: str) -> str | None:
    if name in theirs:
        return name
    folded = [c for c in theirs if c.strip().lower() == name.strip().lower()]
    return folded[0] if len(folded) == 1 else None


def _epoch(text: Any, unit: str) -> Any:
    """Epoch text in ``unit`` -> UTC timestamp, exactly (decimal, not float, arithmetic)."""
    try:
        ns = int(Decimal(str(text).strip()) * _NS[unit])
    except (InvalidOperation, ValueError):
        return text  # left as written: the check names it
    return pd.Timestamp(ns, unit="ns", tz="UTC")


def _convert(series: pd.Series, m: ColumnMap) -> pd.Series:
    series = series.where(series.map(lambda v: not (isinstance(v, str) and not v.strip())), None)
    col = _COLUMNS.get(m.lens)
    if m.lens == "started_at":
        present = series.dropna()
        numeric = pd.to_numeric(present, errors="coerce").notna()
        if m.unit or (len(present) and bool(numeric.all())):
            return series.map(lambda v: None if v is None else _epoch(v, m.unit or "s"))
        return series
    if col is None or col.type not in ("float", "int") or (m.unit is None and m.factor == 1.0):
        return series
    num = pd.to_numeric(series, errors="coerce")
    if m.unit:
        per_ms = derive.to_ms(1.0, m.unit) or 1.0
        num = num * (per_ms / 1000.0 if m.lens == "retry_after_s" else per_ms)
    num = num * m.factor
    # keep what is not a number as written, so the check names the bad cell
    return num.astype(object).where(num.notna(), series)


def _build(path: Path, raw: pd.DataFrame, theirs: list[str], maps: list[ColumnMap],
           options: dict[str, Any]) -> ImportedRun:
    df = pd.DataFrame(index=raw.index)
    for m in maps:
        df[m.lens] = _convert(raw[_col(theirs, m.theirs) or m.theirs], m)
    notes = [f"'{m.lens}' <- '{m.theirs}'" + (f" in {m.unit}" if m.unit else "")
             + (f" x {m.factor:g}" if m.factor != 1.0 else "") for m in maps]
    notes = ["Columns used: " + "; ".join(notes) + "."]
    ok = df.pop("ok") if "ok" in df.columns else None
    if "status" not in df.columns:
        err = df["error"] if "error" in df.columns else pd.Series([None] * len(df), index=df.index)
        if ok is None and "error" not in df.columns:
            notes.append("No status, success or error column: every request counts as ok.")
        good = [(_truthy(o) if ok is not None else is_null(e) or not str(e).strip())
                for o, e in zip(ok if ok is not None else [None] * len(df), err, strict=True)]
        df["status"] = ["ok" if g else derive.status_from_error(None, None if is_null(e) else
                                                                str(e))
                        for g, e in zip(good, err, strict=True)]
    if "request_id" not in df.columns:
        df["request_id"] = [f"{i + 1:05d}" for i in range(len(df))]
        notes.append("No request id column: rows are numbered.")
    if "started_at" not in df.columns:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        df["started_at"] = mtime
        notes.append("No start time column: every request is placed at the file's "
                     f"modification time ({mtime:%Y-%m-%d %H:%M:%S} UTC).")
    model = options.get("model") or "unknown"
    provider = options.get("provider") or ""
    for name, value in (("model", model), ("provider", provider or "unknown")):
        if name not in df.columns:
            df[name] = value
    if "target" not in df.columns:
        df["target"] = options.get("target") or [
            derive.target_for(provider, str(m)) for m in df["model"]]
    _refuse_ancient(df["started_at"], path)
    rid = options.get("run_id")
    # format="mixed" as lens.record.frames reads them: no pandas warning for cells that are
    # no time at all (check_frame names those)
    started = pd.to_datetime(df["started_at"], utc=True, errors="coerce", format="mixed").min()
    started = None if pd.isna(started) else started.to_pydatetime()
    run_id = rid or default_run_id("csv", started, file_stem(path))
    fills = {"run_id": run_id, "region": options.get("region", "local"), "runner": "csv",
             "dialect": "", "endpoint_host": derive.host_of(options.get("url")),
             "scenario": options.get("scenario", "default"), "prompt_id": "", "warmup": False,
             "shard": 0, "concurrency": options.get("concurrency", 0), "scheduled_ms": 0.0,
             "queue_ms": 0.0, "n_chunks": 0, "tokens_estimated": False}
    for name, value in fills.items():
        if name not in df.columns or name == "run_id":
            df[name] = value
    if "error" in df.columns:
        df["error"] = df["error"].map(derive.error_text)
    requests = check_frame(df, str(path), header_lines=1,
                           hint="correct those cells, or the mapping (map=...)")
    notes.append("A plain CSV has no chunk timings and no connection phases: those "
                 "columns are null, n_chunks is 0 and concurrency is "
                 f"{describe(fills['concurrency'])} unless mapped.")
    return ImportedRun(requests=requests, chunks=None, run_id=run_id,
                       name=options.get("name") or file_stem(path), started_at=started,
                       source_tool="csv", source_version=None, source_path=str(path),
                       notes=notes)


_EPOCH = pd.Timestamp(0, tz="UTC")


def _refuse_ancient(started: pd.Series, path: Path) -> None:
    """Text pandas' date guessing (dateutil) reads with no year, such as ``m1``, ``may`` or
    ``1.5s``, lands in year 1: a column mapped to started_at by mistake, refused, named."""
    text = started.map(lambda v: isinstance(v, str))
    if not text.any():
        return
    parsed = pd.to_datetime(started[text], utc=True, errors="coerce", format="mixed")
    early = parsed[parsed.notna() & (parsed < _EPOCH)]
    if not len(early):
        return
    pos = int(started.index.get_loc(early.index[0]))
    raise PeerImportError(
        f"{path}: 'started_at': row {pos + 1} (line {pos + 2}) holds \"{started[early.index[0]]}\""
        f", which reads as {early.iloc[0]:%Y-%m-%d %H:%M:%S}, before 1970: not the date and "
        f"time a request started ({len(early)} such row{'s' * (len(early) != 1)})",
        hint="map a date-time or epoch column to started_at (e.g. started_at=ts:s), or leave "
             "started_at out to place the requests at the file's modification time")


def _truthy(v: Any) -> bool:
    return not is_null(v) and str(v).strip().lower() in ("1", "true", "t", "yes", "ok",
                                                        "success", "succeeded")
