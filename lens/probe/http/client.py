"""The client: :class:`HttpClient`, the :class:`Observer` it reports to, :class:`Response`."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from time import perf_counter_ns
from typing import Protocol
from urllib.parse import urlsplit

from lens.probe.http.connect import Opener
from lens.probe.http.errors import ConnectionClosedError, HttpClientError
from lens.probe.http.message import Headers, build_head
from lens.probe.http.pool import ClientStats, Origin, Pool
from lens.probe.http.protocol import HttpConnection, Outcome
from lens.probe.http.proxy import ProxyInfo, parse_proxy, proxy_bypassed, proxy_from_env
from lens.probe.http.tls import make_ssl_context
from lens.spec.hosts import ascii_host

__all__ = ["HttpClient", "Observer", "Response"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Observer(Protocol):
    """Receives one request's timeline. Every ``t_ns`` is ``time.perf_counter_ns()``.

    Called synchronously from the event loop's socket callbacks: keep them quick, and do
    not await. An exception raised here aborts the request (the connection is dropped) and
    propagates out of :meth:`HttpClient.request`.

    ``mark`` phases, in order of appearance (absent ones did not happen):
    ``pool_wait_start``/``pool_wait_end`` (waiting for a slot under the connection limit),
    ``reused`` (a pooled keep-alive connection was taken: no dns/tcp/tls marks follow),
    ``dns_start``/``dns_end``, ``tcp_start``/``tcp_end``, ``tunnel_start``/``tunnel_end``
    (proxy CONNECT), ``tls_start``/``tls_end``, ``sent`` (the whole request handed to the
    transport; if flow control paused writing, when it resumed), ``headers`` (the socket
    read that completed the response head), and ``resend``: the first attempt ran on a
    stale pooled connection and failed before any response byte; phases start over (a
    second ``pool_wait``/``dns``/``tcp``/... sequence follows) and the time up to
    ``resend`` was lost to the client, not spent by the server.
    """

    def mark(self, phase: str, t_ns: int) -> None: ...

    def on_head(self, status: int, reason: str, headers: Headers, t_ns: int) -> None:
        """The final response head (1xx interim responses are skipped)."""

    def on_body(self, data: bytes, t_ns: int) -> None:
        """De-framed, decoded body bytes; ``t_ns`` is the socket read that delivered them."""


@dataclass(slots=True)
class Response:
    """A finished response. ``body`` is the whole body only when no observer was given."""

    status: int
    reason: str
    headers: Headers
    body_bytes: int  # body length after de-framing and decoding
    reused: bool  # the attempt that succeeded ran on a pooled keep-alive connection
    resent: bool  # sent again on a new connection after a stale pooled one failed
    body: bytes | None = None


class _Collector:
    """The observer used when the caller gives none: keeps the body."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def mark(self, phase: str, t_ns: int) -> None:
        pass

    def on_head(self, status: int, reason: str, headers: Headers, t_ns: int) -> None:
        pass

    def on_body(self, data: bytes, t_ns: int) -> None:
        self.parts.append(data)


@lru_cache(maxsize=256)
def _split_url(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, origin-form target, Host header) of an absolute http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http:// or https:// URL: {url.split('?')[0]}")
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    host = ascii_host(parts.hostname)  # Host, DNS and SNI all use the xn-- form
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, target, host_header


