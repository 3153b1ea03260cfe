"""What every importer returns, the error it raises, and careful file reading.

An importer turns one file written by another tool (or by an older lens) into an
:class:`ImportedRun`: a request frame with lens's columns and dtypes
(``lens.record.frames.conform``), an optional chunk frame, the run's metadata, the
peer's own summary when the file carries one, :class:`SummaryCheck` rows that recompute
that summary from the imported rows the peer's way, and plain-words ``notes`` about what
could not be mapped. Definitions and the reasoning behind each mapping: docs/importers.md.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from lens.errors import StoreError

HEAD_BYTES = 65536  # what detection reads of a file


class PeerImportError(StoreError):
    """A file cannot be imported: unknown format, unreadable, or missing what lens needs.

    The message names the file and lists every problem found, in plain words.
    """


@dataclass(frozen=True, slots=True)
class SummaryCheck:
    """One figure of the peer's own summary, recomputed from the imported rows.

    ``ours`` applies the peer's definition and percentile method (``method``) to the
    lens column(s) named in ``column``; ``theirs`` is the figure in the file.
    """

    scenario: str
    metric: str
    column: str
    method: str
    ours: float | None
    theirs: float | None

    @property
    def matches(self) -> bool:
        """Equal up to float rounding (the peers compute in other units, e.g. ns or s)."""
        if self.ours is None or self.theirs is None:
            return self.ours is None and self.theirs is None
        return math.isclose(self.ours, self.theirs, rel_tol=1e-9, abs_tol=1e-9)


@dataclass(slots=True)
class ImportedRun:
    """One run read from another tool's file, in lens's terms."""

    requests: pd.DataFrame
    chunks: pd.DataFrame | None
    run_id: str
    name: str
    started_at: datetime | None
    source_tool: str  # "aiperf", "guidellm", "vllm-bench", "csv", "lens"
    source_version: str | None
    source_path: str
    peer_summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    checks: list[SummaryCheck] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mismatches(self) -> list[SummaryCheck]:
        """Checks whose recomputed figure differs from the peer's summary."""
        return [c for c in self.checks if not c.matches]

    def finished_at(self) -> datetime | None:
        """When the last request ended (start + e2e), or None without times."""
        df = self.requests
        if not len(df):
            return None
        ends = df["started_at"] + pd.to_timedelta(df["e2e_ms"].fillna(0.0), unit="ms")
        last = ends.max()
        return None if pd.isna(last) else pd.Timestamp(last).floor("us").to_pydatetime()

    def run_info(self) -> Any:
        """A lens.store.base.RunInfo for storing this run.

        A lens export's own run row (its ``.meta.json``) is kept as it was (spec, tags,
        status, times); other runs are ``complete``, spanning their requests.
        """
        from lens.store.base import RunInfo

        provenance = {"imported_from": self.source_path, "source_tool": self.source_tool,
                      "source_version": self.source_version, "import_notes": list(self.notes)}
        meta_run = (self.extra.get("meta") or {}).get("run")
        if meta_run:
            from lens.record import run_info_from_dict

            info = run_info_from_dict(meta_run)
            info.run_id = self.run_id
            info.extra = {**info.extra, **provenance}
            info.extra.pop("pid", None)
            return info
        started = self.started_at
        if started is None and len(self.requests):
            started = pd.Timestamp(self.requests["started_at"].min()).to_pydatetime()
        df = self.requests
        runner = str(df["runner"].iloc[0]) if len(df) else self.source_tool
        region = str(df["region"].iloc[0]) if len(df) else "local"
        targets = df[["target", "provider", "model"]].astype(str).drop_duplicates()
        spec = {"imported": self.source_tool,
                "targets": [{"name": t, "provider": p, "model": m}
                            for t, p, m in targets.itertuples(index=False)],
                "scenarios": sorted(set(df["scenario"].astype(str)))}
        return RunInfo(
            run_id=self.run_id,
            name=self.name,
            started_at=started or datetime.now().astimezone(),
            spec_json=json.dumps(spec),
            finished_at=self.finished_at(),
            status="complete",
            region=region,
            runner=runner,
            n_requests=len(self.requests),
            tags={"source": self.source_tool},
            extra={**provenance, **self.extra},
        )


