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


# Output is drawn from zlib in pieces this large, so a small compressed body that inflates
# to gigabytes (a "gzip bomb") is refused at the caller's cap, not after inflating it.
_STEP = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


class Decoder:
    """Streaming gzip/deflate decoder for a response body (one content or transfer coding).

    ``deflate`` is tried as zlib-wrapped first and, if that fails on the first bytes, as raw
    deflate (some servers send raw, as browsers tolerate). gzip may hold several members
    (RFC 1952 2.2). Anything after the compressed data, or a body that stops before the
    end of it (the gzip trailer's CRC and length included), raises zlib.error.
    """

    __slots__ = ("_d", "_fed", "_gzip", "_raw_ok", "encoding")

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)
        self._raw_ok = encoding == "deflate"
        self._fed = False  # any input since the current stream began

    @property
    def more(self) -> bool:
        """True while input is held back because the last call hit its ``limit``."""
        return bool(self._d.unconsumed_tail) or (self._d.eof and bool(self._d.unused_data))

    def feed(self, data: bytes, limit: int = _STEP) -> bytes:
        """Decoded bytes for ``data`` (may be empty), at most ``limit``; what is left is
        held (:attr:`more`) for the next call. Raises zlib.error on corrupt input."""
        data = self._d.unconsumed_tail + data if self._d.unconsumed_tail else data
        if self._d.eof:
            data = self._next_member(data)
            if not data:
                return b""
        self._fed = self._fed or bool(data)
        try:
            out = self._d.decompress(data, limit)
        except zlib.error:
            if not self._raw_ok:
                raise
            self._raw_ok = False
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, limit)
        self._raw_ok = False
        if self._d.eof and self._d.unused_data and len(out) < limit:
            # another gzip member (or trailing garbage) in the same read
            out += self.feed(b"", limit - len(out))
        return out

    def _next_member(self, data: bytes) -> bytes:
        """After the end of a stream: ``data`` (with what zlib read past the end) starts
        another gzip member, or there is nothing; anything else is trailing garbage."""
        data = self._d.unused_data + data
        if not data:
            return b""
        if self._gzip and data[:2] == _GZIP_MAGIC[:len(data[:2])]:
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._fed = False
            return data
        raise zlib.error(f"{len(data)} bytes after the end of the compressed data")

    def flush(self) -> bytes:
        """Whatever the decoder still holds at the end of the body (at most one step).

        Raises zlib.error when the compressed data stopped before its end.
        """
        out = self._d.flush(_STEP)
        if self._d.eof and self._d.unused_data:
            self._next_member(b"")  # trailing garbage raises; another member began:
            raise zlib.error("the compressed data stops before its end")
        if self._fed and not self._d.eof:
            raise zlib.error("the compressed data stops before its end")
        return out


SUPPORTED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class BodyDecoder:
    """The body's codings undone in turn: transfer codings, then content codings.

    ``encoding`` names them for messages, e.g. ``"gzip (transfer), deflate"``.
    """

    __slots__ = ("_ds", "encoding")

    def __init__(self, decoders: list[tuple[Decoder, str]]) -> None:
        self._ds = [d for d, _ in decoders]
        self.encoding = ", ".join(label for _, label in decoders)

    def feed(self, data: bytes, limit: int = 1 << 62) -> bytes:
        """The decoded bytes for ``data``: all of them, or (past ``limit``) at least
        ``limit + 1``, the rest left undecoded, so that a cap of ``limit`` is refused early."""
        return self._feed(0, data, limit)

    def _feed(self, i: int, data: bytes, limit: int) -> bytes:
        if i == len(self._ds):
            return data
        d = self._ds[i]
        out = b""
        while data or d.more:
            piece = d.feed(data, min(_STEP, limit + 1 - len(out)) if i == len(self._ds) - 1
                           else _STEP)
            data = b""
            out += self._feed(i + 1, piece, limit - len(out)) if piece else b""
            if len(out) > limit:
                break
        return out

    def flush(self) -> bytes:
        out = b""
        for d in self._ds:
            # what the previous stage still held goes through this one before it flushes
            out = (d.feed(out, 1 << 62) if out else b"") + d.flush()
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
    te = _codings(transfer_encoding)
    if "chunked" in te[:-1]:  # RFC 9112 6.1 and 7: chunked only once, and last
        raise ValueError(
            f"a body with Transfer-Encoding {transfer_encoding!r}, where chunked is not the "
            "last coding or comes twice (HTTP/1.1 allows neither)"
        )
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