class HttpClient:
    """A lean HTTP/1.1 client for streamed responses; see the package docstring.

    Create it inside the event loop that will use it (asyncio's or uvloop's), use it as an
    ``async with`` block or call :meth:`close`.

    - ``limit``: most connections open at once across all origins (0: no limit).
    - ``force_close``: "cold" mode, a new connection (and fresh DNS) per request, sent with
      ``Connection: close``; otherwise keep-alive connections are pooled per origin.
    - ``keepalive_s``: longest a pooled connection stays idle (a server's shorter
      ``Keep-Alive: timeout=`` wins, with a safety margin).
    - ``connect_timeout``: seconds for dns+tcp+tunnel+tls of one new connection
      (:class:`ConnectTimeout`); None waits for the OS.
    - ``ca_bundle``: a PEM file of extra trusted CAs; ``ssl_context`` replaces the default
      context (system store + ``SSL_CERT_FILE`` + ``ca_bundle``) altogether.
    - ``proxy``: an ``http://[user:pass@]host:port`` proxy for every request (with
      ``trust_env``, hosts in ``NO_PROXY`` still go direct); without it and with
      ``trust_env``, the ``*_PROXY``/``NO_PROXY`` environment decides.
    - ``resend_stale``: send a request again, once, on a new connection when its pooled
      connection turned out dead before any response byte (see ``Observer`` ``resend``).
    - ``stale_window_s``: ... and only when that showed within this long of the request's
      write (or three set-up round trips of the connection, if longer). A server that had
      closed the connection is found out within a round trip; one that closes later had
      the request and may have acted on it, so it is not sent twice (the error stands).
    - ``max_body``: default cap on a response body's bytes (:class:`ResponseTooLarge`).
    - ``hangup_window_s``: a server closing an idle connection this soon after a response
      is taken to close after every response (no more reuse for that origin).
    """

    def __init__(
        self,
        *,
        limit: int = 100,
        force_close: bool = False,
        keepalive_s: float = 60.0,
        connect_timeout: float | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        resend_stale: bool = True,
        stale_window_s: float = 0.5,
        max_body: int | None = None,
        dns_ttl_s: float = 10.0,
        hangup_window_s: float = 0.5,
    ) -> None:
        self.stats = ClientStats()
        self.resend_stale = resend_stale
        self.stale_window_s = stale_window_s
        self.max_body = max_body
        self.trust_env = trust_env
        self._proxy = parse_proxy(proxy) if proxy else None
        # Loading the system store takes tens of ms: plain-HTTP clients never pay it. A bad
        # ca_bundle still fails here, before any request.
        ctx: ssl.SSLContext | Callable[[], ssl.SSLContext]
        if ssl_context is not None:
            ctx = ssl_context
        elif ca_bundle is not None:
            ctx = make_ssl_context(ca_bundle)
        else:
            ctx = make_ssl_context
        self._opener = Opener(ctx, connect_timeout=connect_timeout, dns_ttl_s=dns_ttl_s)
        self._pool = Pool(
            self._opener,
            self.stats,
            limit=limit,
            force_close=force_close,
            keepalive_s=keepalive_s,
            hangup_window_s=hangup_window_s,
        )
        self._origins: dict[tuple[str, str, int], Origin] = {}
        self.force_close = force_close

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close idle connections and stop the TLS handshake threads; requests in flight
        keep their connections until they end."""
        await self._pool.close()
        self._opener.close()

    @property
    def open_connections(self) -> int:
        """Connections open now (being set up, in use or idle in the pool)."""
        return self._pool.open_connections

    def _origin(self, scheme: str, host: str, port: int) -> Origin:
        key = (scheme, host, port)
        origin = self._origins.get(key)
        if origin is None:
            proxy: ProxyInfo | None
            if self._proxy is not None:
                proxy = None if self.trust_env and proxy_bypassed(host, port) else self._proxy
            else:
                proxy = proxy_from_env(scheme, host, port) if self.trust_env else None
            label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            origin = self._origins[key] = Origin(scheme, host, port, proxy, label)
            self._pool.add_origin(origin)
        return origin

    def secrets_for(self, url: str) -> tuple[str, ...]:
        """Credential strings of the proxy ``url`` goes through (empty without one), for
        scrubbing whatever the proxy echoes; never raises (:meth:`request` names errors)."""
        try:
            proxy = self._origin(*_split_url(url)[:3]).proxy
        except (HttpClientError, ValueError):
            return ()
        return proxy.secrets() if proxy is not None else ()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | None = None,
        observer: Observer | None = None,
        max_body: int | None = None,
    ) -> Response:
        """Send one request and return when its response has ended (or raise).

        ``body`` is sent whole with a Content-Length. With an ``observer`` the body goes
        to ``observer.on_body`` as it arrives (``Response.body`` is None); without one it
        is collected into ``Response.body``. Raises an :class:`HttpClientError` subclass;
        cancelling the awaiting task aborts the connection (it is never pooled again).
        """
        scheme, host, port, target, host_header = _split_url(url)
        origin = self._origin(scheme, host, port)
        method = method.upper()
        proxy_auth = None
        if origin.proxy is not None and not origin.tls:
            target = f"{scheme}://{host_header}{target}"  # absolute form, to the proxy
            proxy_auth = origin.proxy.authorization
        n = len(body) if body is not None else (0 if method in _BODY_METHODS else None)
        data = build_head(
            method, target, host_header, headers, n, close=self.force_close, proxy_auth=proxy_auth
        )
        if body:
            data += body
        obs: Observer = observer if observer is not None else _Collector()
        cap = self.max_body if max_body is None else max_body
        head_only = method == "HEAD"
        self.stats.requests += 1
        conn, reused = await self._pool.acquire(origin, obs, fresh=False)
        resent = False
        try:
            out = await self._exchange(conn, data, obs, cap, head_only, reused, False)
        except ConnectionClosedError as exc:
            if not (exc.before_response and reused and self.resend_stale):
                raise
            window = max(self.stale_window_s, 3 * conn.rtt_ns / 1e9)
            if exc.after_s is not None and exc.after_s > window:
                kept = ConnectionClosedError(
                    f"{exc.message}, {exc.after_s:.2f}s after the request was sent; not sent "
                    "again, since the server had it and may have acted on it",
                    address=exc.address, before_response=True,
                )  # fmt: skip
                kept.reused = True
                raise kept from None
            # A pooled connection the server had already given up on: the request never
            # reached a live server, so sending it again is safe and loses no response.
            if asyncio.get_running_loop().time() - conn.done_at < self._pool.hangup_window_s:
                self._pool.note_hangup(origin)
            obs.mark("resend", perf_counter_ns())
            self.stats.resent += 1
            try:
                conn, _ = await self._pool.acquire(origin, obs, fresh=True)
            except HttpClientError as again:
                again.resent = True
                raise
            out = await self._exchange(conn, data, obs, cap, head_only, False, True)
            reused, resent = False, True
        status, reason, hdrs, nbytes = out
        body_out = b"".join(obs.parts) if isinstance(obs, _Collector) else None
        return Response(status, reason, hdrs, nbytes, reused, resent, body_out)

    async def _exchange(
        self,
        conn: HttpConnection,
        data: bytes,
        obs: Observer,
        cap: int | None,
        head_only: bool,
        reused: bool,
        resent: bool,
    ) -> Outcome:
        if reused:
            self.stats.reused += 1
        fut = None
        try:
            fut = conn.start(data, obs, max_body=cap, head_only=head_only)
            return await fut
        except HttpClientError as exc:
            exc.reused, exc.resent = reused, resent
            self._pool.discard(conn)
            raise
        except BaseException:
            # Cancelled (the caller's timeout) or the observer raised: the connection's
            # state is unknown, so it is dropped, never pooled again.
            if fut is None or not fut.done() or fut.cancelled():
                conn.abort(fut)
            raise
