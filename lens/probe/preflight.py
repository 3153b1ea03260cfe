"""Wire checks of a target before a burst: what would make every request fail on the client.

A header the HTTP client refuses to send (an API key read with its line break), a proxy
setting it cannot use (``HTTP_PROXY=socks5://...``) and a trust store that does not load (a
stale ``SSL_CERT_FILE``) fail every request the same way, on the
client, before any byte reaches the provider. Recorded one by one they would read as N
failures of the provider; :func:`check_wire` raises once, before the burst, naming the
variable to fix (never its value).
"""

from __future__ import annotations

import functools
import os
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lens.errors import ConfigError, TargetError
from lens.probe.http.errors import ProxyError
from lens.probe.http.message import build_head
from lens.probe.http.proxy import proxy_from_env
from lens.probe.http.tls import make_ssl_context

if TYPE_CHECKING:
    from lens.probe.dialects.base import HttpRequest
    from lens.spec import TargetSpec

__all__ = ["check_wire"]


def check_wire(target: TargetSpec, req: HttpRequest, secret_headers: dict[str, str]) -> None:
    """Raise a ConfigError when ``req`` (a target's preflight request) cannot go on the wire."""
    try:
        build_head(req.method, "/", "preflight", {**req.headers, **secret_headers},
                   len(req.body), close=False)
    except ValueError as exc:
        names = " / ".join(target.key_envs) or "the target's secret headers"
        raise TargetError(
            f"target {target.label!r}: {exc}", field="api_key_env",
            hint=f"check the value of {names}: it ends in a newline or carriage return "
                 "(a file saved with CRLF line endings?)",
        ) from None  # fmt: skip
    parts = urlsplit(req.url)
    scheme = parts.scheme.lower()
    if parts.hostname is None or scheme not in ("http", "https"):
        return  # the client names a bad URL itself
    if scheme == "https":
        _trust_store_loads(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    try:
        port = parts.port or (443 if scheme == "https" else 80)
        proxy_from_env(scheme, parts.hostname, port)
    except ProxyError as exc:
        var = f"{scheme.upper()}_PROXY" if scheme in urllib.request.getproxies_environment() \
            else "ALL_PROXY"
        raise ConfigError(exc.message, source=var, hint=exc.hint) from None
    except ValueError:
        return  # a bad port: the client names it per request


@functools.lru_cache(maxsize=4)
def _trust_store_loads(cert_file: str | None, cert_dir: str | None) -> None:
    """The client's trust store loads (a missing or unreadable SSL_CERT_FILE is a ConfigError
    naming it); cached per setting, since loading the system store takes tens of ms."""
    make_ssl_context()
