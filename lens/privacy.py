"""Deprecated: ``lens.privacy`` moved to ``lens.redact.pii``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.redact.pii import *  # noqa: F403
from lens.redact.pii import __dict__ as _moved

_warnings.warn(
    "lens.privacy moved to lens.redact.pii; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
