"""Helpers for CLI functional tests: run `lens` in-process or as a subprocess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENS = ROOT / ".venv" / "bin" / "lens"


@dataclass
class Result:
    code: int
    out: str
    err: str


def lens(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Run ``lens ARGS`` in this process (fast; no interpreter start-up)."""
    from lens.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = dict(os.environ)
    if env:
        os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 0)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return Result(code, out.getvalue(), err.getvalue())


def lens_proc(
    args: Sequence[str], *, timeout: float = 60, env: dict[str, str] | None = None
) -> Result:
    """Run the installed ``lens`` script in a subprocess."""
    exe = [str(LENS)] if LENS.exists() else [sys.executable, "-m", "lens.cli"]
    p = subprocess.run(
        [*exe, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return Result(p.returncode, p.stdout, p.stderr)
