"""Open files for a burst's connections: every stream holds a socket.

A process may open ``RLIMIT_NOFILE`` files (``ulimit -n``): 1024 by default on Linux, 256
on macOS. Past it, ``connect()`` fails with "too many open files" -- the client's own limit,
which would be recorded as ``network`` failures of the provider. Before a burst,
:func:`ensure_open_files` raises the soft limit toward the hard one (as Go's runtime does
at start-up) and, when even the hard limit is too low, refuses the burst up front.
"""

from __future__ import annotations

import os

from lens.errors import ProbeError

__all__ = ["ensure_open_files"]

_SPARE = 32  # files beside the connections: the store, pipes, the tokenizer, the sim


def _open_now() -> int:
    for d in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(d))
        except OSError:
            continue
    return 64


def ensure_open_files(connections: int) -> None:
    """Make room for ``connections`` sockets more than are open now (no-op where the OS has
    no such limit); raise ProbeError when the hard limit cannot hold them."""
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE
        return
    need = _open_now() + connections + _SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    target = need if hard == resource.RLIM_INFINITY else min(hard, max(need, soft))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < need:
        raise ProbeError(
            f"this burst holds up to {connections} connections at once, but the process may "
            f"open only {target} files (ulimit -n; the hard limit is {hard})",
            hint=f"raise the limit (ulimit -n {need}) or fire fewer streams per process "
                 "(lower --concurrency, or --workers N)",
        )
