"""Recorded workloads to replay: a registry of trace formats, one module each.

Each format module defines ``NAME``, ``EXTENSIONS`` (file suffixes it claims),
``DESCRIPTION`` and ``parse(lines, source) -> Iterator[TraceRow]``, reading rows in file
order and raising ConfigError (file, line, fix) for a row it cannot use. Formats:

- ``mooncake``: Mooncake's JSONL (``timestamp`` ms, ``input_length``, ``output_length``,
  ``hash_ids``: ids of 512-token prompt blocks shared between requests);
- ``burstgpt``: the BurstGPT CSV (``Timestamp`` s, ``Request tokens``, ``Response tokens``,
  ``Model``, ``Total tokens``, ``Log Type``).

:func:`read_trace` reads a :class:`~lens.spec.TraceSource` into a :class:`Trace`: rows in
timestamp order with their arrival offsets (seconds from the first row, divided by
``speedup``). How rows become prompts: lens.workload.plan.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lens.errors import ConfigError
from lens.spec import TraceSource
from lens.spec.paths import not_a_file

__all__ = ["FORMATS", "Trace", "TraceRow", "format_names", "get_format", "read_trace"]

# name -> module; modules are imported on first use.
FORMATS: dict[str, str] = {
    "mooncake": "lens.workload.traces.mooncake",
    "burstgpt": "lens.workload.traces.burstgpt",
}


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One recorded request. ``hash_ids`` name the prompt's blocks of ``block_tokens``
    tokens, in order; rows sharing an id share that block (a common prefix)."""

    timestamp_s: float
    input_tokens: int
    output_tokens: int
    hash_ids: tuple[int, ...] = ()
    block_tokens: int = 512
    line: int = 0


@dataclass(frozen=True, slots=True)
class Trace:
    """Rows to replay, in timestamp order, with their arrival offsets in seconds."""

    rows: tuple[TraceRow, ...]
    offsets_s: tuple[float, ...]
    format: str
    source: str


def format_names() -> list[str]:
    return list(FORMATS)


def get_format(name: str) -> ModuleType:
    """The module of a trace format by name; ConfigError listing the known ones."""
    module = FORMATS.get(name)
    if module is None:
        raise ConfigError(
            f"unknown trace format {name[:40]!r}",
            field="load.trace.format",
            hint=f"use one of: {', '.join(FORMATS)}",
        )
    return importlib.import_module(module)


def _detect(path: Path) -> str:
    suffix = path.suffix.lower()
    for name in FORMATS:
        if suffix in get_format(name).EXTENSIONS:
            return name
    raise ConfigError(
        f"cannot tell the trace format from the file name (suffix {suffix or 'none'!r})",
        source=str(path),
        field="load.trace.format",
        hint=f"set load.trace.format (--trace-format) to one of: {', '.join(FORMATS)}",
    )


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            yield from fh
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte offset {exc.start} of a read block)",
            source=str(path),
            field="load.trace.file",
            hint="save the trace as UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the trace: {exc.strerror or exc}",
            source=str(path),
            field="load.trace.file",
            hint="check that the file exists and is readable",
        ) from None


def read_trace(
    src: TraceSource, *, limit: int | None = None, duration_s: float | None = None
) -> Trace:
    """Read a trace: at most ``limit`` rows (the first ones in the file) and only those
    arriving before ``duration_s`` (replay time, after ``speedup``)."""
    path = Path(src.file).expanduser()
    why = not_a_file(path)
    if why is not None:
        raise ConfigError(
            "trace file not found" if why == "does not exist" else f"the trace file {why}",
            source=str(path),
            field="load.trace.file",
            hint="check the path (relative paths start at the working directory)",
        )
    name = src.format or _detect(path)
    fmt = get_format(name)
    rows: list[TraceRow] = []
    for row in fmt.parse(_lines(path), str(path)):
        if limit is not None and len(rows) >= limit:
            break
        rows.append(row)
    if not rows:
        raise ConfigError(
            "the trace has no requests", source=str(path), field="load.trace.file",
            hint=f"give a {name} trace with at least one row",
        )  # fmt: skip
    rows.sort(key=lambda r: r.timestamp_s)  # stable: simultaneous rows keep file order
    t0 = rows[0].timestamp_s
    offsets = [(r.timestamp_s - t0) / src.speedup for r in rows]
    if duration_s is not None:
        keep = sum(1 for o in offsets if o < duration_s)
        rows, offsets = rows[:keep], offsets[:keep]
    return Trace(tuple(rows), tuple(offsets), name, str(path))
