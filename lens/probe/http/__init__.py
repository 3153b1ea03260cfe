"""A lean HTTP/1.1 streaming client for the burst engine (stdlib + httptools only).

Why not aiohttp on the hot path: aiohttp hands each socket read to a StreamReader and wakes
the reading task once per read, which costs tens of microseconds per stream event at 1024
streams (issue #16), and it loses requests on pooled connections a server has already
closed (issue #12). Here an ``asyncio.Protocol`` parses with llhttp (httptools) in place and
calls the caller's :class:`Observer` synchronously from ``data_received``, every piece
stamped with ``perf_counter_ns()`` taken first thing in that socket read. The awaiting task
wakes once, when the response ends. Works on asyncio's loop and on uvloop.

Usage::

    async with HttpClient(limit=64, connect_timeout=10) as client:
        resp = await client.request("POST", url, headers=hdrs, body=payload, observer=obs)
        resp.status, resp.reused, resp.resent

What it does on the wire (details in the modules):

- pool (:mod:`.pool`): per origin (scheme, host, port, proxy) under one connection limit;
  honours ``Connection: close`` and ``Keep-Alive: timeout=, max=``; drops connections the
  server closed while idle; an origin that hangs up right after each response without
  saying so is not reused again (``stats.close_after_each``); ``force_close`` = cold mode;
- stale connections: a request whose REUSED connection fails before any response byte
  (EOF, reset, broken pipe) is sent again once on a new connection (``Observer`` mark
  ``resend``, ``Response.resent``); never after a response byte, never on a new connection;
- phases (:mod:`.connect`): dns, tcp, proxy tunnel and tls are separate marks (TLS is
  started on the connected socket by :mod:`.tls_layer`: memory BIOs, the handshake's
  crypto on a worker thread so a burst of handshakes does not hold the loop, and every
  read stamped before it is decrypted);
- TLS (:mod:`.tls`): system store + ``SSL_CERT_FILE`` + ``ca_bundle``; errors say why the
  certificate is not trusted and how to trust a CA;
- proxies (:mod:`.proxy`): ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` like curl, or an
  explicit one; CONNECT for https, absolute-form for http; credentials never in errors;
- bodies: chunked, Content-Length and close-delimited; gzip/deflate content and transfer
  codings decoded (``Transfer-Encoding: gzip, chunked`` too; the client asks for
  ``identity``), any other coding refused by name, as is ``chunked`` that is not the last
  coding; a compressed body that is corrupt, cut short or followed by garbage is an error,
  not a short body; 1xx interim responses skipped; an optional ``max_body`` cap on the
  decoded bytes (decoding stops just past it: a gzip bomb is never inflated);
- host names: internationalised ones go out in their xn-- form (Host, proxy target, DNS,
  SNI: :mod:`lens.spec.hosts`);
- errors (:mod:`.errors`): a small typed hierarchy under :class:`HttpClientError`.
"""

from lens.probe.http.client import HttpClient, Observer, Response
from lens.probe.http.errors import (
    ConnectError,
    ConnectionClosedError,
    ConnectTimeout,
    HttpClientError,
    ProtocolError,
    ProxyError,
    ResponseTooLarge,
    TLSVerifyError,
)
from lens.probe.http.message import Headers
from lens.probe.http.pool import ClientStats
from lens.probe.http.tls import make_ssl_context

__all__ = [
    "ClientStats",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosedError",
    "Headers",
    "HttpClient",
    "HttpClientError",
    "Observer",
    "ProtocolError",
    "ProxyError",
    "Response",
    "ResponseTooLarge",
    "TLSVerifyError",
    "make_ssl_context",
]
