"""Time the LLM calls an application makes through its own ``aiohttp.ClientSession``.

``instrument_session(session, sink=...)`` adds, in place,

- a client middleware (aiohttp >= 3.12) that starts a :class:`lens.embed.core.Call` for
  each LLM request (dialect from the URL path, model/prompt from the JSON body), and
  replaces ``response.content`` with a proxy that timestamps every chunk the application
  reads (``iter_any``/``iter_chunked``/``readline``/``read``/``async for`` ...), feeds it to
  the dialect framer, and finishes the record at EOF, on error or on ``release()``;
- a TraceConfig marking pool wait, DNS, connect and request-sent times on that Call
  (found through a context variable set by the middleware for the request's task).

The application reads the response exactly as before; lens failures are swallowed.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from time import perf_counter_ns
from types import SimpleNamespace
from typing import Any

import aiohttp

from lens.embed.core import Call, Profiler
from lens.embed.sink import EmbedSink

__all__ = ["instrument_session"]

_CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "lens_embed_call", default=None
)


class _TimedReader:
    """Proxy of an aiohttp StreamReader that reports what the application reads."""

    def __init__(self, inner: aiohttp.StreamReader, call: Call) -> None:
        self._inner = inner
        self._call = call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _seen(self, data: bytes) -> bytes:
        if data:
            self._call.on_bytes(data)
        if not data or self._inner.at_eof():
            self._call.on_end()
        return data

    async def _guard(self, coro: Any) -> Any:
        try:
            return await coro
        except BaseException as exc:
            self._call.on_error(exc)
            raise

    async def read(self, n: int = -1) -> bytes:
        return self._seen(await self._guard(self._inner.read(n)))

    async def readany(self) -> bytes:
        return self._seen(await self._guard(self._inner.readany()))

    async def readline(self) -> bytes:
        return self._seen(await self._guard(self._inner.readline()))

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        return self._seen(await self._guard(self._inner.readuntil(separator)))

    async def readexactly(self, n: int) -> bytes:
        return self._seen(await self._guard(self._inner.readexactly(n)))

    async def readchunk(self) -> tuple[bytes, bool]:
        data, end = await self._guard(self._inner.readchunk())
        if data or not end:  # (b"", True) marks an HTTP chunk boundary, not EOF
            self._seen(data)
        return data, end

    async def iter_any(self) -> AsyncIterator[bytes]:
        while True:
            data = await self.readany()
            if not data:
                return
            yield data

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        while True:
            data = await self.read(n)
            if not data:
                return
            yield data

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        while True:
            chunk = await self.readchunk()
            if chunk[0] == b"" and not chunk[1]:
                return
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while True:
            line = await self.readline()
            if not line:
                return
            yield line


def _wrap_release(resp: aiohttp.ClientResponse, call: Call) -> None:
    release, close = resp.release, resp.close

    def _release() -> Any:
        try:
            return release()
        finally:
            call.on_close()

    def _close() -> None:
        try:
            close()
        finally:
            call.on_close()

    # Wrapping the response's own methods is the only hook aiohttp offers at release time.
    resp.release = _release  # type: ignore[method-assign]
    resp.close = _close  # type: ignore[method-assign]


def _body_bytes(req: aiohttp.ClientRequest) -> bytes:
    body = getattr(req, "body", None)
    value = getattr(body, "_value", body)  # BytesPayload / JsonPayload keep their bytes here
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else b""


def _middleware(prof: Profiler) -> Any:
    async def lens_middleware(req: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        call = None
        try:
            call = prof.begin(req.method, str(req.url), _body_bytes(req), headers=req.headers)
        except Exception as exc:
            prof.internal_error("instrumenting a request", exc)
        if call is None:
            return await handler(req)
        token = _CURRENT.set(call)
        try:
            resp = await handler(req)
        except BaseException as exc:
            call.on_error(exc)
            raise
        finally:
            _CURRENT.reset(token)
        try:
            call.on_headers(resp.status, resp.headers)
            resp.content = _TimedReader(resp.content, call)
            _wrap_release(resp, call)
        except Exception as exc:
            prof.internal_error("wrapping a response", exc)
        return resp

    return lens_middleware


def _hook(phase: str) -> Any:
    async def hook(_s: aiohttp.ClientSession, _ctx: SimpleNamespace, _p: Any) -> None:
        call = _CURRENT.get()
        if call is not None:
            if phase == "reuse":
                call.m.conn_reused = True
            else:
                call.phase(phase, perf_counter_ns())

    return hook


def _trace_config() -> aiohttp.TraceConfig:
    tc = aiohttp.TraceConfig()
    tc.on_connection_queued_start.append(_hook("pool_wait_start"))
    tc.on_connection_queued_end.append(_hook("pool_wait_end"))
    tc.on_dns_resolvehost_start.append(_hook("dns_start"))
    tc.on_dns_resolvehost_end.append(_hook("dns_end"))
    tc.on_connection_create_start.append(_hook("connect_start"))
    tc.on_connection_create_end.append(_hook("connect_end"))
    tc.on_connection_reuseconn.append(_hook("reuse"))
    tc.on_request_headers_sent.append(_hook("sent"))
    tc.on_request_chunk_sent.append(_hook("sent"))
    tc.freeze()
    return tc


def instrument_session(
    session: aiohttp.ClientSession, *, sink: EmbedSink | Profiler | None = None, **kw: Any
) -> Profiler:
    """Time LLM calls made through ``session`` from now on; returns the Profiler.

    ``sink``: an EmbedSink or a Profiler shared with other clients; keyword options
    (``sample``, ``provider``, ``scenario``, ``region``, ``target``, ``caps``) go to a new
    Profiler.
    """
    prof = (
        sink
        if isinstance(sink, Profiler)
        else Profiler(sink if sink is not None else EmbedSink(), **kw)
    )
    if any(getattr(mw, "lens_profiler", None) is not None for mw in session._middlewares):
        return prof  # already instrumented: one record per call, not two
    mw = _middleware(prof)
    mw.lens_profiler = prof
    session._middlewares = (*session._middlewares, mw)
    session._trace_configs.append(_trace_config())
    return prof
