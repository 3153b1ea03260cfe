"""One writer per provider wire format; WRITERS maps dialect -> writer class, keyed by the
one dialect registry (lens.spec.DIALECT_REGISTRY)."""

from __future__ import annotations

import importlib

from lens.sim.wire.base import Ev, ParsedRequest, UsageOut, WireWriter
from lens.spec.providers import DIALECT_REGISTRY


def _writer(path: str) -> type[WireWriter]:
    module, _, name = path.partition(":")
    cls: type[WireWriter] = getattr(importlib.import_module(module), name)
    return cls


WRITERS: dict[str, type[WireWriter]] = {
    name: _writer(info.sim) for name, info in DIALECT_REGISTRY.items()
}

__all__ = ["WRITERS", "Ev", "ParsedRequest", "UsageOut", "WireWriter"]
