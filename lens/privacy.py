"""Deprecated: ``lens.privacy`` moved to ``lens.redact.pii``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.privacy moved to lens.redact.pii; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.redact.pii")).items() if not k.startswith("__")}
)
