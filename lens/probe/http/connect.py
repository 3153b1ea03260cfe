"""Setting up a connection, each phase timed: dns, tcp, tunnel (proxy CONNECT), tls.

TLS is started on the connected TCP transport (:mod:`.tls_layer`: memory BIOs, the
handshake's crypto on a worker thread) rather than passed to ``create_connection``, so the
TCP handshake (``tcp_start``..``tcp_end``) and the TLS handshake (``tls_start``..``tls_end``)
are separate marks. Through a proxy, dns and tcp
are those of the proxy, and TLS runs end-to-end with the origin inside the tunnel.

DNS: warm clients cache each host's addresses for ``dns_ttl_s`` and share one lookup among
requests that need it at once; cold ones (``fresh_dns``) resolve every time. IP literals
are not resolved (no dns marks). Several addresses are tried in order.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

import httptools

from lens.probe.http.errors import ConnectError, ConnectTimeout, ProxyError
from lens.probe.http.protocol import HttpConnection
from lens.probe.http.tls import describe_tls_error
from lens.probe.http.tls_layer import handshake, tls_workers

if TYPE_CHECKING:
    from lens.probe.http.client import Observer
    from lens.probe.http.pool import Origin

__all__ = ["Opener"]

AddrInfo = tuple[int, int, int, str, Any]


def _os_words(exc: OSError) -> str:
    """What the OS said, in words: asyncio's own text for a refused connect is
    "Connect call failed ('127.0.0.1', 8000)", a Python tuple; the errno says it plainly."""
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return (exc.strerror or str(exc)).lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Tunnel(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT (a response head, no body)."""

    def __init__(self, fut: asyncio.Future[tuple[int, str]]) -> None:
        self.fut = fut
        self.reason = ""
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, status: bytes) -> None:
        self.reason += status.decode("latin-1")

    def on_headers_complete(self) -> None:
        if not self.fut.done():
            self.fut.set_result((self.parser.get_status_code(), self.reason))

    def data_received(self, data: bytes) -> None:
        if self.fut.done():
            return  # the tunnel is open; nothing should come before our TLS hello
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self.fut.done():
                self.fut.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.fut.done():
            self.fut.set_exception(exc or ConnectionResetError("closed"))


