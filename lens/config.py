"""Deprecated: ``lens.config`` moved to ``lens.spec``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.spec import *  # noqa: F403
from lens.spec import __dict__ as _moved

_warnings.warn(
    "lens.config moved to lens.spec; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
