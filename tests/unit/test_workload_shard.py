"""Shards of a burst fire exactly the burst: no more streams, requests or arrivals."""

from __future__ import annotations

import pytest

from lens.spec import spec_from_dict
from lens.workload.loadshape import planned_requests, stages
from lens.workload.shard import proportional, shard_specs, split

T = {"provider": "openai_compat", "base_url": "http://127.0.0.1:9/v1", "model": "m"}


def _spec(load: dict) -> object:
    return spec_from_dict({"targets": [T], "load": load}, source="test")


@pytest.mark.parametrize("kind", ["rate", "poisson"])
@pytest.mark.parametrize("shards", [2, 3, 7])
def test_open_loop_shards_send_exactly_the_one_schedule(kind: str, shards: int) -> None:
    spec = _spec({"kind": kind, "rate": 50.0, "requests": 101, "seed": 11, "max_in_flight": 64})
    whole = list(stages(spec.load)[0].offsets())
    parts = shard_specs(spec, shards)
    union = sorted(t for p in parts for t in stages(p.load)[0].offsets())
    assert union == whole  # the same arrival times, none twice, none lost
    assert sum(stages(p.load)[0].level for p in parts) == 64  # max_in_flight divided


@pytest.mark.parametrize("shards", [2, 3, 5])
def test_closed_loop_shards_divide_streams_and_requests(shards: int) -> None:
    spec = _spec({"kind": "concurrency", "concurrency": 10, "requests": 103})
    parts = shard_specs(spec, shards)
    st = [stages(p.load)[0] for p in parts]
    assert sum(s.level for s in st) == 10 and sum(s.requests or 0 for s in st) == 103
    assert sum(planned_requests(p.load) or 0 for p in parts) == 103


def test_sweep_levels_are_divided_level_by_level() -> None:
    spec = _spec({"kind": "sweep", "levels": [1, 4, 9], "requests": 30})
    parts = shard_specs(spec, 3)
    per_level = list(zip(*[[(s.level, s.requests) for s in stages(p.load)] for p in parts], strict=True))
    for level, stage_parts in zip([1, 4, 9], per_level, strict=True):
        busy = [(lv, n) for lv, n in stage_parts if n]
        assert sum(lv for lv, _ in busy) == level and sum(n for _, n in busy) == 30


def test_more_shards_than_streams_leaves_the_idle_ones_out() -> None:
    assert len(shard_specs(_spec({"concurrency": 2, "requests": 7}), 5)) == 2
    assert shard_specs(_spec({"concurrency": 2, "requests": 7}), 1)[0].load.shard_count == 1


def test_split_helpers() -> None:
    assert split(10, 3) == [4, 3, 3] and split(2, 3) == [1, 1, 0]
    assert proportional(103, [4, 3, 3]) == [41, 31, 31] and sum(proportional(7, [1, 1, 1])) == 7
    with pytest.raises(ValueError):
        shard_specs(_spec({"concurrency": 2}), 0)
