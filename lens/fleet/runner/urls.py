"""URL prefixes as the runner compares them: parsed, never as strings.

Used for the SSRF allow-list (``LENS_ALLOWED_BASE_URLS``), the key-to-host binding
(``LENS_API_KEY_URLS``) and the Bedrock endpoints (AWS's own hosts, or the VPC endpoints in
``LENS_BEDROCK_ENDPOINT_URLS``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# bedrock-runtime.<region>.amazonaws.com (FIPS and China partition forms included).
_BEDROCK_HOST = re.compile(r"bedrock-runtime(-fips)?\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d\.amazonaws\.com(\.cn)?")


@dataclass(frozen=True)
class UrlPrefix:
    """One allow-list entry, parsed: scheme, exact host, port, and a path prefix."""

    scheme: str
    host: str
    port: int
    path: str  # no trailing slash; "" matches every path

    def matches(self, url: str) -> bool:
        """True when ``url`` is on this host and under this path, segment-wise.

        Compared after parsing, so 'https://api.openai.com.evil.com', 'https://api.openai.com@evil',
        'https://api.openai.com:8443' and '/v1/../admin' do not pass for 'https://api.openai.com/v1'.
        """
        try:
            other = parse_prefix(url)
        except ValueError:
            return False
        if (other.scheme, other.host, other.port) != (self.scheme, self.host, self.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")


def parse_prefix(url: str) -> UrlPrefix:
    """Parse a URL strictly (used for allow-list entries and for the URLs checked against them).

    Refuses user-info, non-http(s) schemes, dot segments and encoded slashes, which could
    make a string that starts like an allowed URL reach a different host or path.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL with a host")
    if "@" in parts.netloc or parts.username or parts.password:
        raise ValueError(f"{url!r} carries user-info ('user@host'); give a plain host")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} has a query or fragment; give scheme://host[:port][/path]")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValueError(f"{url!r} has no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError(f"{url!r} has an invalid port") from None
    raw_path = parts.path
    decoded = unquote(raw_path)
    if "\\" in decoded or "%2f" in raw_path.lower() or "%5c" in raw_path.lower():
        raise ValueError(f"{url!r} has an encoded slash or backslash in its path")
    segments = [s for s in decoded.split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise ValueError(f"{url!r} has '.' or '..' path segments")
    path = posixpath.join("/", *segments) if segments else ""
    return UrlPrefix(scheme, host, port, path.rstrip("/"))


def url_allowed(url: str, prefixes: tuple[str, ...]) -> bool:
    """True when ``url`` falls under one of the allow-list ``prefixes``."""
    return any(parse_prefix(p).matches(url) for p in prefixes)


def is_bedrock_runtime(url: str) -> bool:
    """True for ``https://bedrock-runtime.<region>.amazonaws.com`` (port 443, no path).

    The only public hosts a Bedrock target may send the runner role's SigV4 signature to.
    """
    try:
        p = parse_prefix(url)
    except ValueError:
        return False
    return p.scheme == "https" and p.port == 443 and p.path == "" and bool(_BEDROCK_HOST.fullmatch(p.host))
