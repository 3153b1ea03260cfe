"""A raw HTTP/1.1 client over one asyncio connection (plain or TLS), for wire-level tests.

It sends exactly the bytes it is told to, reads the status line, headers and a chunked or
Content-Length body byte for byte, and timestamps (perf_counter_ns) when the headers,
each chunk and the end of the body arrived, and when the server closed the connection.
Nothing here comes from lens, so the tests check the simulator against an independent
reading of the wire.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

_now = time.perf_counter_ns


@dataclass
class RawResponse:
    status: int
    head: bytes  # status line and header lines, exactly as received
    headers: list[tuple[str, str]]  # (lower-cased name, value), in order
    body: bytes
    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (arrival ns, chunk data)
    headers_at: int = 0
    end_at: int = 0  # when the terminating chunk (or the last body byte) arrived

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return values[-1] if values else None

    @property
    def request_id(self) -> str:
        rid = self.header("x-request-id")
        assert rid is not None, self.head
        return rid

    def data_lines(self) -> list[str]:
        return [ln[5:].strip() for ln in self.body.decode().splitlines() if ln.startswith("data:")]

    def json_events(self) -> list[Any]:
        return [json.loads(d) for d in self.data_lines() if d and d != "[DONE]"]


class RawConn:
    """One client connection; ``await RawConn.open(url)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, url: str, ssl_context: ssl.SSLContext | None = None) -> RawConn:
        scheme, rest = url.split("://", 1)
        hostport = rest.split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        ctx = ssl_context if scheme == "https" else None
        reader, writer = await asyncio.open_connection(host.strip("[]"), int(port), ssl=ctx,
                                                       server_hostname=host.strip("[]") if ctx else None)
        return cls(reader, writer, hostport)

    @property
    def local_port(self) -> int:
        return int(self.writer.get_extra_info("sockname")[1])

    async def send(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}", "Content-Type: application/json",
                 f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        await self.writer.drain()

    async def read_response(self, timeout: float = 10.0) -> RawResponse:
        return await asyncio.wait_for(self._read_response(), timeout)

    async def _read_response(self) -> RawResponse:
        head = await self.reader.readuntil(b"\r\n\r\n")
        headers_at = _now()
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
        resp = RawResponse(status, head, headers, b"", headers_at=headers_at)
        names = dict(headers)
        if names.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line = await self.reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    resp.end_at = _now()
                    break
                resp.chunks.append((_now(), data[:-2]))
                body += data[:-2]
            resp.body = body
        else:
            resp.body = await self.reader.readexactly(int(names.get("content-length", "0")))
            resp.end_at = _now()
        return resp

    async def request(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> RawResponse:
        await self.send(path, body, headers)
        return await self.read_response()

    async def wait_closed(self, timeout: float) -> int | None:
        """perf_counter_ns when the server closed the connection (EOF), or None if it stayed open."""
        try:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
        except TimeoutError:
            return None
        except (ConnectionResetError, ssl.SSLError):
            return _now()
        assert data == b"", f"unexpected bytes after the response: {data[:200]!r}"
        return _now()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


def chat_body(prompt: str = "Say hello.", *, max_tokens: int | None = None, stream: bool = True,
              usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-sim", "stream": stream, "messages": [{"role": "user", "content": prompt}]}
    if stream and usage:
        body["stream_options"] = {"include_usage": True}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body
