"""Deprecated: ``lens.prompts`` moved to ``lens.workload.prompts``; this alias goes in lens 0.3."""

import warnings as _warnings

from lens.workload.prompts import *  # noqa: F403
from lens.workload.prompts import __dict__ as _moved

_warnings.warn(
    "lens.prompts moved to lens.workload.prompts; import it from there", DeprecationWarning, stacklevel=2
)
globals().update({k: v for k, v in _moved.items() if not k.startswith("__")})
