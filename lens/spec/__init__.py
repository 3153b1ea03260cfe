"""Burst specs: what to fire, at what, how hard (was ``lens.spec``).

pydantic at the edge, ``extra="forbid"``: a BurstSpec comes from YAML/TOML files, CLI flags,
Python, a widget or a Lambda event, and all of them are validated the same way.
"""

from lens.spec.loading import load_spec, read_mapping, spec_from_dict
from lens.spec.models import (
    BurstSpec,
    CancelSpec,
    Caps,
    LoadShape,
    PromptSpec,
    SessionSpec,
    TargetSpec,
    Timeouts,
    TraceSource,
)
from lens.spec.providers import (
    DIALECT_REGISTRY,
    DIALECTS,
    PRICE_PROVIDER_IDS,
    PROVIDERS,
    DialectInfo,
    ProviderInfo,
)
from lens.spec.search import SaturationSpec, SearchSpec
from lens.spec.slo import Objective, SLOSpec, as_objectives, parse_objective

__all__ = [
    "DIALECTS",
    "DIALECT_REGISTRY",
    "PRICE_PROVIDER_IDS",
    "PROVIDERS",
    "BurstSpec",
    "CancelSpec",
    "Caps",
    "DialectInfo",
    "LoadShape",
    "Objective",
    "PromptSpec",
    "ProviderInfo",
    "SLOSpec",
    "SaturationSpec",
    "SearchSpec",
    "SessionSpec",
    "TargetSpec",
    "Timeouts",
    "TraceSource",
    "as_objectives",
    "load_spec",
    "parse_objective",
    "read_mapping",
    "spec_from_dict",
]
