"""One HTTP/1.1 connection as an ``asyncio.Protocol``: llhttp (httptools) parses in place.

The hot path is :meth:`HttpConnection.data_received`: it takes ``perf_counter_ns()`` before
anything else, feeds the parser, and the parser's callbacks hand response head and body
pieces to the request's observer synchronously, stamped with that time. No StreamReader,
no task wake-up per read: the awaiting coroutine is woken once, when the response ends.

A connection belongs to a pool (``hooks``): it reports a finished response (``on_done``,
with whether the connection may be reused) and its end (``on_closed``, once).
"""

from __future__ import annotations

import asyncio
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any, Protocol, cast

import httptools

from lens.probe.http.errors import (
    ConnectionClosedError,
    HttpClientError,
    ProtocolError,
    ResponseTooLarge,
)
from lens.probe.http.message import BodyDecoder, Headers, body_decoder, keep_alive_params

if TYPE_CHECKING:
    from lens.probe.http.client import Observer

__all__ = ["ConnectionHooks", "HttpConnection", "Outcome"]

_NO_LIMIT = 1 << 62
# Most bytes a response head (status line, headers, 1xx interim heads) may take: the body
# has caps.max_bytes; without this a server could make the client buffer headers forever.
MAX_HEAD_BYTES = 1 << 20

# (status, reason, headers, body bytes after decoding)
Outcome = tuple[int, str, Headers, int]


class ConnectionHooks(Protocol):
    """What a connection tells its pool."""

    def on_done(self, conn: HttpConnection, keep: bool) -> None: ...

    def on_closed(self, conn: HttpConnection) -> None: ...


def _why(exc: BaseException | None) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) if exc is not None else ""


