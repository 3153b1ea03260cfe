"""The last checks on another tool's file, whatever the importer: values and shapes.

The peer importers read JSON written by AIPerf, GuideLLM and vLLM, trusting it to hold
what the tool writes. A file that lies (an adversarial review, after #17) got through:
a negative TTFT, an end before the start (``e2e_ms`` of -1,000,000), negative token
counts were stored; text where a number belongs, a list where a value belongs, an
unknown unit or a count beyond 64 bits ended in raw ``TypeError``/``ValueError``/
``OverflowError`` tracebacks. :func:`check_values` holds every imported row to the rule
the store's own import keeps (every time and count finite and non-negative, every count
within 64 bits) and lists what breaks it in one message; :func:`reading` turns anything an
importer did not foresee into one plain refusal naming the file and the format.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lens.importers.base import ImportedRun, PeerImportError
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, Column

__all__ = ["check_values", "reading"]

_INT_LIMIT = 2.0**63
_SHOW = 3


@contextlib.contextmanager
def reading(path: Path, description: str) -> Iterator[None]:
    """Run an importer; an exception it did not turn into a PeerImportError becomes one."""
    try:
        yield
    except PeerImportError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            ArithmeticError) as exc:
        # What the importer could not read is a field of the wrong type or range; its
        # Python wording (``can't multiply sequence by non-int``) would not help a user.
        del exc
        raise PeerImportError(
            f"{path}: read as a {description}, it holds a value lens cannot use: text or a "
            "list where a number belongs, an unknown unit, or a number out of range",
            hint="give the file as the tool wrote it, or name its format with --format",
        ) from None


def _bad(s: pd.Series, col: Column) -> tuple[np.ndarray, str]:
    values = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    finite = np.isfinite(values)
    known = ~np.isnan(values)
    bad = known & (~finite | (values < 0))
    what = "infinite or negative (lens's times and counts never are)"
    if col.type == "int":
        bad |= known & finite & (np.abs(np.where(finite, values, 0.0)) >= _INT_LIMIT)
        what = "infinite, negative or beyond 64 bits (lens's counts never are)"
    return bad, what


def _problems(df: pd.DataFrame | None, fields: Sequence[Column], what: str) -> list[str]:
    if df is None or not len(df):
        return []
    out = []
    for col in fields:
        if col.type not in ("int", "float") or col.name not in df.columns:
            continue
        bad, why = _bad(df[col.name], col)
        rows = np.flatnonzero(bad)
        if len(rows):
            shown = ", ".join(str(int(r) + 1) for r in rows[:_SHOW])
            more = f" and {len(rows) - _SHOW} more" if len(rows) > _SHOW else ""
            out.append(f"  - '{col.name}' is {why} in {what} {shown}{more}")
    return out


def check_values(run: ImportedRun) -> ImportedRun:
    """``run`` unchanged, or PeerImportError listing every column with impossible values."""
    lines = _problems(run.requests, REQUEST_FIELDS, "request")
    lines += _problems(run.chunks, CHUNK_FIELDS, "chunk row")
    if lines:
        raise PeerImportError(
            f"{run.source_path}: {len(lines)} column{'s' if len(lines) != 1 else ''} of the "
            f"imported rows hold{'s' if len(lines) == 1 else ''} impossible values (requests "
            "counted in file order, from 1):\n"
            + "\n".join(lines),
            hint="the file was changed or damaged after the tool wrote it: give the original",
        )
    return run
