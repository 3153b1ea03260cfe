"""Capacity search: fire one run per load level through ``lens.burst.run`` until
lens.analysis.capacity has its answer.

    result = search_capacity(spec, slo=["ttft_ms<=500"], store=store)
    result.answer, result.explain(), result.chart()

Every level is a run of its own in ``store`` (tags ``capacity_search`` = the search id and
``capacity_level``), so each can be shown, reported and compared like any other run. The
spec's ``load`` is replaced per level: concurrency levels fire a closed loop of
``max(requests, rounds x level)`` requests after a warm-up wave of ``level`` requests
(``search.warmup_wave``; at least the spec's ``warmup``); rate levels fire open-loop
arrivals (``search.arrival``) of ``max(requests, ceil(min_duration_s x rate))`` requests
after the spec's warm-up.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from lens.analysis.capacity import CapacityResult, LevelResult, Search, measure_level
from lens.burst.executor import Executor, LocalExecutor
from lens.burst.run import run
from lens.burst.stop import StopSignal
from lens.errors import ConfigError
from lens.record import new_run_id
from lens.record.frames import records_to_frame
from lens.spec import BurstSpec, SearchSpec, SLOSpec, spec_from_dict
from lens.spec.slo import ObjectivesLike, as_objectives, objectives_mapping

__all__ = ["level_spec", "search_capacity"]
DEFAULT_REQUESTS = 40


def _pick_target(spec: BurstSpec, target: str | None, source: str) -> BurstSpec:
    if target is None:
        if len(spec.targets) != 1:
            raise ConfigError(
                f"a capacity search measures one target; the spec has {len(spec.targets)} "
                f"({', '.join(t.label for t in spec.targets)})", source=source, field="targets",
                hint="name one with target= (lens capacity --target NAME)")
        return spec
    chosen = [t for t in spec.targets if t.label == target]
    if not chosen:
        raise ConfigError(f"no target named {target!r}", source=source, field="targets",
                          hint=f"targets: {', '.join(t.label for t in spec.targets)}")
    return spec.model_copy(update={"targets": chosen})


def level_requests(spec: BurstSpec, search: SearchSpec, level: float) -> int:
    """Requests fired at ``level`` (measured; warm-up comes on top)."""
    base = search.requests or spec.load.requests or DEFAULT_REQUESTS
    if search.mode == "concurrency":
        return max(base, search.rounds * int(level))
    return max(base, math.ceil(search.min_duration_s * level))


def level_spec(spec: BurstSpec, search: SearchSpec, level: float, search_id: str) -> BurstSpec:
    """``spec`` with its load set to ``level`` and the search's tags."""
    data = spec.model_dump(exclude_none=True)
    n = level_requests(spec, search, level)
    if search.mode == "concurrency":
        data["load"] = {"kind": "concurrency", "concurrency": int(level), "requests": n,
                        "seed": spec.load.seed}
    else:
        data["load"] = {"kind": "poisson" if search.arrival == "poisson" else "rate",
                        "rate": level, "requests": n, "seed": spec.load.seed,
                        "max_in_flight": spec.load.max_in_flight}
    if search.mode == "concurrency" and search.warmup_wave:
        data["warmup"] = max(spec.warmup, int(level))
    data["tags"] = {**spec.tags, "capacity_search": search_id, "capacity_level": f"{level:g}"}
    return spec_from_dict(data, source="capacity level")


def search_capacity(
    spec: BurstSpec | Mapping[str, Any],
    *,
    slo: ObjectivesLike = None,
    search: SearchSpec | Mapping[str, Any] | None = None,
    store: Any = None,
    target: str | None = None,
    executor: Callable[[], Executor] | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
    stop: StopSignal | None = None,
    search_id: str | None = None,
    source: str = "lens.capacity(spec)",
) -> CapacityResult:
    """Search for the highest level whose SLO attainment meets ``search.attainment``.

    ``slo`` defaults to the spec's ``slo:`` block and ``search`` to its ``search:`` block
    (else SearchSpec()'s defaults). ``executor`` makes the Executor for each level
    (default: the local engine). ``on_level`` is told each level's result as it lands;
    ``stop`` ends the search: the level in flight sends no more requests, finishes those
    in flight and is kept (phase ``stopped``), but decides nothing; the answer is the
    highest level that passed before.
    """
    spec = spec if isinstance(spec, BurstSpec) else spec_from_dict(spec, source=source)
    objectives = as_objectives(slo, source="slo") or as_objectives(spec.slo)
    if not objectives:
        raise ConfigError("a capacity search needs SLOs", source=source, field="slo",
                          hint="give slo=['ttft_ms<=500'] (lens capacity --slo ttft_ms<=500) "
                               "or an slo: block in the spec")
    if search is None:
        plan = spec.search or SearchSpec()
    elif isinstance(search, SearchSpec):
        plan = search
    else:
        plan = _validate_search(search, source)
    spec = _pick_target(spec, target, source)
    # The SLOs and plan go into every level's stored spec: `lens show` finds them there.
    spec = spec.model_copy(update={
        "slo": SLOSpec.model_validate(objectives_mapping(objectives)), "search": plan})
    stop = stop or StopSignal()
    search_id = search_id or f"cap-{new_run_id()}"
    state = Search(plan, target=plan.attainment)
    t0 = time.monotonic()
    while (level := state.next_level()) is not None:
        # A full collection now, with nothing in flight, so that the collector's
        # stop-the-world pause (~150 ms in a notebook kernel holding ~300k objects) is not
        # taken inside a level: it stalls every stream at once, and an in-process simulator.
        gc.collect()
        run_id = f"{search_id}-{level:g}" + ("-confirm" if state.confirming else "")
        outcome = run(level_spec(spec, plan, level, search_id), store=store, run_id=run_id,
                      executor=executor() if executor else LocalExecutor(), stop=stop,
                      run_extra={"capacity_search": search_id})
        rows = records_to_frame(outcome.records)
        result = measure_level(rows, level, objectives, plan.attainment, run_id=run_id)
        if stop.stopped:  # the level was cut short: kept as evidence, judged on nothing
            state.stop(result)
        else:
            state.record(result)
        if on_level is not None:
            on_level(result)
        if stop.stopped:
            break
    return CapacityResult(
        mode=plan.mode, target=plan.attainment, objectives=[str(o) for o in objectives],
        results=state.results, answer=state.answer, stop_reason=state.stop_reason or "stopped",
        search_id=search_id, target_name=spec.targets[0].label, wall_s=time.monotonic() - t0)


def _validate_search(data: Mapping[str, Any], source: str) -> SearchSpec:
    from pydantic import ValidationError

    try:
        return SearchSpec.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in ("search", *err["loc"]))
        raise ConfigError(err["msg"].removeprefix("Value error, "), source=source, field=loc,
                          hint="see docs/spec.md#search") from None