class HttpConnection(asyncio.Protocol):
    """A client HTTP/1.1 connection carrying one exchange at a time (no pipelining)."""

    __slots__ = (
        "_body_n",
        "_cb_exc",
        "_decoder",
        "_fut",
        "_got_bytes",
        "_got_head",
        "_head_n",
        "_head_only",
        "_headers",
        "_interim",
        "_keep",
        "_max_body",
        "_needs_eof",
        "_obs",
        "_on_body",
        "_parser",
        "_reason",
        "_sent_pending",
        "_status",
        "_t",
        "_write_paused",
        "address",
        "done_at",
        "expires_at",
        "hooks",
        "ka_max",
        "ka_timeout",
        "lost",
        "origin",
        "requests",
        "rtt_ns",
        "sent_ns",
        "state",
        "transport",
    )

    def __init__(self, address: str, origin: Any = None) -> None:
        self.address = address  # host:port, for error messages
        self.origin = origin  # the pool's per-origin record
        self.hooks: ConnectionHooks | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.state = "new"  # new | active | idle | closed: owned by the pool
        self.requests = 0  # exchanges started on this connection
        self.done_at = 0.0  # loop.time() when the last response ended
        self.expires_at = 0.0  # loop.time() after which it must not be reused
        self.ka_timeout: float | None = None  # from the server's Keep-Alive header
        self.ka_max: int | None = None  # first max= the server announced
        self.rtt_ns = 0  # the connection's set-up round trip (TCP, plus a proxy's CONNECT)
        self.sent_ns = 0  # perf_counter_ns when the current request was written
        self._parser = httptools.HttpResponseParser(self)
        # RFC 9112 2.2: a bare LF may end a line; curl, browsers and aiohttp read such heads.
        lenient = getattr(self._parser, "set_dangerous_leniencies", None)
        if lenient is not None:
            lenient(lenient_optional_cr_before_lf=True)
        self._fut: asyncio.Future[Outcome] | None = None
        self._obs: Observer | None = None
        self._on_body: Any = None
        self._t = 0
        self._write_paused = False
        self._sent_pending = False
        self._reset()

    def _reset(self) -> None:
        self._got_bytes = False
        self._got_head = False
        self._head_n = 0
        self._interim = False
        self._status = 0
        self._reason = ""
        self._headers = Headers()
        self._decoder: BodyDecoder | None = None
        self._body_n = 0
        self._cb_exc: BaseException | None = None
        self._max_body = _NO_LIMIT
        self._needs_eof = False
        self._keep = False
        self._head_only = False

    # -- exchange (called by the client) ---------------------------------------------------
    def start(
        self, data: bytes, obs: Observer, *, max_body: int | None, head_only: bool
    ) -> asyncio.Future[Outcome]:
        """Send ``data`` (a whole request) and return a future for the response's end."""
        tr = self.transport
        if self.lost or tr is None or tr.is_closing():
            raise ConnectionClosedError(
                f"{self.address} had closed the connection before the request was sent",
                address=self.address,
                before_response=True,
            )
        self._reset()
        self._head_only = head_only
        if max_body is not None:
            self._max_body = max_body
        self._obs = obs
        self._on_body = obs.on_body
        self.requests += 1
        fut = self._fut = asyncio.get_running_loop().create_future()
        tr.write(data)
        self.sent_ns = t = perf_counter_ns()
        if self._write_paused:  # flow control: "sent" when the transport takes it all
            self._sent_pending = True
        else:
            obs.mark("sent", t)
        return fut

    def abort(self, fut: asyncio.Future[Outcome] | None = None) -> None:
        """Drop the connection (cancelled exchange). With ``fut``: only if still its exchange."""
        if fut is not None and self._fut is not fut:
            return
        self._fut = None
        self._obs = self._on_body = None
        if self.transport is not None:
            self.transport.abort()
        self.lost = True
        if self.hooks is not None:
            self.hooks.on_closed(self)

    # -- transport callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream socket's transport

    def data_received(self, data: bytes, t: int = 0) -> None:
        # The socket read's clock: first thing, before parsing. Over TLS the layer below
        # took it before decrypting and passes it as ``t``.
        self._t = t or perf_counter_ns()
        if self._fut is None:
            # Bytes nobody asked for (an idle timeout's 408, garbage): unusable from now on.
            self._fail(None)
            return
        self._got_bytes = True
        if not self._got_head:
            self._head_n += len(data)
        try:
            self._parser.feed_data(data)
            if not self._got_head and self._head_n > MAX_HEAD_BYTES and self._fut is not None:
                self._fail(ProtocolError(
                    f"{self.address} sent response headers larger than {MAX_HEAD_BYTES} bytes",
                    address=self.address,
                ))
        except httptools.HttpParserCallbackError as exc:
            cb, self._cb_exc = self._cb_exc, None
            self._fail(cb or exc.__context__ or ProtocolError(str(exc), address=self.address))
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError(f"{self.address} switched protocols", address=self.address))
        except httptools.HttpParserError as exc:
            self._fail(
                ProtocolError(
                    f"{self.address} sent an invalid HTTP/1.1 response ({exc})",
                    address=self.address,
                )
            )

    def eof_received(self) -> bool | None:
        return False  # close our side too; connection_lost decides what the EOF meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._fut is not None:
            if self._got_head and self._needs_eof and not self._interim:
                self._keep = False
                self._complete()  # a close-delimited body ends here
            elif not self._got_bytes:
                why = f" ({_why(exc)})" if exc is not None else ""
                closed = ConnectionClosedError(
                    f"{self.address} closed the connection before sending a response{why}",
                    address=self.address,
                    before_response=True,
                )
                closed.after_s = (perf_counter_ns() - self.sent_ns) / 1e9
                self._fail(closed, abort=False)
            else:
                why = f" ({_why(exc)})" if exc is not None else ""
                self._fail(
                    ConnectionClosedError(
                        f"{self.address} closed the connection in the middle of the response, "
                        f"after {self._body_n} body bytes{why}",
                        address=self.address,
                        before_response=False,
                    ),
                    abort=False,
                )
        if self.hooks is not None:
            self.hooks.on_closed(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._sent_pending:
            self._sent_pending = False
            if self._obs is not None:
                self._obs.mark("sent", perf_counter_ns())

    # -- parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._fut is None:
            raise ProtocolError(f"{self.address} sent a second response", address=self.address)
        self._reason = ""
        self._headers = Headers()

    def on_status(self, status: bytes) -> None:
        self._reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._got_head:  # a chunked body's trailers: bounded like the head
            self._head_n += len(name) + len(value)
            if self._head_n > MAX_HEAD_BYTES:
                big = ProtocolError(
                    f"{self.address} sent chunked trailers larger than {MAX_HEAD_BYTES} bytes",
                    address=self.address,
                )
                self._cb_exc = big  # (httptools' __context__ is not reliably ours)
                raise big
        self._headers.add(name.decode("latin-1").lower(), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                raise ProtocolError(f"{self.address} switched protocols", address=self.address)
            self._interim = True  # 100 Continue, 103 Early Hints...: wait for the real one
            return
        self._interim = False
        if status == 408 and self.requests > 1:
            # The server timed this kept-alive connection out before our request arrived
            # (RFC 9110 15.5.9): it never acted on it, so it is a stale connection.
            stale = ConnectionClosedError(
                f"{self.address} answered 408 Request Timeout on a reused connection",
                address=self.address,
                before_response=True,
            )
            self._cb_exc = stale
            raise stale
        self._status = status
        h = self._headers
        te = h.get("transfer-encoding")
        self._needs_eof = (
            not self._head_only
            and status not in (204, 304)
            and "content-length" not in h
            and (te is None or not te.lower().rstrip().endswith("chunked"))
        )
        self._keep = self._parser.should_keep_alive() and not self._needs_eof
        ka = h.get("keep-alive")
        if ka is not None:
            timeout, maximum = keep_alive_params(ka)
            self.ka_timeout = timeout
            if maximum is not None:
                if self.ka_max is None:
                    self.ka_max = maximum
                # max= is the total (some servers) or what is left (Apache): honour both
                if maximum <= 1 or self.requests >= self.ka_max:
                    self._keep = False
        try:
            self._decoder = body_decoder(te, h.get("content-encoding"))
        except ValueError as exc:
            raise ProtocolError(f"{self.address} sent {exc}", address=self.address) from None
        self._got_head = True
        self._head_n = 0  # from here on: trailer bytes
        obs = self._obs
        assert obs is not None
        t = self._t
        try:
            obs.mark("headers", t)
            obs.on_head(status, self._reason, h, t)
        except BaseException as exc:
            self._cb_exc = exc  # see on_body
            raise
        if self._head_only:
            self._keep = False  # the parser cannot be told there is no body: do not reuse
            self._complete()

    def on_body(self, body: bytes) -> None:
        if self._fut is None:
            return
        dec = self._decoder
        if dec is not None:
            try:  # decoded only up to just past the cap: a gzip bomb is never inflated
                body = dec.feed(body, self._max_body - self._body_n)
            except Exception as exc:
                bad = self._cb_exc = self._bad_encoding(exc)
                raise bad from None
            if not body:
                return
        n = self._body_n + len(body)
        if n > self._max_body:
            big = self._cb_exc = ResponseTooLarge(
                f"the response from {self.address} is larger than the limit of "
                f"{self._max_body} bytes",
                address=self.address,
                limit=self._max_body,
            )
            raise big
        self._body_n = n
        try:
            self._on_body(body, self._t)
        except BaseException as exc:
            # httptools re-raises a callback's exception as HttpParserCallbackError whose
            # __context__ is not reliably ours: keep the observer's exception itself.
            self._cb_exc = exc
            raise

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._fut is not None:
            self._complete()

    # -- outcomes ----------------------------------------------------------------------------
    def _bad_encoding(self, exc: BaseException, dec: BodyDecoder | None = None) -> ProtocolError:
        dec = dec or self._decoder
        enc = dec.encoding if dec else "coded"
        return ProtocolError(
            f"{self.address} sent a {enc} body that does not decode ({exc})", address=self.address
        )

    def _complete(self) -> None:
        fut = self._fut
        if fut is None:
            return
        dec = self._decoder
        if dec is not None:
            self._decoder = None
            try:
                tail = dec.flush()
            except Exception as exc:
                self._fail(self._bad_encoding(exc, dec))
                return
            if tail:
                try:
                    self._decoder = None
                    self._body_n += len(tail)
                    if self._body_n > self._max_body:
                        raise ResponseTooLarge(
                            f"the response from {self.address} is larger than the limit of "
                            f"{self._max_body} bytes",
                            address=self.address,
                            limit=self._max_body,
                        )
                    self._on_body(tail, self._t)
                except BaseException as exc:
                    self._fail(exc)
                    return
        self._fut = None
        self._obs = self._on_body = None
        if not fut.done():
            fut.set_result((self._status, self._reason, self._headers, self._body_n))
        if self.hooks is not None:
            self.hooks.on_done(self, self._keep and not self.lost)

    def _fail(self, exc: BaseException | None, *, abort: bool = True) -> None:
        fut = self._fut
        self._fut = None
        self._obs = self._on_body = None
        if abort and self.transport is not None:
            self.transport.abort()
        if fut is not None and not fut.done() and exc is not None:
            if isinstance(exc, HttpClientError) and not exc.address:
                exc.address = self.address
            fut.set_exception(exc)
        if abort:
            self.lost = True
            if self.hooks is not None:
                self.hooks.on_closed(self)
