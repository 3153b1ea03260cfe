"""Errors of the HTTP client, one class per thing that can go wrong on the wire.

They subclass :class:`lens.errors.LensError` (not ``ProbeError``, which means a whole burst
could not run): one of these ends one request, and the engine turns it into a ``network``
(or ``timeout``) record. ``str(err)`` is plain words that name the host (``host:port``) and,
where the user can act, say how. They never contain credentials: proxy URLs appear as
``host:port`` only, request headers never.

Every error raised by :meth:`HttpClient.request` also carries ``reused`` (the failing
attempt ran on a pooled keep-alive connection) and ``resent`` (it was the second attempt
after a stale pooled connection failed).

    HttpClientError
    ├── ConnectError            phase: dns | tcp | tunnel | tls
    │   ├── ConnectTimeout      (also a TimeoutError)
    │   ├── TLSVerifyError      the server's certificate is not trusted
    │   └── ProxyError          the proxy refused CONNECT (status) or is unusable
    ├── ConnectionClosedError   before_response: no response byte had arrived
    ├── ProtocolError           the response is not valid HTTP/1.1 (or not decodable)
    └── ResponseTooLarge        the body passed the caller's max_body cap
"""

from __future__ import annotations

from lens.errors import LensError

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosedError",
    "HttpClientError",
    "ProtocolError",
    "ProxyError",
    "ResponseTooLarge",
    "TLSVerifyError",
]


class HttpClientError(LensError):
    """Base of the client's errors. ``address`` is ``host:port`` of the server (or proxy)."""

    def __init__(self, message: str, *, address: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.address = address
        self.reused = False
        self.resent = False


class ConnectError(HttpClientError):
    """No connection could be set up. ``phase`` is where it failed: dns, tcp, tunnel, tls."""

    def __init__(self, message: str, *, phase: str, address: str, hint: str | None = None) -> None:
        super().__init__(message, address=address, hint=hint)
        self.phase = phase


class ConnectTimeout(ConnectError, TimeoutError):
    """Setting up the connection took longer than the client's ``connect_timeout``."""


class TLSVerifyError(ConnectError):
    """The server's certificate failed verification. ``reason`` is OpenSSL's word for why."""

    def __init__(self, message: str, *, address: str, reason: str, hint: str | None = None) -> None:
        super().__init__(message, phase="tls", address=address, hint=hint)
        self.reason = reason


class ProxyError(ConnectError):
    """The proxy refused the tunnel (``status`` is its HTTP status) or cannot be used."""

    def __init__(
        self, message: str, *, address: str, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, phase="tunnel", address=address, hint=hint)
        self.status = status


class ConnectionClosedError(HttpClientError):
    """The connection ended (EOF, reset, broken pipe) before the response was complete.

    ``before_response`` is True when not one byte of the response had arrived: the only
    case in which a request on a reused connection may be sent again. ``after_s`` is how
    long after the request was written the connection ended (None: it was never written,
    or the server said it never took it): a close long after the write means the server
    had the request, and it is not sent again.
    """

    def __init__(self, message: str, *, address: str, before_response: bool) -> None:
        super().__init__(message, address=address)
        self.before_response = before_response
        self.after_s: float | None = None


class ProtocolError(HttpClientError):
    """The server's bytes are not a valid HTTP/1.1 response, or its body cannot be decoded."""


class ResponseTooLarge(HttpClientError):
    """The response body passed ``max_body`` bytes (after decoding); the connection is closed."""

    def __init__(self, message: str, *, address: str, limit: int) -> None:
        super().__init__(message, address=address)
        self.limit = limit