class Opener:
    """Opens :class:`HttpConnection`\\ s for the pool (one per client)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        *,
        connect_timeout: float | None,
        dns_ttl_s: float,
    ) -> None:
        self._ssl = ssl_context  # or a factory, called on the first https connection
        self.connect_timeout = connect_timeout
        self.dns_ttl_s = dns_ttl_s
        self._dns: dict[tuple[str, int], tuple[float, list[AddrInfo]]] = {}
        self._dns_busy: dict[tuple[str, int], asyncio.Future[list[AddrInfo]]] = {}
        self._workers: ThreadPoolExecutor | None = None  # TLS handshakes' crypto (tls_layer)
        self._closed = False

    def close(self) -> None:
        """Stop the handshake threads: waits for the steps in progress (pure CPU, < 1 ms
        each); connections still being opened finish their handshakes on the loop."""
        self._closed = True
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True, cancel_futures=True)

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if not isinstance(self._ssl, ssl.SSLContext):
            self._ssl = self._ssl()
        return self._ssl

    async def __call__(self, origin: Origin, obs: Observer, fresh_dns: bool) -> HttpConnection:
        """A connected (and, for https, TLS-established) connection to ``origin``."""
        step = ["dns"]
        proxy = origin.proxy
        label = proxy.label if proxy is not None else origin.label
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await self._open(origin, obs, fresh_dns, step)
        except TimeoutError:
            where = f"proxy {label}" if proxy is not None and step[0] in ("dns", "tcp", "tunnel") else origin.label
            raise ConnectTimeout(
                f"connecting to {where} took longer than {self.connect_timeout:g}s "
                f"(stuck in the {step[0]} phase)",
                phase=step[0],
                address=label if step[0] != "tls" else origin.label,
            ) from None

    async def _open(
        self, origin: Origin, obs: Observer, fresh_dns: bool, step: list[str]
    ) -> HttpConnection:
        loop = asyncio.get_running_loop()
        proxy = origin.proxy
        host, port = (proxy.host, proxy.port) if proxy is not None else (origin.host, origin.port)
        label = proxy.label if proxy is not None else origin.label
        who = f"proxy {label}" if proxy is not None else label
        infos = await self._resolve(host, port, obs, fresh_dns, who)
        step[0] = "tcp"
        conn = HttpConnection(origin.label, origin)
        tunnel_fut: asyncio.Future[tuple[int, str]] | None = None
        tunnel = proxy is not None and origin.tls
        if tunnel:
            tunnel_fut = loop.create_future()
            proto: asyncio.Protocol = _Tunnel(tunnel_fut)
        else:
            proto = conn
        tcp_start = perf_counter_ns()
        obs.mark("tcp_start", tcp_start)
        transport: asyncio.Transport | None = None
        last: OSError | None = None
        for family, _type, _proto, _cn, addr in infos:
            try:
                transport, _ = await loop.create_connection(
                    lambda: proto, host=addr[0], port=addr[1], family=family
                )
                break
            except OSError as exc:
                last = exc
        if transport is None:
            why = _os_words(last) if last is not None else "no address"
            raise ConnectError(
                f"could not connect to {who}: {why}", phase="tcp", address=label,
                hint="check the host and port, and that the server is running" if proxy is None
                else "check the proxy settings (HTTPS_PROXY / HTTP_PROXY / NO_PROXY)",
            )
        tcp_end = perf_counter_ns()
        obs.mark("tcp_end", tcp_end)
        conn.rtt_ns = tcp_end - tcp_start
        try:
            if tunnel and tunnel_fut is not None:
                step[0] = "tunnel"
                t = perf_counter_ns()
                await self._tunnel(transport, origin, obs, tunnel_fut)
                conn.rtt_ns += perf_counter_ns() - t
            if origin.tls:
                step[0] = "tls"
                obs.mark("tls_start", perf_counter_ns())
                if self._workers is None and not self._closed:
                    self._workers = tls_workers()
                try:
                    conn.transport = await handshake(
                        transport, conn, self.ssl_context, origin.host, self._workers
                    )
                except (ssl.SSLError, OSError) as exc:
                    raise describe_tls_error(exc, origin.label, origin.host) from None
                obs.mark("tls_end", perf_counter_ns())
        except BaseException:
            transport.abort()
            raise
        return conn

    async def _tunnel(
        self,
        transport: asyncio.Transport,
        origin: Origin,
        obs: Observer,
        fut: asyncio.Future[tuple[int, str]],
    ) -> None:
        proxy = origin.proxy
        assert proxy is not None
        target = f"[{origin.host}]:{origin.port}" if ":" in origin.host else f"{origin.host}:{origin.port}"
        auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
        obs.mark("tunnel_start", perf_counter_ns())
        transport.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{auth}\r\n".encode())
        try:
            status, reason = await fut
        except (OSError, httptools.HttpParserError) as exc:
            raise ProxyError(
                f"proxy {proxy.label} closed the connection or answered garbage when asked to "
                f"open a tunnel to {target} ({exc})",
                address=proxy.label,
            ) from None
        obs.mark("tunnel_end", perf_counter_ns())
        if not 200 <= status < 300:
            hint = None
            if status == 407:
                hint = "the proxy wants credentials: put them in the proxy URL (http://user:password@host:port)"
            elif status == 403:
                hint = f"the proxy does not allow tunnels to {target}; ask its admin, or set NO_PROXY to bypass it"
            raise ProxyError(
                f"proxy {proxy.label} refused to open a tunnel to {target}: HTTP {status}"
                + (f" {reason}" if reason else ""),
                address=proxy.label,
                status=status,
                hint=hint,
            )

    async def _resolve(
        self, host: str, port: int, obs: Observer, fresh: bool, who: str
    ) -> list[AddrInfo]:
        if _is_ip(host):
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            return [(fam, socket.SOCK_STREAM, 0, "", (host, port))]
        loop = asyncio.get_running_loop()
        key = (host, port)
        if not fresh:
            hit = self._dns.get(key)
            if hit is not None and hit[0] > loop.time():
                return hit[1]  # a cache hit: no dns marks (nothing was resolved)
        obs.mark("dns_start", perf_counter_ns())
        busy = None if fresh else self._dns_busy.get(key)
        if busy is not None:  # someone is resolving it right now: share the answer
            try:
                infos = await asyncio.shield(busy)
            except ConnectError:
                raise
            except Exception:  # the one resolving was cancelled: look it up ourselves
                busy = None
            else:
                obs.mark("dns_end", perf_counter_ns())
                return infos
        shared: asyncio.Future[list[AddrInfo]] | None = None
        if not fresh and key not in self._dns_busy:
            shared = self._dns_busy[key] = loop.create_future()
        try:
            infos = await self._lookup(loop, host, port, who)
        except BaseException as exc:
            if shared is not None:
                shared.set_exception(exc if isinstance(exc, ConnectError) else ConnectionError())
                shared.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            if shared is not None:
                self._dns_busy.pop(key, None)
        obs.mark("dns_end", perf_counter_ns())
        if not fresh:
            self._dns[key] = (loop.time() + self.dns_ttl_s, infos)
        if shared is not None:
            shared.set_result(infos)
        return infos

    @staticmethod
    async def _lookup(
        loop: asyncio.AbstractEventLoop, host: str, port: int, who: str
    ) -> list[AddrInfo]:
        try:
            infos: list[AddrInfo] = list(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except socket.gaierror as exc:
            raise ConnectError(
                f"could not resolve {who}: {(exc.strerror or str(exc)).lower()}",
                phase="dns", address=f"{host}:{port}",
                hint="check the host name in the URL (or the proxy settings)",
            ) from None
        if not infos:
            raise ConnectError(
                f"could not resolve {who}: no address", phase="dns", address=f"{host}:{port}"
            )
        return infos
