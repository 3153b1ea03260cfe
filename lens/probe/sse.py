"""Incremental Server-Sent Events parser (WHATWG HTML "event stream interpretation").

``SSEParser.feed(bytes)`` accepts any split of the byte stream (one byte at a time, many
events per read, a CR at the end of one read and its LF at the start of the next, a UTF-8
character split across reads) and returns the events completed by those bytes. The engine
timestamps each returned event as framed, so this is the hot path: work is done per line
with ``bytes.split`` / ``str.split`` on buffered data, never per byte in Python.

Deviations from the spec, on purpose:
- ``close()`` dispatches a final event that lacks its terminating blank line (the spec
  discards it). Some servers close the connection right after the last ``data:`` line;
  dropping that event would hide a terminal ``[DONE]`` and mislabel the stream truncated.
- ``RawEvent.event`` is None (not ``"message"``) when no ``event:`` field was given, so
  dialects can tell a named event from a default one.
"""

from __future__ import annotations

from lens.probe.dialects.base import RawEvent

_BOM = b"\xef\xbb\xbf"


class SSEParser:
    """Framer for ``text/event-stream`` bodies.

    Counters: ``comments`` (comment lines such as ``: keep-alive``; never exposed as
    events), ``events`` (events dispatched). ``retry_ms`` holds the last valid ``retry:``
    value and ``last_event_id`` the last ``id:`` (it persists across events, per spec).
    """

    __slots__ = (
        "_data",
        "_event",
        "_pending",
        "_skip_lf",
        "_started",
        "comments",
        "events",
        "last_event_id",
        "retry_ms",
    )

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # bytes of an unfinished line (no CR/LF inside)
        self._skip_lf = False  # the previous read ended in CR: drop a leading LF
        self._started = False  # BOM check done
        self._data: list[str] = []
        self._event: str | None = None
        self.comments = 0
        self.events = 0
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, data: bytes) -> list[RawEvent]:
        """Consume bytes (any split) and return the events completed by them."""
        if not data:
            return []
        if (
            self._started
            and not self._pending
            and not self._skip_lf
            and not self._data
            and data.startswith(b"data: ")
            and data.endswith(b"\n\n")
            and data.count(b"\n") == 2
            and b"\r" not in data
        ):
            # The common read: exactly one "data: ..." event, whole (same result as below).
            self.events += 1
            self._event = None
            return [RawEvent(data[6:-2].decode("utf-8", "replace"), None, self.last_event_id)]
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return []
        has_cr = b"\r" in data
        if not has_cr and b"\n" not in data:
            # No line ends: buffer (cheap, keeps one-byte-at-a-time feeding linear).
            self._pending.append(data)
            if not self._started:
                self._check_bom()
            return []
        if self._pending:
            self._pending.append(data)
            buf = b"".join(self._pending)
            self._pending.clear()
        else:
            buf = data
        if not self._started:
            self._started = True
            if buf.startswith(_BOM):
                buf = buf[3:]
        if has_cr:
            if buf[-1] == 0x0D:
                # The line ends here either way; an LF opening the next read belongs to it.
                self._skip_lf = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buf.rfind(b"\n")
        if cut + 1 < len(buf):
            self._pending.append(buf[cut + 1 :])
        # Lines end at ASCII bytes, so a multibyte character never straddles the cut.
        return self._lines(buf[:cut].decode("utf-8", "replace").split("\n"))

    def close(self) -> list[RawEvent]:
        """End of stream: dispatch an event left without its terminating blank line."""
        lines: list[str] = []
        if self._pending:
            buf = b"".join(self._pending)
            self._pending.clear()
            if not self._started and buf.startswith(_BOM):
                buf = buf[3:]
            if buf:
                lines.append(buf.decode("utf-8", "replace"))
        self._started = True
        lines.append("")
        return self._lines(lines)

    def _check_bom(self) -> None:
        head = b"".join(self._pending[:3])[:3]
        if len(head) >= 3 or not _BOM.startswith(head):
            self._started = True
            if head == _BOM:
                buf = b"".join(self._pending)[3:]
                self._pending = [buf] if buf else []

    def _lines(self, lines: list[str]) -> list[RawEvent]:
        out: list[RawEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    out.append(RawEvent("\n".join(data), self._event, self.last_event_id))
                    data.clear()
                self._event = None
                continue
            if line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value[:1] == " " else value)
                continue
            if line[0] == ":":
                self.comments += 1
                continue
            colon = line.find(":")
            if colon < 0:
                name, value = line, ""
            else:
                name, value = line[:colon], line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            if name == "event":
                self._event = value or None
            elif name == "data":
                data.append(value)
            elif name == "id":
                if "\0" not in value:
                    self.last_event_id = value
            elif name == "retry":
                if value.isascii() and value.isdigit():
                    self.retry_ms = int(value)
            # Any other field name is ignored, per spec.
        self.events += len(out)
        return out