class Importer(Protocol):
    """One file format. ``sniff`` scores how sure it is (0 = not this format)."""

    name: str
    tool: str
    description: str

    def sniff(self, path: Path, head: str) -> int: ...

    def load(self, path: Path, **options: Any) -> ImportedRun: ...


# -- reading files ---------------------------------------------------------------------


def read_head(path: Path, n: int = HEAD_BYTES) -> str:
    """The first ``n`` bytes of a file as text ('' for binary files such as Parquet)."""
    with path.open("rb") as fh:
        raw = fh.read(n)
    if raw.startswith(b"PAR1"):
        return ""
    return raw.decode("utf-8", errors="replace")


def _json_problem(path: Path, text: str, exc: json.JSONDecodeError, what: str) -> PeerImportError:
    if not text.strip():
        return PeerImportError(f"{path}: the file is empty", hint=f"give the {what} file itself")
    if exc.pos >= len(text.rstrip()) - 1 or "Unterminated" in exc.msg:
        return PeerImportError(
            f"{path}: the JSON ends early (line {exc.lineno}, column {exc.colno}): "
            "the file looks cut off",
            hint=f"copy the whole {what} file again; it was probably still being written",
        )
    return PeerImportError(
        f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})",
        hint=f"give the {what} file as the tool wrote it",
    )


def load_json(path: Path, what: str) -> Any:
    """Parse a whole JSON (or YAML, by suffix) file; PeerImportError in plain words."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeerImportError(f"{path}: cannot read the file ({exc})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        from lens.errors import ConfigError
        from lens.spec.safe_yaml import MAX_NODES, load_yaml

        try:
            # Bounded: aliases of aliases (a "billion laughs") must not expand past what
            # the text could hold written out; yaml.safe_load ended in a MemoryError.
            return load_yaml(text, str(path), max_nodes=max(MAX_NODES, len(text)))
        except ConfigError as exc:
            raise PeerImportError(exc.message,
                                  hint=f"give the {what} file as the tool wrote it") from None
        except yaml.YAMLError as exc:
            raise PeerImportError(f"{path}: not valid YAML ({exc})",
                                  hint=f"give the {what} file as the tool wrote it") from None
        except RecursionError:
            raise _too_deep(path, what) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_problem(path, text, exc, what) from None
    except RecursionError:  # a hostile file, 100,000 brackets deep (#17 item 13)
        raise _too_deep(path, what) from None


def _too_deep(path: Path, what: str, line: int | None = None) -> PeerImportError:
    where = f"line {line} is" if line is not None else "its values are"
    return PeerImportError(f"{path}: {where} nested too deeply for a {what} file",
                           hint=f"give the {what} file as the tool wrote it")


def iter_json_lines(path: Path, what: str) -> Iterator[tuple[int, Any]]:
    """(line number, object) for each non-empty line; a bad line raises with its number."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    last = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except RecursionError:
            raise _too_deep(path, what, i + 1) from None
        except json.JSONDecodeError as exc:
            cut = i == last and not line.endswith("\n")
            raise PeerImportError(
                f"{path}: line {i + 1} is not valid JSON ({exc.msg})"
                + (": the file looks cut off after its last complete line" if cut else ""),
                hint=f"copy the whole {what} file again" if cut
                else f"give the {what} file as the tool wrote it",
            ) from None
        yield i + 1, obj


def missing_fields_error(path: Path, what: str, missing: list[str], hint: str) -> PeerImportError:
    """One message naming every missing field."""
    listed = ", ".join(f"'{m}'" for m in missing)
    plural = "fields" if len(missing) > 1 else "field"
    return PeerImportError(f"{path}: this {what} lacks the {plural} {listed}", hint=hint)


def default_run_id(tool: str, started: datetime | None, fallback: str) -> str:
    """A readable run id: tool plus start time, e.g. ``aiperf-20251007-051207``."""
    if started is None:
        return f"{tool}-{fallback}"
    return f"{tool}-{started:%Y%m%d-%H%M%S}"


def file_stem(path: str | os.PathLike[str]) -> str:
    """A file's name without its format suffix and lens's ``.chunks``/``.meta`` tags."""
    name = Path(path).name
    for suffix in (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq", ".yaml",
                   ".yml"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    for tag in (".chunks", ".meta", "_chunks", "-chunks"):
        name = name.removesuffix(tag)
    return name
