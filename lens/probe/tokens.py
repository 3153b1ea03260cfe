"""Deprecated: ``lens.probe.tokens`` moved to ``lens.workload.tokens``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.workload.tokens import *  # noqa: F403
from lens.workload.tokens import __dict__ as _moved

_warnings.warn(
    "lens.probe.tokens moved to lens.workload.tokens; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
