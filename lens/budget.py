"""Deprecated: ``lens.budget`` moved to ``lens.burst.budget``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.burst.budget import *  # noqa: F403
from lens.burst.budget import __dict__ as _moved

_warnings.warn(
    "lens.budget moved to lens.burst.budget; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
