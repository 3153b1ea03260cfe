"""Mooncake traces (kvcache-ai/Mooncake, FAST'25): one JSON object per line.

``{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}``

- ``timestamp``: arrival in milliseconds since the trace's start (rows may share one);
- ``input_length`` / ``output_length``: prompt and output tokens;
- ``hash_ids``: one id per 512-token block of the prompt, in order; two rows with the same
  id at a position share that block and everything before it (a prefix). The last block
  may be partial.

Other keys (``session_id``, ``text_input`` and friends of derived formats) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from lens.errors import ConfigError
from lens.workload.traces import TraceRow

NAME = "mooncake"
EXTENSIONS = (".jsonl", ".ndjson")
DESCRIPTION = "Mooncake JSONL: timestamp (ms), input_length, output_length, hash_ids"
BLOCK_TOKENS = 512


def _int(row: dict[str, Any], key: str, *, least: int, source: str, line: int) -> int:
    v = row.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v) or v < least:
        raise ConfigError(
            f"line {line}: {key} must be a whole number >= {least}, got {str(v)[:40]}",
            source=source, field="load.trace.file", hint=DESCRIPTION,
        )  # fmt: skip
    return int(v)


def parse(lines: Iterable[str], source: str) -> Iterator[TraceRow]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise ConfigError(
                f"line {n}: not JSON ({msg})", source=source, field="load.trace.file",
                hint=f"each line must be a JSON object: {DESCRIPTION}",
            ) from None  # fmt: skip
        if not isinstance(row, dict):
            raise ConfigError(
                f"line {n}: expected a JSON object", source=source, field="load.trace.file",
                hint=DESCRIPTION,
            )  # fmt: skip
        ts = row.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not 0 <= ts < float("inf"):
            raise ConfigError(
                f"line {n}: timestamp must be a number of milliseconds >= 0, got {str(ts)[:40]}",
                source=source, field="load.trace.file", hint=DESCRIPTION,
            )  # fmt: skip
        ids = row.get("hash_ids") or []
        if not isinstance(ids, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) for h in ids
        ):
            raise ConfigError(
                f"line {n}: hash_ids must be a list of integers", source=source,
                field="load.trace.file", hint=DESCRIPTION,
            )  # fmt: skip
        yield TraceRow(
            timestamp_s=float(ts) / 1000.0,
            input_tokens=_int(row, "input_length", least=1, source=source, line=n),
            output_tokens=_int(row, "output_length", least=0, source=source, line=n),
            hash_ids=tuple(ids),
            block_tokens=BLOCK_TOKENS,
            line=n,
        )
