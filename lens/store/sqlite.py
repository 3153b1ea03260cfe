"""Deprecated: ``lens.store.sqlite`` moved to ``lens.store.sql``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.store.sql import *  # noqa: F403
from lens.store.sql import __dict__ as _moved

_warnings.warn(
    "lens.store.sqlite moved to lens.store.sql; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
