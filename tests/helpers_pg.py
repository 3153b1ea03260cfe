"""Start a real, throwaway PostgreSQL server for tests (Debian's postgresql package).

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server
runs as the ``postgres`` system user that the Debian package creates. The data directory
and socket live in a temp dir; the server listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL (postgresql+psycopg://...) of a fresh server; stop it after."""
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: run `make sysdeps` (installs postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="lens-pg-"))
    data = tmp / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(
        _as_pg_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", "lens", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
        env=env,
    )
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={tmp} -c fsync=off"
    subprocess.run(
        _as_pg_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(tmp / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            probe = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(tmp / 'log').read_text()[-2000:]}")
            time.sleep(0.1)
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lens", "lens"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://lens@127.0.0.1:{port}/lens"
    finally:
        subprocess.run(
            _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            env=env,
        )
        shutil.rmtree(tmp, ignore_errors=True)
