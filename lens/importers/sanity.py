"""The last checks on another tool's file, whatever the importer: values and shapes.

The peer importers read JSON written by AIPerf, GuideLLM and vLLM, trusting it to hold
what the tool writes. A file that lies (an adversarial review, after #17) got through:
a negative TTFT, an end before the start (``e2e_ms`` of -1,000,000), negative token
counts were stored; text where a number belongs, a list where a value belongs, an
unknown unit or a count beyond 64 bits ended in raw ``TypeError``/``ValueError``/
``OverflowError`` tracebacks. :func:`check_values` holds every imported row to the rule
the store's own import keeps (every time and count finite and non-negative, every count
within 64 bits, no first token after the request's end) and lists what breaks it in one message; :func:`reading` turns anything an
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
# Files a benchmark tool timed itself: its TTFT can never be later than its end. (A CSV's
# times are whatever its mapping made of them; lens's own exports keep lens's rules.)
_TIMED_BY_TOOL = ("aiperf", "guidellm", "vllm-bench")


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
            out.append(f"  - '{col.name}' is {why} in {what} {_shown_rows(rows)}")
    return out


def _shown_rows(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:_SHOW])
    return shown + (f" and {len(rows) - _SHOW} more" if len(rows) > _SHOW else "")


def _order(df: pd.DataFrame | None) -> list[str]:
    """A first token after the request's end: each time may be possible, the pair is not."""
    if df is None or not len(df) or not {"ttft_ms", "e2e_ms"} <= set(df.columns):
        return []
    ttft = pd.to_numeric(df["ttft_ms"], errors="coerce").astype("float64").to_numpy()
    e2e = pd.to_numeric(df["e2e_ms"], errors="coerce").astype("float64").to_numpy()
    rows = np.flatnonzero(np.greater(ttft, e2e, where=~(np.isnan(ttft) | np.isnan(e2e)),
                                     out=np.zeros(len(ttft), dtype=bool)))
    if not len(rows):
        return []
    return [f"  - 'ttft_ms' is later than 'e2e_ms' (a first token after the request ended) "
            f"in request {_shown_rows(rows)}"]


def check_values(run: ImportedRun) -> ImportedRun:
    """``run`` unchanged, or PeerImportError listing every column with impossible values
    (and every TTFT later than its request's end)."""
    lines = _problems(run.requests, REQUEST_FIELDS, "request")
    if run.source_tool in _TIMED_BY_TOOL:
        lines += _order(run.requests)
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
