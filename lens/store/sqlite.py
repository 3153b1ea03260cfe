"""Deprecated: ``lens.store.sqlite`` moved to ``lens.store.sql``; this alias goes in lens 0.3."""

import importlib as _importlib
import warnings as _warnings

_warnings.warn("lens.store.sqlite moved to lens.store.sql; import it from there", DeprecationWarning, stacklevel=2)
globals().update(
    {k: v for k, v in vars(_importlib.import_module("lens.store.sql")).items() if not k.startswith("__")}
)
# lens.store.sqlite exported these too before they moved to lens.record.
from lens.record import run_info_dict, run_info_from_dict  # noqa: E402,F401
