"""Test helpers for the SSE framer and the dialects: fixture loading, byte-split feeding,
delta summaries, and an AWS event-stream frame encoder (independent of botocore, so the
botocore decoder is checked against the format itself)."""

from __future__ import annotations

import binascii
import json
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lens.probe.dialects.base import Dialect, Framer, RawEvent
from lens.record import Delta, Usage

STREAMS = Path(__file__).parent / "data" / "streams"
SPLITS = ("whole", "bytes", "random")


def read_stream(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


def chunks_of(data: bytes, mode: str, seed: int = 0) -> list[bytes]:
    """Split ``data`` whole, one byte at a time, or at seeded random points (1..64 bytes)."""
    if mode == "whole":
        return [data]
    if mode == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 64)
        out.append(data[i : i + n])
        i += n
    return out


def frame_all(framer: Framer, pieces: list[bytes]) -> list[RawEvent]:
    events: list[RawEvent] = []
    for p in pieces:
        events.extend(framer.feed(p))
    events.extend(framer.close())
    return events


@dataclass
class Summary:
    kinds: list[str] = field(default_factory=list)
    text: str = ""
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    errors: list[tuple[str | None, str | None]] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    done: bool = False


def summarize(deltas: list[Delta]) -> Summary:
    s = Summary()
    for d in deltas:
        s.kinds.append(d.kind)
        if d.kind == "text":
            s.text += d.text
            assert d.text, "a text delta must carry non-empty text"
        elif d.kind == "reasoning":
            s.reasoning += d.text
            assert d.text, "a reasoning delta must carry non-empty text"
        elif d.kind == "usage":
            assert d.usage is not None
            s.usage = s.usage.merge(d.usage)
        elif d.kind == "error":
            s.errors.append((d.error_status, d.error))
        elif d.kind == "done":
            s.done = True
        if d.finish_reason:
            s.finish_reasons.append(d.finish_reason)
    return s


def run_stream(
    dialect: Dialect, data: bytes, mode: str, seed: int = 0
) -> tuple[list[RawEvent], Summary]:
    events = frame_all(dialect.new_framer(), chunks_of(data, mode, seed))
    deltas: list[Delta] = []
    for ev in events:
        deltas.extend(dialect.parse(ev))
    return events, summarize(deltas)


# --- AWS event-stream encoder (vnd.amazon.eventstream) -------------------------------


def _header(name: str, value: Any) -> bytes:
    n = name.encode()
    if isinstance(value, bool):
        return struct.pack("B", len(n)) + n + struct.pack("B", 0 if value else 1)
    if isinstance(value, int):
        return struct.pack("B", len(n)) + n + b"\x04" + struct.pack(">i", value)
    if isinstance(value, bytes):
        return struct.pack("B", len(n)) + n + b"\x06" + struct.pack(">H", len(value)) + value
    v = str(value).encode()
    return struct.pack("B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def encode_frame(headers: dict[str, Any], payload: bytes) -> bytes:
    """One event-stream message: prelude (total length, headers length, prelude CRC32),
    headers, payload, message CRC32."""
    hbytes = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(hbytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hbytes))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + hbytes + payload
    return body + struct.pack(">I", binascii.crc32(body) & 0xFFFFFFFF)


def bedrock_stream(name: str) -> bytes:
    """Encode a bedrock fixture (JSON list of {headers, payload}) into wire bytes."""
    spec = json.loads((STREAMS / name).read_text(encoding="utf-8"))
    return b"".join(
        encode_frame(f["headers"], json.dumps(f["payload"], ensure_ascii=False).encode())
        for f in spec["frames"]
    )
