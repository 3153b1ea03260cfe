"""Deprecated: ``lens.probe.tokens`` moved to ``lens.workload.tokens``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.probe.tokens moved to lens.workload.tokens; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.workload.tokens")).items() if not k.startswith("__")}
)
