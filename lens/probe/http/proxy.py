"""Forward proxies: which one a URL goes through, and its credentials.

Environment variables are read as curl, requests and urllib read them (through
``urllib.request``): ``https_proxy``/``HTTPS_PROXY`` for https URLs, ``http_proxy``/
``HTTP_PROXY`` for http ones, ``all_proxy``/``ALL_PROXY`` for either, and ``no_proxy``/
``NO_PROXY`` (comma-separated host names, domain suffixes or CIDR blocks of IP addresses,
``*`` for all) to bypass.
Lower-case wins over upper-case. ``HTTP_PROXY`` is ignored when ``REQUEST_METHOD`` is set
(a CGI environment, "httpoxy"), as urllib does.

Only ``http://`` proxies are supported (https targets tunnel through them with CONNECT;
http targets are sent to them in absolute form). A proxy URL without a port means 80.
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lens.probe.http.errors import ProxyError
from lens.spec.hosts import ascii_host

__all__ = ["ProxyInfo", "parse_proxy", "proxy_from_env"]


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """A proxy: where it is, and the ``Proxy-Authorization`` value (None without credentials).

    ``label`` is ``host:port``: what errors show (never the credentials).
    """

    host: str
    port: int
    authorization: str | None
    label: str

    def __repr__(self) -> str:  # keep credentials out of reprs and logs
        return f"ProxyInfo({self.label})"

    def secrets(self) -> tuple[str, ...]:
        """The credentials in every form a proxy could echo them: the header value, its
        base64 part, ``user:password`` and the password (to scrub from stored text)."""
        if not self.authorization:
            return ()
        b64 = self.authorization.split(None, 1)[-1]
        plain = base64.b64decode(b64).decode("utf-8", "replace")
        return (self.authorization, b64, plain, plain.partition(":")[2])


def _label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_proxy(url: str) -> ProxyInfo:
    """A :class:`ProxyInfo` from ``http://[user:password@]host[:port]`` (scheme optional)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    host = parts.hostname or ""
    try:
        host = ascii_host(host)
    except ValueError as exc:
        raise ProxyError(f"the proxy's {str(exc).removeprefix('the ')}",
                         address="the configured proxy") from None
    try:
        port = parts.port or 80
    except ValueError:
        port = -1
    label = _label(host, port) if host and port > 0 else "the configured proxy"
    if parts.scheme.lower() != "http" or not host or port <= 0:
        raise ProxyError(
            f"proxy {label} cannot be used: only http://host:port proxies are supported "
            f"(got scheme {parts.scheme!r})" if host else "the proxy URL has no host",
            address=label,
            hint="set the proxy as http://host:port (credentials as http://user:password@host:port)",
        )
    auth = None
    if parts.username is not None:
        cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(cred.encode("utf-8")).decode("ascii")
    return ProxyInfo(host, port, auth, _label(host, port))


def proxy_from_env(scheme: str, host: str, port: int) -> ProxyInfo | None:
    """The proxy the environment chooses for ``scheme://host:port``, or None (direct)."""
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    if proxy_bypassed(host, port, proxies):
        return None
    url = proxies.get(scheme) or proxies.get("all")
    return parse_proxy(url) if url else None


def proxy_bypassed(host: str, port: int, proxies: dict[str, str] | None = None) -> bool:
    """True when ``no_proxy`` says ``host`` (or ``host:port``) goes direct."""
    proxies = urllib.request.getproxies_environment() if proxies is None else proxies
    if "no" not in proxies:
        return False
    if _in_cidr(host, proxies["no"]):
        return True
    # hosts reach here in their xn-- form: an entry written in Unicode must match it too
    proxies = {**proxies, "no": ",".join(_ascii_entry(e) for e in proxies["no"].split(","))}
    return bool(urllib.request.proxy_bypass_environment(f"{host}:{port}", proxies))  # type: ignore[attr-defined]  # not in typeshed's urllib stubs


def _ascii_entry(entry: str) -> str:
    entry = entry.strip()
    if entry.isascii():
        return entry
    dot = "." if entry.startswith(".") else ""
    name, sep, port = entry.lstrip(".").partition(":")
    try:
        return dot + ascii_host(name) + sep + port
    except ValueError:
        return entry


def _in_cidr(host: str, no_proxy: str) -> bool:
    """True when ``host`` is an IP address inside a CIDR block of ``no_proxy`` (curl 7.86+
    and requests read ``10.0.0.0/8``; urllib does not). Host names are not resolved."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in no_proxy.split(","):
        entry = entry.strip()
        if "/" not in entry:
            continue
        try:
            if addr in ipaddress.ip_network(entry.strip("[]"), strict=False):
                return True
        except (ValueError, TypeError):
            continue
    return False
