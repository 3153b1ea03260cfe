"""The ``lens`` command. Thin: parse flags, call the library, turn LensError into a message.

Each command group lives in its own module with a ``register(subparsers)`` function that
adds its subcommands and sets ``func`` (``args -> int`` exit code). Modules are imported
lazily by name, so a missing optional extra only breaks the commands that need it.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from lens.errors import LensError

# Command modules, in help order. Each defines register(subparsers) -> None.
COMMAND_MODULES: tuple[str, ...] = (
    "lens.cli.run",  # run
    "lens.cli.sim_cmd",  # sim
    "lens.cli.store_cmds",  # runs, show, export, import, prune, backup
    "lens.cli.analysis_cmds",  # report, compare, gate
    "lens.cli.capacity_cmd",  # capacity
    "lens.cli.chart_cmd",  # chart
    "lens.cli.fleet_cmds",  # schedules
    "lens.cli.retention_cmds",  # prune, backup
)


def build_parser() -> argparse.ArgumentParser:
    from lens._version import __version__

    parser = argparse.ArgumentParser(
        prog="lens",
        description="LLM Latency Lens: profile latency, throughput and cost of LLM APIs.",
    )
    parser.add_argument("--version", action="version", version=f"lens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command module not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    restore = _sigterm_as_interrupt()
    try:
        return _call(args)
    finally:
        restore()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Callable[[], None]:
    """SIGTERM (``timeout``, ``docker stop``, systemd) stops lens as Ctrl-C does, also
    outside a burst (which handles both itself): between ``--repeat`` runs, at start-up.
    Killed outright, lens skipped its closers (exporter sinks' last flush). Returns the
    undo; a handler someone else installed is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = signal.getsignal(signal.SIGTERM)
    if old is not signal.SIG_DFL:
        return lambda: None
    signal.signal(signal.SIGTERM, _interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, old)

    return restore


def _call(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except LensError as err:
        from lens.cli.safe_text import clean

        # Messages quote user data (file names, run names, cell values): no terminal controls.
        print(f"lens: error: {clean(err, newlines=True)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`lens import FILE | head -1`): stop quietly, as cat does,
        # and keep Python's final flush of stdout from raising again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by it


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
