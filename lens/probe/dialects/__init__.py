"""Wire-format dialects and their registry.

``get_dialect(name, **kwargs)`` returns a Dialect for one of ``lens.spec.DIALECTS``.
Dialects are stateless per stream (per-stream state lives in the framer), so one instance
can serve every concurrent request of a target. ``bedrock`` is imported lazily so that
``import lens.probe`` never imports botocore; its kwargs are ``credentials=``,
``session=`` and ``region=`` (see lens.probe.dialects.bedrock.BedrockDialect).
"""

from __future__ import annotations

import importlib
from typing import Any

from lens.errors import ConfigError
from lens.probe.dialects.base import Dialect, Framer, HttpRequest, RawEvent
from lens.spec.providers import DIALECT_REGISTRY

__all__ = ["DIALECT_CLASSES", "Dialect", "Framer", "HttpRequest", "RawEvent", "get_dialect"]

# name -> (module, class), from the one registry (lens.spec.DIALECT_REGISTRY); modules are
# imported on first use.
DIALECT_CLASSES: dict[str, tuple[str, str]] = {
    name: (info.probe.partition(":")[0], info.probe.partition(":")[2])
    for name, info in DIALECT_REGISTRY.items()
}


def get_dialect(name: str, **kwargs: Any) -> Dialect:
    """Return a new dialect instance by name; ``kwargs`` go to its constructor
    (only bedrock takes any)."""
    try:
        module_name, cls_name = DIALECT_CLASSES[name]
    except KeyError:
        raise ConfigError(
            f"unknown dialect {name!r}",
            field="dialect",
            hint=f"use one of: {', '.join(DIALECT_CLASSES)}",
        ) from None
    cls = getattr(importlib.import_module(module_name), cls_name)
    if kwargs and name != "bedrock":
        raise ConfigError(
            f"dialect {name!r} takes no options (got {', '.join(sorted(kwargs))})",
            field="dialect",
            hint="options such as credentials=, session=, region= apply to bedrock only",
        )
    dialect: Dialect = cls(**kwargs)
    return dialect
