"""Deprecated: ``lens.probe.scrub`` moved to ``lens.redact.secrets``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.probe.scrub moved to lens.redact.secrets; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.redact.secrets")).items() if not k.startswith("__")}
)
