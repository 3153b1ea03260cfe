"""The incremental SSE framer: WHATWG event-stream rules under every byte split."""

from __future__ import annotations

import random

import pytest

from lens.probe.dialects.base import RawEvent
from lens.probe.sse import SSEParser


def frame(pieces: list[bytes], *, close: bool = True) -> tuple[list[RawEvent], SSEParser]:
    p = SSEParser()
    out: list[RawEvent] = []
    for piece in pieces:
        out.extend(p.feed(piece))
    if close:
        out.extend(p.close())
    return out, p


def one_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 17)
        out.append(data[i : i + n])
        i += n
    return out


def as_tuples(events: list[RawEvent]) -> list[tuple[str | None, str, str | None]]:
    return [(e.event, e.data, e.id) for e in events]


COMPLEX = (
    "\ufeff: stream opened\n"
    "retry: 2500\n"
    "event: greeting\n"
    "id: 1\n"
    "data: hello\n"
    "data:world\n"
    "data:  two spaces\n"
    "\n"
    ": keep-alive\n"
    "\n"
    'data: {"x": "ünï👋"}\n'
    "\n"
    "unknown: field\n"
    "data\n"
    "\n"
    "event: only-event-no-data\n"
    "\n"
    "id: 2\n"
    "event: last\n"
    "data: [DONE]\n"
    "\n"
).encode("utf-8")

EXPECTED = [
    ("greeting", "hello\nworld\n two spaces", "1"),
    (None, '{"x": "ünï👋"}', "1"),
    (None, "", "1"),
    ("last", "[DONE]", "2"),
]


