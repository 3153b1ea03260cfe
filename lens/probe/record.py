"""Deprecated: ``lens.probe.record`` moved to ``lens.record``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.record import *  # noqa: F403
from lens.record import __dict__ as _moved

_warnings.warn(
    "lens.probe.record moved to lens.record; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
