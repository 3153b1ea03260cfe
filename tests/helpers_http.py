"""Servers and observers for the lens.probe.http client tests.

``RawServer`` is a deliberately small HTTP/1.1 server on asyncio streams whose handler
writes raw bytes, so a test can send exactly the habit it needs (hang up after every
response, Keep-Alive limits, odd framings, 1xx). ``ThreadLoop`` runs servers on their own
event loop in a thread (the ground-truth timing tests need the server's writes unaffected
by a busy client loop). ``proxy_py`` runs the real ``proxy.py`` forward proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
LOOPS = ("asyncio", "uvloop")


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop  # type: ignore[no-any-return]
    return None


def run(kind: str, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh loop of ``kind`` (asyncio | uvloop)."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(coro)


class Recorder:
    """An Observer that keeps everything it is told."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, int]] = []
        self.head: tuple[int, str, dict[str, str], int] | None = None
        self.pieces: list[tuple[bytes, int]] = []

    def mark(self, phase: str, t_ns: int) -> None:
        self.marks.append((phase, t_ns))

    def on_head(self, status: int, reason: str, headers: Any, t_ns: int) -> None:
        self.head = (status, reason, dict(headers), t_ns)

    def on_body(self, data: bytes, t_ns: int) -> None:
        self.pieces.append((data, t_ns))

    @property
    def body(self) -> bytes:
        return b"".join(p for p, _ in self.pieces)

    def phases(self) -> list[str]:
        return [p for p, _ in self.marks]

    def t(self, phase: str) -> int:
        return next(t for p, t in self.marks if p == phase)


@dataclass
class Req:
    conn: int  # which accepted connection (0, 1, ...)
    n: int  # 1 for the first request on that connection
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Req, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class RawServer:
    """HTTP/1.1 server whose ``handler`` writes each response; returning False closes.

    ``idle_close_s``: close a connection idle that long after a response (a server's
    keep-alive timeout). ``requests`` and ``conn_closed`` are the ground truth.
    """

    handler: Handler
    idle_close_s: float | None = None
    ssl: ssl.SSLContext | None = None
    requests: list[Req] = field(default_factory=list)
    connections: int = 0
    conn_closed: list[int] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def url(self, path: str = "/x") -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cid = self.connections
        self.connections += 1
        n = 0
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_close_s)
                except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, ssl.SSLError):
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                hdrs = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        hdrs[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(hdrs.get("content-length", "0")))
                n += 1
                req = Req(cid, n, method, target, hdrs, body)
                self.requests.append(req)
                keep = await self.handler(req, writer)
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.conn_closed.append(cid)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"


async def write_sse(writer: asyncio.StreamWriter, events: list[bytes], *, extra: bytes = b"",
                    gap_s: float = 0.0) -> None:
    """A chunked SSE response, one chunk per event, then the terminating chunk."""
    writer.write(SSE_HEAD + extra + b"\r\n")
    for ev in events:
        writer.write(chunk(b"data: " + ev + b"\n\n"))
        await writer.drain()
        if gap_s:
            await asyncio.sleep(gap_s)
    writer.write(b"0\r\n\r\n")


class ThreadLoop:
    """An event loop in a daemon thread; ``call(coro)`` runs a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class TLSFiles:
    ca_pem: Path
    server_ctx: ssl.SSLContext


def tls_files(tmp: Path, *hosts: str) -> TLSFiles:
    """A trustme CA and a server certificate for ``hosts`` (default localhost, 127.0.0.1)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(*(hosts or ("localhost", "127.0.0.1")))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return TLSFiles(pem, ctx)


@contextlib.contextmanager
def proxy_py(*args: str) -> Iterator[int]:
    """Run proxy.py on 127.0.0.1 (a free port); yield its port; stop it after."""
    with tempfile.TemporaryDirectory() as d:
        port_file = Path(d) / "port"
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        proc = subprocess.Popen(
            [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--num-workers", "1", "--num-acceptors", "1",
             "--log-level", "WARNING", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not (port_file.exists() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("proxy.py did not start")
                time.sleep(0.05)
            yield int(port_file.read_text())
        finally:
            stop_process(proc)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Stop a server process: SIGTERM (a graceful shutdown), SIGKILL after 5 s; close its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for f in (proc.stdout, proc.stderr):
        if f is not None:
            f.close()
