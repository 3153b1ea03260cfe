"""Deprecated: ``lens.prompts`` moved to ``lens.workload.prompts``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.prompts moved to lens.workload.prompts; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.workload.prompts")).items() if not k.startswith("__")}
)
