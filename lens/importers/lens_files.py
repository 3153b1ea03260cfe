"""lens's own exports, from any lens version (CSV, JSONL, Parquet, + chunk file).

Files written before a column existed still import: what can be derived is filled,
every filled column is said in the notes, and whatever is still missing or bad is
listed in one message by :func:`lens.importers.validate.check_frame`:

- ``run_id``: the ``.meta.json`` beside the file, else the file name;
- ``target``: ``provider/model`` (lens's default target name); ``shard``: 0;
- ``n_chunks``: counted from the chunk file (token-bearing events); ``output_tokens`` and
  ``reasoning_tokens``, when the file has no such column: summed from the chunks' local
  token counts (``tokens_estimated`` is then true). A null count in a column the file
  has is kept: it can mean the server sent no usage;
- other identity columns a first-design file may lack get the record's defaults
  (``region``/``runner`` 'local', ``scenario`` 'default', ``concurrency`` 1, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from lens.errors import StoreError
from lens.importers import derive
from lens.importers.base import ImportedRun, PeerImportError, file_stem
from lens.importers.validate import check_chunk_owners, check_frame, describe
from lens.record import CHUNK_FIELDS, REQUEST_COLUMNS, REQUEST_FIELDS, RequestRecord
from lens.store.files import csv_unguard
from lens.store.import_checks import json_line, meta_time
from lens.store.read import chunk_path_for

CSV_NULL = "\\N"
# Text columns: a CSV export wrote them with one leading quote before a formula's start.
_TEXT = tuple(dict.fromkeys(c.name for c in (*REQUEST_FIELDS, *CHUNK_FIELDS)
                            if c.type in ("str", "category")))
_KEY = {"request_id", "ttft_ms", "e2e_ms", "status", "started_at"}
# Filled with RequestRecord's defaults when a file predates them (never for data columns).
_DEFAULTED = ("region", "runner", "dialect", "endpoint_host", "scenario", "prompt_id",
              "warmup", "concurrency", "scheduled_ms", "queue_ms", "tokens_estimated")


def read_rows(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """A lens export read as-is (no dtypes yet): CSV text, JSONL values or Parquet.

    ``fmt`` (parquet, csv, jsonl) overrides the suffix, for files named otherwise.
    """
    suffix = f".{fmt}" if fmt else path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq") or path.is_dir():
            return pd.read_parquet(path)
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[CSV_NULL],
                             encoding="utf-8").astype(object)
            return csv_unguard(df.where(df.notna(), None), _TEXT)
        rows = []
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json_line(line))
                    except ValueError as exc:  # also NaN/Infinity and too-deep nesting
                        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                        raise PeerImportError(f"{path}: line {n} is not valid JSON ({msg})",
                                              hint="give the file as `lens export` wrote it"
                                              ) from None
        return pd.DataFrame(rows).astype(object)
    except (OSError, ValueError) as exc:
        if isinstance(exc, PeerImportError):
            raise
        raise PeerImportError(f"{path}: cannot read the file ({exc})") from None


class LensFilesImporter:
    name = "lens"
    tool = "lens"
    description = "lens export (Parquet/CSV/JSONL + chunk file), any lens version"

    def sniff(self, path: Path, head: str) -> int:
        if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
            import pyarrow.parquet as pq

            try:
                names = set(pq.read_schema(path).names)
            except Exception:
                return 0
        elif head.lstrip().startswith("{"):
            first = head.lstrip().splitlines()[0]
            try:
                names = set(json.loads(first))
            except (json.JSONDecodeError, TypeError, RecursionError):
                names = {k for k in REQUEST_COLUMNS if f'"{k}"' in first}
        else:
            names = {c.strip().strip('"') for c in head.splitlines()[0].split(",")} \
                if head else set()
        known = names & set(REQUEST_COLUMNS)
        if len(known & _KEY) >= 2 and len(known) >= max(5, 0.6 * len(names)):
            return 90
        return 0

    def load(self, path: Path, **options: Any) -> ImportedRun:
        fmt = options.get("file_format")  # parquet | csv | jsonl, when the suffix is not
        raw = read_rows(path, fmt)
        header = 1 if (fmt or path.suffix.lower().lstrip(".")) == "csv" else 0
        cpath = Path(options["chunks_path"]) if options.get("chunks_path") else chunk_path_for(path)
        chunks = None
        if cpath is not None and cpath.exists():
            cfmt = fmt if fmt and not options.get("chunks_path") else None
            rows = read_rows(cpath, cfmt)
            if rows.empty and not len(rows.columns):  # a run without chunks: an empty JSONL
                rows = pd.DataFrame(columns=[c.name for c in CHUNK_FIELDS])
            chunks = check_frame(rows, str(cpath), CHUNK_FIELDS,
                                 header_lines=1 if (cfmt or cpath.suffix.lower().lstrip("."))
                                 == "csv" else 0)
        meta = _meta(path)
        df, notes = derive_missing(raw, chunks, meta, path, options)
        requests = check_frame(df, str(path), REQUEST_FIELDS, header_lines=header)
        if chunks is not None and cpath is not None:
            check_chunk_owners(requests, chunks, str(cpath),
                               header_lines=1 if cpath.suffix.lower() == ".csv" else 0)
        ids = sorted(set(requests["run_id"].astype(str)))
        if len(ids) > 1:
            raise PeerImportError(
                f"{path}: the rows belong to {len(ids)} runs ({', '.join(ids[:4])})",
                hint="export one run per file, or pass run_id= to import them as one run")
        run = meta.get("run") or {}
        if not isinstance(run, dict):
            raise PeerImportError(f"{_meta_path(path)}: 'run' is not an object",
                                  hint="keep the .meta.json that `lens export` wrote")
        try:
            started = meta_time(run.get("started_at"), str(_meta_path(path)), "run.started_at")
        except StoreError as exc:
            raise PeerImportError(exc.message, hint=exc.hint) from None
        if started is None and len(requests):
            started = requests["started_at"].min().to_pydatetime()
        return ImportedRun(
            requests=requests, chunks=chunks, run_id=ids[0] if ids else file_stem(path),
            name=options.get("name") or run.get("name") or file_stem(path), started_at=started,
            source_tool="lens", source_version=run.get("lens_version") or None,
            source_path=str(path), notes=notes, extra={"meta": meta} if meta else {},
        )


def _meta_path(path: Path) -> Path:
    return path.with_name(f"{file_stem(path)}.meta.json")


def _meta(path: Path) -> dict[str, Any]:
    # ``run.parquet`` -> ``run.meta.json``; a file named otherwise (``run.data``) too.
    metas = [path.with_name(f"{stem}.meta.json") for stem in (file_stem(path), path.stem)]
    meta = next((m for m in metas if m.is_file()), None)
    if meta is None:
        return {}
    try:
        data = json_line(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PeerImportError(f"{meta}: not a lens run metadata file ({exc})",
                              hint="keep the .meta.json that `lens export` wrote, or remove it "
                              "to import the rows with a run id from the file name") from None
    return data if isinstance(data, dict) else {}


def _from_chunks(chunks: pd.DataFrame) -> pd.DataFrame:
    """Per request: token-bearing events and local token counts from its chunks."""
    tok = chunks[chunks["kind"].astype(str).isin(("text", "reasoning"))]
    g = tok.groupby("request_id", observed=True)
    reasoning = tok[tok["kind"].astype(str) == "reasoning"].groupby("request_id")["n_tokens"]
    return pd.DataFrame({"n_chunks": g.size(), "output_tokens": g["n_tokens"].sum(),
                         "reasoning_tokens": reasoning.sum()})


def derive_missing(raw: pd.DataFrame, chunks: pd.DataFrame | None, meta: dict[str, Any],
                   path: Path, options: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Fill the columns an older file lacks where they can be derived; say which."""
    df = raw.copy()
    notes: list[str] = []
    n = len(df)

    def blank(name: str) -> pd.Series:
        if name not in df.columns:
            return pd.Series(True, index=df.index)
        return df[name].astype(object).map(
            lambda v: v is None or v is pd.NA or (isinstance(v, float) and v != v)
            or (isinstance(v, str) and not v.strip())).astype(bool)

    def fill(name: str, values: Any, why: str) -> None:
        if isinstance(values, pd.Series):
            new = values
        elif isinstance(values, list):
            new = pd.Series(values, index=df.index, dtype=object)
        else:
            new = pd.Series([values] * n, index=df.index, dtype=object)
        todo = blank(name) & new.notna()
        if not todo.any():
            return
        current = df[name] if name in df.columns else pd.Series([None] * n, index=df.index)
        df[name] = current.astype(object).where(~todo, new.astype(object))
        k = int(todo.sum())
        what = "missing" if name not in raw.columns else f"empty in {k} row{'s' * (k != 1)}"
        notes.append(f"'{name}' was {what}: {why}.")

    run_id = options.get("run_id") or (meta.get("run") or {}).get("run_id") or file_stem(path)
    if options.get("run_id"):
        df["run_id"] = run_id
    fill("run_id", run_id, f"taken from the {'metadata file' if meta else 'file name'} "
         f"({run_id})")
    if {"provider", "model"} <= set(df.columns):
        target = [derive.target_for(str(p or ""), str(m or "")) for p, m in
                  zip(df["provider"], df["model"], strict=True)]
        fill("target", target, "set to provider/model, lens's default target name")
    fill("shard", 0, "set to 0 (one shard)")
    if chunks is not None and len(chunks) and "request_id" in df.columns:
        counts = _from_chunks(chunks).reindex(df["request_id"].astype(str))
        counts.index = df.index
        fill("n_chunks", counts["n_chunks"].fillna(0).astype(int),
             "counted from the chunk file (token-bearing events)")
        # A null token count can be meaningful (no usage, a failure): only a column the
        # file lacks altogether is counted from the chunks.
        if "output_tokens" not in df.columns:
            est = counts["output_tokens"].notna()
            fill("output_tokens", counts["output_tokens"],
                 "summed from the chunk file's token counts (local counts: tokens_estimated "
                 "is true on those rows)")
            if est.any():
                if "tokens_estimated" not in df.columns:
                    df["tokens_estimated"] = None
                df.loc[est, "tokens_estimated"] = True
        if "reasoning_tokens" not in df.columns:
            fill("reasoning_tokens", counts["reasoning_tokens"],
                 "summed from the chunk file's reasoning chunks")
    defaults = RequestRecord(run_id="", request_id="", started_at=pd.Timestamp(0)).to_dict()
    for name in _DEFAULTED:
        fill(name, defaults[name], f"set to lens's default, {describe(defaults[name])}")
    if chunks is None and "n_chunks" not in df.columns:
        fill("n_chunks", 0, "set to 0 (no chunk file beside the export)")
    return df, notes
