"""Deprecated: ``lens.config`` moved to ``lens.spec``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.config moved to lens.spec; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.spec")).items() if not k.startswith("__")}
)
