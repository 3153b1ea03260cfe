"""BurstGPT traces (HPMLL/BurstGPT): a CSV with a header row.

Columns (by name, any order): ``Timestamp`` (request submission, seconds from the trace's
first day), ``Model`` (``ChatGPT``, ``GPT-4``), ``Request tokens``, ``Response tokens``,
``Total tokens``, ``Log Type`` (``Conversation log`` | ``API log``). Rows whose
``Response tokens`` is 0 are requests that failed in the original service; they are
replayed (their arrival loaded the service) with ``max_tokens`` 1.

The trace records no prompt content, so every prompt is unique text of its length.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator

from lens.errors import ConfigError
from lens.workload.traces import TraceRow

NAME = "burstgpt"
EXTENSIONS = (".csv",)
DESCRIPTION = "BurstGPT CSV: Timestamp (s), Model, Request tokens, Response tokens, ..."
REQUIRED = ("Timestamp", "Request tokens", "Response tokens")


def _number(value: str | None, column: str, *, source: str, line: int) -> float:
    try:
        v = float((value or "").strip())
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v < 0:
        raise ConfigError(
            f"line {line}: {column} must be a number >= 0, got {(value or '')[:40]!r}",
            source=source, field="load.trace.file", hint=DESCRIPTION,
        )  # fmt: skip
    return v


def parse(lines: Iterable[str], source: str) -> Iterator[TraceRow]:
    reader = csv.DictReader(iter(lines))
    header = [h.strip() for h in reader.fieldnames or ()]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(
            f"line 1: the header lacks {', '.join(repr(c) for c in missing)}",
            source=source, field="load.trace.file", hint=f"the header must name {', '.join(REQUIRED)}",
        )  # fmt: skip
    reader.fieldnames = header  # tolerate spaces around names
    for row in reader:
        n = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        ts = _number(row.get("Timestamp"), "Timestamp", source=source, line=n)
        req = _number(row.get("Request tokens"), "Request tokens", source=source, line=n)
        resp = _number(row.get("Response tokens"), "Response tokens", source=source, line=n)
        yield TraceRow(
            timestamp_s=ts,
            input_tokens=max(1, int(req)),
            output_tokens=int(resp),
            line=n,
        )
