"""Cold vs warm prompt cache: fire the same workload twice and compare.

1. **cold**: the spec with ``cache: bust``: every prompt starts with a per-request nonce,
   so no provider cache can serve any of it (prefill is paid in full);
2. **warm**: the spec as written (``cache: default``, or ``shared``), with enough warm-up
   requests to see every distinct prompt (or prefix of the ``prefix_pool``) once before
   the measured requests, so the cache holds them.

Both runs go to the same store (tagged ``cache_compare=cold|warm`` and one
``cache_compare_id``); the answer is lens.analysis.cache.cold_warm's table: the token hit
rate of each run beside TTFT percentiles cold vs warm with bootstrap CIs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lens.burst.run import RunOutcome, run
from lens.record.frames import records_to_frame
from lens.spec import BurstSpec, spec_from_dict

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CacheComparison", "cold_warm_specs", "compare_cache", "priming_requests"]


@dataclass
class CacheComparison:
    """The two runs and their comparison (lens.analysis.cache.cold_warm)."""

    cold: RunOutcome
    warm: RunOutcome
    table: pd.DataFrame

    @property
    def run_ids(self) -> tuple[str, str]:
        return self.cold.run_id, self.warm.run_id


def priming_requests(spec: BurstSpec) -> int:
    """Warm-up requests that show the cache every distinct prompt (or prefix) once."""
    ps = spec.prompts
    if spec.load.kind == "trace":
        return spec.warmup  # a trace's prefixes recur as it goes: it warms itself
    if ps.shared_prefix_ratio is not None:
        return ps.prefix_pool or 1
    if ps.synthetic_tokens:
        return 1
    from lens.workload.prompts import load_prompts

    return len(load_prompts(ps))


def cold_warm_specs(spec: BurstSpec) -> tuple[BurstSpec, BurstSpec]:
    """The cold (``cache: bust``) and warm (primed) versions of ``spec``, tagged as a pair."""
    pair = uuid.uuid4().hex[:12]
    cold = spec.model_copy(update={
        "cache": "bust", "name": f"{spec.name}-cold",
        "tags": {**spec.tags, "cache_compare": "cold", "cache_compare_id": pair},
    })  # fmt: skip
    warm = spec.model_copy(update={
        "cache": "default" if spec.cache == "bust" else spec.cache, "name": f"{spec.name}-warm",
        "warmup": max(spec.warmup, priming_requests(spec)),
        "tags": {**spec.tags, "cache_compare": "warm", "cache_compare_id": pair},
    })  # fmt: skip
    return cold, warm


def compare_cache(
    spec: BurstSpec | Mapping[str, Any],
    *,
    percentiles: tuple[float, ...] = (50, 95),
    seed: int = 0,
    **run_kwargs: Any,
) -> CacheComparison:
    """Fire ``spec`` cold then warm (see the module docstring) with lens.burst.run's
    keyword arguments (``store``, ``sinks``, ``executor``, ...) and compare TTFT."""
    from lens.analysis.cache import cold_warm

    if not isinstance(spec, BurstSpec):
        spec = spec_from_dict(spec, source=run_kwargs.get("source", "compare_cache(spec)"))
    cold_spec, warm_spec = cold_warm_specs(spec)
    run_kwargs.pop("run_id", None)  # two runs: each gets its own id
    cold = run(cold_spec, **run_kwargs)
    warm = run(warm_spec, **run_kwargs)
    table = cold_warm(
        records_to_frame(cold.records), records_to_frame(warm.records),
        percentiles=percentiles, seed=seed,
    )  # fmt: skip
    return CacheComparison(cold, warm, table)
