"""#17 item 11: user strings never reach the terminal with control sequences in them.

The review imported a run whose name and targets held ``ESC ] 0 ; title BEL`` (sets the
window title), ``ESC [ 2 J`` / ``ESC c`` (clear the screen) and a right-to-left override;
``lens runs`` and ``lens show`` printed them raw. Here such a run is exported, imported
with ``lens import``, listed and shown: once captured as bytes (in this process) and once
by a ``lens`` process on a real pseudo-terminal, where rich adds its own colours: only SGR
colour sequences may appear then, nothing that moves the cursor, clears or sets a title.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.record import RequestRecord, RunInfo
from lens.store.files import export_run
from lens.store.sql import open_store

ROOT = Path(__file__).resolve().parents[2]
EVIL = "\x1b]0;pwned-title\x07\x1b[2J\x1bc\u202eevil\u202c\x9b2J\x07"
RUN_ID = "evil-run"
BAD_BYTES = [b"\x1b]", b"\x07", b"\x1b[2J", b"\x1bc", "\u202e".encode(), "\x9b".encode()]


def _db_with_evil_run(tmp: Path) -> Path:
    src = tmp / "src.db"
    store = open_store(src)
    try:
        spec = {"name": "n" + EVIL, "targets": [{"name": "t" + EVIL, "provider": "sim", "model": "m"}]}
        store.start_run(RunInfo(run_id=RUN_ID, name="name" + EVIL, started_at=datetime.now(UTC),
                                spec_json=json.dumps(spec), tags={"team" + EVIL: "v" + EVIL}))
        rec = RequestRecord(run_id=RUN_ID, request_id="r1", started_at=datetime.now(UTC), target="t" + EVIL,
                            provider="sim", model="m" + EVIL, status="ok", ttft_ms=12.0, e2e_ms=40.0)
        store.add_many([rec], [])
        store.finish_run(RUN_ID, status="complete")
        export_run(store, RUN_ID, tmp / "export" / "evil.jsonl")
    finally:
        store.close()
    return tmp / "export" / "evil.meta.json"


# One interpreter on the terminal runs the commands in turn (one start-up, not three), each
# output framed by a marker line so the test can tell them apart.
_PTY_SCRIPT = """
import json, sys
from lens.cli import main
for args in json.loads(sys.argv[1]):
    print("=====", flush=True)
    if main(args) != 0:
        sys.exit(1)
"""


def _outputs(commands: list[list[str]], *, tty: bool) -> list[bytes]:
    if not tty:  # in this process (fast): everything each command writes, as bytes
        outs = []
        for args in commands:
            res = lens(args)
            assert res.code == 0, res.err
            outs.append((res.out + res.err).encode())
        return outs
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-c", _PTY_SCRIPT, json.dumps(commands)], stdin=slave, stdout=slave,
                         stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            p.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    assert p.wait(30) == 0, out.decode(errors="replace")
    return out.split(b"=====\r\n")[1:]


def _assert_clean(out: bytes, *, tty: bool) -> None:
    for bad in BAD_BYTES:
        assert bad not in out, (bad, out[:2000])
    if tty:  # rich's own colour codes are fine; nothing else may start with ESC
        assert b"\x1b" not in re.sub(rb"\x1b\[[0-9;]*m", b"", out), out[:2000]
    else:
        assert b"\x1b" not in out


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "pty"])
def test_import_runs_and_show_print_no_terminal_controls(tmp_path: Path, tty: bool) -> None:
    meta = _db_with_evil_run(tmp_path)
    db = str(tmp_path / "cli.db")
    imported, runs, show = _outputs([["import", str(meta), "--db", db], ["runs", "--db", db],
                                     ["show", RUN_ID, "--db", db]], tty=tty)
    assert b"imported run" in imported
    assert b"nameevil" in runs and b"pwned-title" not in runs  # listed; controls (and payload) gone
    assert b"evil" in show
    for out in (imported, runs, show):
        _assert_clean(out, tty=tty)


def test_clean_removes_controls_and_keeps_text() -> None:
    from lens.cli.safe_text import clean

    assert clean("name" + EVIL) == "nameevil"
    assert clean("a\tb\nc") == "a b c" and clean("a\nb\r\nc", newlines=True) == "a\nb\nc"
    assert clean("日本語 👩\u200d💻 [x]") == "日本語 👩\u200d💻 [x]"  # printable text untouched
    assert clean("x\x1b]52;c;c2VjcmV0\x1b\\y") == "xy"  # OSC 52 (clipboard) with ST
