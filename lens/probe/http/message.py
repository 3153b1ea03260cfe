"""HTTP/1.1 message pieces: response headers, the request head, Keep-Alive, body decoding."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

__all__ = ["BodyDecoder", "Decoder", "Headers", "body_decoder", "build_head", "keep_alive_params"]


class Headers(dict[str, str]):
    """Response headers: lower-case names; a repeated header's values joined with ", ".

    Lookups (``h["Content-Type"]``, ``h.get("retry-after")``, ``in``) ignore case.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)

    # dict.get's overloads allow any default type; headers are str -> str only
    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def add(self, name: str, value: str) -> None:
        """Add one header line (``name`` already lower-case)."""
        old = dict.get(self, name)
        dict.__setitem__(self, name, value if old is None else f"{old}, {value}")


def _check(text: str, what: str) -> str:
    # A CR/LF in a header would let a value inject headers (or a second request).
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(f"{what} contains a line break or NUL; refusing to send it")
    return text


def build_head(
    method: str,
    target: str,
    host_header: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    body_len: int | None,
    *,
    close: bool,
    proxy_auth: str | None = None,
) -> bytes:
    """The request line and headers (ending with the blank line), encoded.

    Adds ``Host``, ``Accept-Encoding: identity`` and ``User-Agent`` unless the caller set
    them, ``Content-Length`` when there is a body (a caller's own Content-Length or
    Transfer-Encoding is dropped: bodies are always sent whole), and ``Connection: close``
    when ``close``.
    """
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    lines = [f"{_check(method, 'method')} {_check(target, 'request target')} HTTP/1.1"]
    seen: set[str] = set()
    for name, value in items:
        low = name.lower()
        if low in ("content-length", "transfer-encoding", "host", "connection"):
            if low == "host":
                host_header = value
            continue
        seen.add(low)
        lines.append(f"{_check(name, 'header name')}: {_check(str(value), f'header {name}')}")
    lines.insert(1, f"Host: {_check(host_header, 'host')}")
    if "accept-encoding" not in seen:
        lines.append("Accept-Encoding: identity")
    if "user-agent" not in seen:
        lines.append("User-Agent: llm-latency-lens")
    if body_len is not None:
        lines.append(f"Content-Length: {body_len}")
    if close:
        lines.append("Connection: close")
    if proxy_auth is not None:
        lines.append(f"Proxy-Authorization: {proxy_auth}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")


def keep_alive_params(value: str) -> tuple[float | None, int | None]:
    """(timeout seconds, max requests) from a ``Keep-Alive`` header; None where absent/bad."""
    timeout: float | None = None
    maximum: int | None = None
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        key = key.strip().lower()
        val = val.strip().strip('"')
        try:
            if key == "timeout":
                timeout = max(0.0, float(val))
            elif key == "max":
                maximum = max(0, int(val))
        except ValueError:
            continue
    return timeout, maximum


class Decoder:
    """Streaming gzip/deflate decoder for a response body (``Content-Encoding``).

    ``deflate`` is tried as zlib-wrapped first and, if that fails on the first bytes, as raw
    deflate (some servers send raw, as browsers tolerate).
    """

    __slots__ = ("_d", "_raw_ok", "encoding")

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._d = zlib.decompressobj(wbits)
        self._raw_ok = encoding == "deflate"

    def feed(self, data: bytes) -> bytes:
        """Decoded bytes for ``data`` (may be empty). Raises zlib.error on corrupt input."""
        try:
            out = self._d.decompress(data)
        except zlib.error:
            if not self._raw_ok:
                raise
            self._raw_ok = False
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data)
        self._raw_ok = False
        return out

    def flush(self) -> bytes:
        """Whatever the decoder still holds at the end of the body."""
        return self._d.flush()


SUPPORTED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class BodyDecoder:
    """The body's codings undone in turn: transfer codings, then content codings.

    ``encoding`` names them for messages, e.g. ``"gzip (transfer), deflate"``.
    """

    __slots__ = ("_ds", "encoding")

    def __init__(self, decoders: list[tuple[Decoder, str]]) -> None:
        self._ds = [d for d, _ in decoders]
        self.encoding = ", ".join(label for _, label in decoders)

    def feed(self, data: bytes) -> bytes:
        for d in self._ds:
            if not data:
                return b""
            data = d.feed(data)
        return data

    def flush(self) -> bytes:
        out = b""
        for d in self._ds:
            # what the previous stage still held goes through this one before it flushes
            out = (d.feed(out) if out else b"") + d.flush()
        return out


def _codings(value: str | None) -> list[str]:
    return [c.strip().lower() for c in (value or "").split(",") if c.strip()]


def body_decoder(
    transfer_encoding: str | None, content_encoding: str | None
) -> BodyDecoder | None:
    """The decoder for a response's ``Transfer-Encoding`` and ``Content-Encoding``.

    None when the body needs no decoding (identity; ``chunked`` itself is the parser's).
    Codings are listed in the order they were applied, so they are undone last first;
    transfer codings are undone before content codings (RFC 9110 8.4, RFC 9112 6.1).
    Raises ValueError naming the header and the coding this client cannot undo.
    """
    steps: list[tuple[Decoder, str]] = []
    for header, value, suffix, skip in (
        ("Transfer-Encoding", transfer_encoding, " (transfer)", ("identity", "chunked")),
        ("Content-Encoding", content_encoding, "", ("identity",)),
    ):
        for coding in reversed(_codings(value)):
            if coding in skip:
                continue
            if coding not in SUPPORTED_ENCODINGS:
                raise ValueError(
                    f"a body with {header} {coding!r}, which this client cannot decode "
                    "(it decodes gzip and deflate)"
                )
            steps.append((Decoder(coding), coding + suffix))
    return BodyDecoder(steps) if steps else None
