"""User data made safe to print on a terminal (#17 item 11).

Run names, targets, tags, file names and cell values come from stored, imported or shared
data. Printed raw, an imported run named ``"\x1b]0;title\x07"`` or ``"\x1b[2J"`` set the
window title or cleared the screen when ``lens runs`` listed it. Every user string the CLI
shows passes through :func:`clean` (``lens.cli.render.esc``/``plain`` do it for rich
output, :func:`say` for plain lines, the CLI's error printer for messages).
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

__all__ = ["clean", "say"]

# ESC sequences go whole (CSI, OSC, DCS/SOS/PM/APC strings, two-character escapes), then
# every other C0/C1 control and the bidirectional overrides/isolates/marks, which can
# make text read in another order than it is stored.
_ESC_SEQ = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?|[ -~]?)"
)
_C1_STRING = re.compile(r"[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x9b[0-?]*[ -/]*[@-~]?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def clean(value: object, *, newlines: bool = False) -> str:
    """User data with every terminal control removed: ESC sequences, C0/C1 controls and
    bidi controls. Tabs and line breaks become spaces unless ``newlines`` (then a newline is
    kept, for multi-line messages)."""
    text = str(value)
    if text.isprintable():  # the common case: nothing to do
        return text
    text = _C1_STRING.sub("", _ESC_SEQ.sub("", text))
    if newlines:
        text = text.replace("\r\n", "\n").replace("\t", " ")
        text = re.sub("[\r\u2028\u2029]", "\n", text)
        return "\n".join(_CONTROL.sub("", line) for line in text.split("\n"))
    return _CONTROL.sub("", _BREAKS.sub(" ", text))


def say(text: object, file: TextIO | None = None) -> None:
    """``print`` for text holding user data: terminal controls removed, lines kept."""
    print(clean(text, newlines=True), file=file if file is not None else sys.stdout)


