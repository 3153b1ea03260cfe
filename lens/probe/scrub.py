"""Deprecated: ``lens.probe.scrub`` moved to ``lens.redact.secrets``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.redact.secrets import *  # noqa: F403
from lens.redact.secrets import __dict__ as _moved

_warnings.warn(
    "lens.probe.scrub moved to lens.redact.secrets; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
