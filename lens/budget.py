"""Deprecated: ``lens.budget`` moved to ``lens.burst.budget``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.budget moved to lens.burst.budget; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.burst.budget")).items() if not k.startswith("__")}
)