def _endings(data: bytes, style: str) -> bytes:
    if style == "lf":
        return data
    if style == "crlf":
        return data.replace(b"\n", b"\r\n")
    if style == "cr":
        return data.replace(b"\n", b"\r")
    # mixed: cycle through the three terminators line by line
    lines = data.split(b"\n")
    seps = [b"\r\n", b"\n", b"\r"]
    return b"".join(line + seps[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1]


@pytest.mark.parametrize("style", ["lf", "crlf", "cr", "mixed"])
@pytest.mark.parametrize("split", ["whole", "bytes", "random"])
def test_complex_stream_under_every_split_and_line_ending(style: str, split: str) -> None:
    data = _endings(COMPLEX, style)
    if split == "whole":
        pieces = [data]
    elif split == "bytes":
        pieces = one_byte(data)
    else:
        pieces = random_split(data, seed=hash(style) & 0xFFFF)
    events, p = frame(pieces)
    assert as_tuples(events) == EXPECTED
    assert p.comments == 2
    assert p.retry_ms == 2500
    assert p.last_event_id == "2"
    assert p.events == 4


@pytest.mark.parametrize("seed", range(20))
def test_random_splits_equal_whole(seed: int) -> None:
    data = _endings(COMPLEX, ["lf", "crlf", "cr", "mixed"][seed % 4])
    whole, _ = frame([data])
    split, _ = frame(random_split(data, seed))
    assert as_tuples(split) == as_tuples(whole) == EXPECTED


def test_event_is_returned_by_the_read_that_completes_it() -> None:
    p = SSEParser()
    assert p.feed(b"data: x\n") == []
    assert as_tuples(p.feed(b"\n")) == [(None, "x", None)]
    # CRLF: the event is complete at the CR of the blank line; do not wait for its LF.
    assert p.feed(b"data: y\r\n") == []
    assert as_tuples(p.feed(b"\r")) == [(None, "y", None)]
    assert p.feed(b"\n") == []  # the pending LF is swallowed, not a second blank line
    assert as_tuples(p.feed(b"data: z\n\n")) == [(None, "z", None)]


def test_cr_at_end_of_read_and_lf_at_start_of_next_is_one_terminator() -> None:
    # Were the LF taken as its own (blank) line, "a" would be dispatched alone.
    events, _ = frame([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"], close=False)
    assert as_tuples(events) == [(None, "a\nb", None)]


def test_lone_cr_followed_by_text_in_next_read() -> None:
    events, _ = frame([b"data: a\r", b"data: b\r\r"], close=False)
    assert as_tuples(events) == [(None, "a\nb", None)]


def test_many_events_in_one_read() -> None:
    data = b"".join(b"data: %d\n\n" % i for i in range(1000))
    p = SSEParser()
    events = p.feed(data)
    assert [e.data for e in events] == [str(i) for i in range(1000)]
    assert p.close() == []


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_utf8_multibyte_character_split_across_reads(cut: int) -> None:
    payload = "data: 👋é\n\n".encode()
    start = payload.index("👋".encode())
    pieces = [payload[: start + cut], payload[start + cut :]]
    events, _ = frame(pieces)
    assert as_tuples(events) == [(None, "👋é", None)]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    events, _ = frame([b"data: a\xffb\n\n"])
    assert as_tuples(events) == [(None, "a\ufffdb", None)]


@pytest.mark.parametrize("split", ["whole", "bytes"])
def test_bom_at_stream_start_is_stripped(split: str) -> None:
    data = b"\xef\xbb\xbfdata: x\n\n"
    events, _ = frame([data] if split == "whole" else one_byte(data))
    assert as_tuples(events) == [(None, "x", None)]


def test_bom_only_at_stream_start() -> None:
    # A BOM later on is part of the field name ("\ufeffdata"), an unknown field: ignored.
    events, _ = frame([b"data: 1\n\n\xef\xbb\xbfdata: 2\n\ndata: 3\n\n"])
    assert [e.data for e in events] == ["1", "3"]


def test_partial_bom_prefix_that_is_not_a_bom() -> None:
    events, _ = frame([b"\xef", b"data: x\n\n"])
    # \xef is not followed by the rest of a BOM: it stays (and makes an unknown field).
    assert events == []
    events, _ = frame([b"\xef\xbb", b"\xbfdata: y\n\n"])
    assert as_tuples(events) == [(None, "y", None)]


def test_comments_are_counted_never_exposed() -> None:
    events, p = frame([b": keep-alive\n\n:\n\n: OPENROUTER PROCESSING\r\n\r\n"])
    assert events == []
    assert p.comments == 3


def test_event_without_data_is_not_dispatched_and_type_resets() -> None:
    events, _ = frame([b"event: a\n\ndata: x\n\n"])
    assert as_tuples(events) == [(None, "x", None)]


def test_field_without_colon_and_empty_values() -> None:
    events, _ = frame([b"data\ndata\n\nevent\ndata:\n\n"])
    assert as_tuples(events) == [(None, "\n", None), (None, "", None)]


def test_id_persists_and_id_with_nul_is_ignored() -> None:
    events, p = frame([b"id: 7\ndata: a\n\ndata: b\n\nid: bad\x00id\ndata: c\n\nid\ndata: d\n\n"])
    assert [(e.data, e.id) for e in events] == [("a", "7"), ("b", "7"), ("c", "7"), ("d", "")]
    assert p.last_event_id == ""


def test_retry_must_be_digits() -> None:
    _, p = frame([b"retry: 100\nretry: 1e3\nretry: -5\n\n"])
    assert p.retry_ms == 100


def test_close_flushes_final_event_without_blank_line() -> None:
    p = SSEParser()
    assert p.feed(b"data: a\n\ndata: [DONE]") == [RawEvent("a", None, None)]
    assert as_tuples(p.close()) == [(None, "[DONE]", None)]
    p = SSEParser()
    assert p.feed(b"event: e\ndata: last\n") == []
    assert as_tuples(p.close()) == [("e", "last", None)]


def test_close_on_clean_end_returns_nothing() -> None:
    p = SSEParser()
    p.feed(b"data: a\n\n")
    assert p.close() == []
    assert SSEParser().close() == []
    assert SSEParser().feed(b"") == []


def test_long_line_fed_byte_by_byte_is_linear() -> None:
    # 200 KB in one data line, one byte per read: must not be quadratic (would take minutes).
    body = b"x" * 200_000
    p = SSEParser()
    for i in range(len(body)):
        p.feed(body[i : i + 1])
    events = p.feed(b"\n\n")
    assert len(events) == 0  # "xxx..." is a field name without colon: ignored
    p = SSEParser()
    p.feed(b"data: ")
    for i in range(len(body)):
        p.feed(body[i : i + 1])
    (ev,) = p.feed(b"\n\n")
    assert len(ev.data) == len(body)
