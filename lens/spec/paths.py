"""Why a path a spec or flag names is not a file lens can read: missing, a folder, a device.

``Path.is_file()`` is false for a folder and for ``/dev/zero`` alike, and the messages
built on it said "not found" for both; :func:`not_a_file` says which, so the user fixes
the right thing (a PEM file instead of ``/etc``, a prompt file instead of a device).
"""

from __future__ import annotations

import os
import stat

__all__ = ["not_a_file"]


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` is a regular file (symlinks followed); else why not, as words
    that follow its name: ``does not exist``, ``is a directory, not a file``, ``is not a
    regular file (a device, pipe or socket)``."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "does not exist"
    except (OSError, ValueError):
        return None  # unreadable for another reason: opening it says why, with its words
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a device, pipe or socket)"
    return None
