"""httpx transports that time every LLM call passing through them (sync and async).

``LensTransport(inner, sink=...)`` wraps any ``httpx.BaseTransport`` (default: a new
``httpx.HTTPTransport()``); ``AsyncLensTransport`` wraps an ``httpx.AsyncBaseTransport``.
The official SDKs now ship on ``httpx2`` (pydantic's drop-in fork with its own classes);
``transports_for(httpx2)`` returns the same pair built on that module, and
``lens.embed.instrument`` picks the right pair for a client by itself.
For a POST whose path is an LLM endpoint (see lens.embed.wire.detect_dialect) it

- adds an httpx ``trace`` extension (chaining one the app set) that marks connect,
  request-sent and response-headers times (httpcore's ``connection.connect_tcp``,
  ``start_tls``, ``send_request_*``, ``receive_response_headers`` events);
- returns the inner response with its byte stream wrapped: each chunk the *application*
  pulls is timestamped, fed to the dialect framer and the Measurement, and handed on
  unchanged, so the SDK reads the stream exactly as before;
- when the body ends, is closed early, or fails, finishes one RequestRecord (non-streamed
  JSON responses too: their text arrives at once, so ttft_ms == e2e_ms) and submits it to
  the never-blocking EmbedSink.

Any exception inside lens is counted on the Profiler and swallowed; exceptions of the
inner transport reach the application unchanged (and are recorded as timeout/network).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator
from functools import cache
from time import perf_counter_ns
from types import ModuleType
from typing import Any

from lens.embed.core import Call, Profiler
from lens.embed.sink import EmbedSink

__all__ = ["AsyncLensTransport", "LensTransport", "trace_phase", "transports_for"]


def trace_phase(event: str) -> str | None:
    """Measurement phase for an httpcore trace event name (None: not one we mark)."""
    if event.endswith("connect_tcp.started") or event.endswith("connect_unix_socket.started"):
        return "connect_start"
    if event.endswith(
        ("connect_tcp.complete", "start_tls.complete", "connect_unix_socket.complete")
    ):
        return "connect_end"
    if event.endswith(("send_request_headers.complete", "send_request_body.complete")):
        return "sent"
    if event.endswith("receive_response_headers.complete"):
        return "headers"
    return None


def _request_body(request: Any, not_read: type[Exception]) -> bytes:
    try:
        return bytes(request.content)  # SDK bodies are bytes already; a streamed upload raises
    except not_read:
        return b""


def _profiler(sink: EmbedSink | Profiler | None, kw: dict[str, Any]) -> Profiler:
    if isinstance(sink, Profiler):
        return sink
    return Profiler(sink if sink is not None else EmbedSink(), **kw)


def _sync_tracer(
    call: Call, previous: Callable[..., Any] | None
) -> Callable[[str, dict[str, Any]], None]:
    def trace(event: str, info: dict[str, Any]) -> None:
        phase = trace_phase(event)
        if phase is not None:
            call.phase(phase, perf_counter_ns())
        if previous is not None:
            previous(event, info)

    return trace


def _async_tracer(
    call: Call, previous: Callable[..., Any] | None
) -> Callable[[str, dict[str, Any]], Any]:
    async def trace(event: str, info: dict[str, Any]) -> None:
        phase = trace_phase(event)
        if phase is not None:
            call.phase(phase, perf_counter_ns())
        if previous is not None:
            await previous(event, info)

    return trace


@cache
def transports_for(mod: ModuleType) -> tuple[type, type]:
    """(LensTransport, AsyncLensTransport) built on ``mod`` (``httpx`` or ``httpx2``).

    The classes are made here, per module, because their bases are that module's (an SDK
    may bring httpx2 beside httpx): hence the ``type: ignore[name-defined]`` on each, since
    a checker cannot resolve a base taken from a variable module. This is also why the
    function is longer than most: four small classes sharing ``mod`` and ``decoders``.
    """
    decoders = getattr(
        importlib.import_module(mod.__name__ + "._decoders"), "SUPPORTED_DECODERS", {}
    )
    not_read = mod.RequestNotRead

    class _TimedStream(mod.SyncByteStream):  # type: ignore[name-defined]
        def __init__(self, inner: Any, call: Call) -> None:
            self._inner = inner
            self._call = call

        def __iter__(self) -> Iterator[bytes]:
            call = self._call
            try:
                for chunk in self._inner:
                    call.on_bytes(chunk)
                    yield chunk
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.on_error(exc)
                raise
            call.on_end()

        def close(self) -> None:
            try:
                close = getattr(self._inner, "close", None)
                if close is not None:
                    close()
            finally:
                self._call.on_close()

    class _AsyncTimedStream(mod.AsyncByteStream):  # type: ignore[name-defined]
        def __init__(self, inner: Any, call: Call) -> None:
            self._inner = inner
            self._call = call

        async def __aiter__(self) -> AsyncIterator[bytes]:
            call = self._call
            try:
                async for chunk in self._inner:
                    call.on_bytes(chunk)
                    yield chunk
            except GeneratorExit:
                raise
            except BaseException as exc:
                call.on_error(exc)
                raise
            call.on_end()

        async def aclose(self) -> None:
            try:
                aclose = getattr(self._inner, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self._call.on_close()

    def begin(prof: Profiler, request: Any, tracer: Callable[[Any, Any], Any]) -> Any:
        """Start timing ``request`` (None when sampled out or on an internal error)."""
        try:
            call = prof.begin(request.method, str(request.url), _request_body(request, not_read),
                              headers=request.headers)
            if call is not None:
                request.extensions = {
                    **request.extensions,
                    "trace": tracer(call, request.extensions.get("trace")),
                }
            return call
        except Exception as exc:
            prof.internal_error("instrumenting a request", exc)
            return None

    def wrap(prof: Profiler, call: Any, response: Any, timed_stream: type) -> Any:
        """Time the response body as the application reads it; never raise into the app."""
        try:
            call.on_headers(response.status_code, response.headers, decoders=decoders)
            content = getattr(response, "_content", None)
            if isinstance(content, bytes) and response.is_closed:
                # Built in memory and already read (MockTransport, caches): no stream
                # left to wrap, so its body arrived with its headers.
                call.skip_decoding()  # httpx already decoded it
                call.on_bytes(content)
                call.on_end()
            else:
                response.stream = timed_stream(response.stream, call)
        except Exception as exc:
            prof.internal_error("wrapping a response", exc)
        return response

    class LensTransport(mod.BaseTransport):  # type: ignore[name-defined]
        """Sync transport timing LLM calls: ``Client(transport=LensTransport(sink=...))``.

        ``inner``: the transport doing the I/O (default ``HTTPTransport()``). ``sink``: an
        EmbedSink, or a Profiler shared with other transports. Keyword options
        (``sample``, ``provider``, ``scenario``, ``region``, ``target``, ``caps``) go to the
        Profiler.
        """

        def __init__(
            self, inner: Any = None, *, sink: EmbedSink | Profiler | None = None, **kw: Any
        ) -> None:
            self.inner = inner if inner is not None else mod.HTTPTransport()
            self.profiler = _profiler(sink, kw)

        def handle_request(self, request: Any) -> Any:
            call = begin(self.profiler, request, _sync_tracer)
            if call is None:
                return self.inner.handle_request(request)
            try:
                response = self.inner.handle_request(request)
            except BaseException as exc:
                call.on_error(exc)
                raise
            return wrap(self.profiler, call, response, _TimedStream)

        def close(self) -> None:
            self.inner.close()

    class AsyncLensTransport(mod.AsyncBaseTransport):  # type: ignore[name-defined]
        """Async twin of LensTransport, for ``AsyncClient(transport=...)``."""

        def __init__(
            self, inner: Any = None, *, sink: EmbedSink | Profiler | None = None, **kw: Any
        ) -> None:
            self.inner = inner if inner is not None else mod.AsyncHTTPTransport()
            self.profiler = _profiler(sink, kw)

        async def handle_async_request(self, request: Any) -> Any:
            call = begin(self.profiler, request, _async_tracer)
            if call is None:
                return await self.inner.handle_async_request(request)
            try:
                response = await self.inner.handle_async_request(request)
            except BaseException as exc:
                call.on_error(exc)
                raise
            return wrap(self.profiler, call, response, _AsyncTimedStream)

        async def aclose(self) -> None:
            await self.inner.aclose()

    LensTransport.__module__ = AsyncLensTransport.__module__ = __name__
    LensTransport.__qualname__ = "LensTransport"
    AsyncLensTransport.__qualname__ = "AsyncLensTransport"
    return LensTransport, AsyncLensTransport


def _default_module() -> ModuleType:
    try:
        return importlib.import_module("httpx")
    except ImportError:  # only the fork is installed
        return importlib.import_module("httpx2")


# On plain httpx (or httpx2 when only the fork is installed). For SDK clients built on the
# other module use transports_for(module), or let lens.embed.instrument choose.
LensTransport, AsyncLensTransport = transports_for(_default_module())
