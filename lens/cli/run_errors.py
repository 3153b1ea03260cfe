"""What went wrong in a run, in one line per target, under ``lens run``'s table.

The table counts failures by status ("network 16"), but the reason (connection refused,
an untrusted certificate and how to trust it, a 401 naming the key variable) is only in
each row's ``error``: a new user firing ``examples/specs/demo.yaml`` without the simulator
running saw "network 16" and exit code 0, nothing else. These lines say the commonest
reason per target; error texts are already scrubbed of secrets when stored, and are
cleaned of terminal controls here (a server wrote them).
"""

from __future__ import annotations

import pandas as pd

from lens.cli.safe_text import clean

__all__ = ["error_lines"]

_LIMIT = 300  # characters of one error text shown


def error_lines(frame: pd.DataFrame) -> list[str]:
    """One line per target with failed (not warm-up, not cancelled) requests."""
    if not len(frame) or "error" not in frame.columns:
        return []
    measured = frame[~frame["warmup"].fillna(False).astype(bool)]
    failed = measured[~measured["status"].astype(str).isin(("ok", "cancelled"))]
    out = []
    for target, rows in failed.groupby(failed["target"].astype(str), sort=False):
        texts = rows["error"].dropna().astype(str)
        text = texts.value_counts().index[0] if len(texts) else "no error text was recorded"
        status = rows["status"].astype(str).value_counts().index[0]
        text = clean(text)
        if len(text) > _LIMIT:
            text = text[: _LIMIT - 1] + "…"
        out.append(f"{clean(target)}: {len(rows)} of {len(measured[measured['target'].astype(str) == target])} "
                   f"requests failed; most often ({status}): {text}")
    return out
