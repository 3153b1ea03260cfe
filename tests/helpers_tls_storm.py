"""An HTTPS server (uvicorn, in a subprocess) for the handshake-storm timing tests.

``GET /stream?n=N&gap_ms=G`` streams N SSE events G ms apart; each event carries the
``perf_counter_ns()`` the app took right before sending it (``data: <i> <t_ns>``), so the
client's arrival stamp can be checked against the write without any side channel (the
clock is CLOCK_MONOTONIC, one for the whole host). Any other path answers ``ok``.

A subprocess, so the server's own handshakes never hold the test process's GIL or loop.

    with uvicorn_tls(tls_dir) as url:   # https://127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] != "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})
        return
    q = parse_qs(scope["query_string"].decode())
    n, gap = int(q["n"][0]), float(q["gap_ms"][0]) / 1e3
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    for i in range(n):
        await asyncio.sleep(gap)
        t = time.perf_counter_ns()
        await send(
            {"type": "http.response.body", "body": b"data: %d %d\n\n" % (i, t), "more_body": True}
        )
    await send({"type": "http.response.body", "body": b""})


def tls_server_files(tmp: Path) -> tuple[Path, Path, Path]:
    """(CA pem, server cert chain pem, server key pem) from a fresh trustme CA."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return paths


@contextlib.contextmanager
def uvicorn_tls(cert: Path, key: Path) -> Iterator[str]:
    """Run :func:`app` under uvicorn with TLS on a free port; yield its https URL."""
    from helpers_http import stop_process  # (not at the top: this file is also the server)

    proc = subprocess.Popen(
        [sys.executable, __file__, str(cert), str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"the uvicorn TLS server did not start: {line!r} {err[-2000:]}")
        yield f"https://127.0.0.1:{int(line.split()[1])}"
    finally:
        stop_process(proc)


def _main(cert: str, key: str) -> None:
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    config = uvicorn.Config(app, ssl_certfile=cert, ssl_keyfile=key, log_level="warning",
                            backlog=1024, timeout_keep_alive=30)  # fmt: skip
    server = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
