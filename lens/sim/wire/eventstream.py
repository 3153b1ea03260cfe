"""AWS event-stream binary message encoder (application/vnd.amazon.eventstream).

Message layout (all integers big-endian):
  total_length u32 | headers_length u32 | prelude_crc u32 (CRC32 of the first 8 bytes)
  | headers | payload | message_crc u32 (CRC32 of everything before it).
Header: name_length u8 | name | type u8 (7 = string) | value_length u16 | value.
Decodable by botocore.eventstream.EventStreamBuffer.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

_STRING = 7
_PRELUDE = struct.Struct(">II")
_U32 = struct.Struct(">I")


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """Encode string headers once; reuse the bytes for every message of that type."""
    out = bytearray()
    for name, value in headers.items():
        nb = name.encode()
        vb = value.encode()
        if len(nb) > 255 or len(vb) > 0xFFFF:
            raise ValueError(f"event-stream header {name!r} too long")
        out += bytes((len(nb),)) + nb + bytes((_STRING,)) + struct.pack(">H", len(vb)) + vb
    return bytes(out)


def encode_message(encoded_headers: bytes, payload: bytes) -> bytes:
    """One complete event-stream message from pre-encoded headers and a payload."""
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(encoded_headers))
    head = prelude + _U32.pack(zlib.crc32(prelude)) + encoded_headers + payload
    return head + _U32.pack(zlib.crc32(head))


def event_headers(event_type: str) -> bytes:
    return encode_headers({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"})


def exception_headers(exception_type: str) -> bytes:
    return encode_headers({":exception-type": exception_type, ":content-type": "application/json",
                           ":message-type": "exception"})
