"""Load shapes: constant rate, Poisson (seeded), concurrency, sweep."""

from __future__ import annotations

import itertools
import statistics

import pytest

from lens.spec import LoadShape
from lens.workload.loadshape import arrival_offsets, planned_requests, stages


def test_constant_rate_offsets_are_exact() -> None:
    offs = list(arrival_offsets(4.0, requests=5))
    assert offs == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    # duration bounds it: arrivals strictly before 2 s
    assert len(list(arrival_offsets(10.0, duration_s=2.0))) == 20
    # both bounds: the first one reached wins
    assert len(list(arrival_offsets(10.0, requests=3, duration_s=2.0))) == 3


def test_poisson_mean_gap_and_exponential_shape() -> None:
    rate = 50.0
    offs = list(arrival_offsets(rate, poisson=True, seed=7, requests=5001))
    gaps = [b - a for a, b in itertools.pairwise(offs)]
    mean = statistics.fmean(gaps)
    # 5000 exponential gaps: std error of the mean is mean/sqrt(5000) ~ 1.4 %; allow 5 %.
    assert mean == pytest.approx(1 / rate, rel=0.05)
    # Exponential: the coefficient of variation is 1 (constant-rate would be 0).
    assert statistics.pstdev(gaps) / mean == pytest.approx(1.0, rel=0.1)
    assert all(g >= 0 for g in gaps)


def test_poisson_is_seeded() -> None:
    a = list(arrival_offsets(5.0, poisson=True, seed=1, requests=50))
    b = list(arrival_offsets(5.0, poisson=True, seed=1, requests=50))
    c = list(arrival_offsets(5.0, poisson=True, seed=2, requests=50))
    assert a == b and a != c


def test_stages_for_each_kind() -> None:
    (st,) = stages(LoadShape(kind="concurrency", concurrency=8, requests=40))
    assert st.closed and st.level == 8 and st.requests == 40

    (st,) = stages(LoadShape(kind="rate", rate=2.0, requests=6, max_in_flight=3))
    assert not st.closed and st.level == 3
    assert list(st.offsets()) == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5])

    (st,) = stages(LoadShape(kind="poisson", rate=2.0, requests=6, seed=3))
    assert list(st.offsets()) == list(arrival_offsets(2.0, poisson=True, seed=3, requests=6))

    sweep = stages(LoadShape(kind="sweep", levels=[1, 4, 16], requests=20))
    assert [(s.level, s.requests, s.closed) for s in sweep] == [
        (1, 20, True),
        (4, 20, True),
        (16, 20, True),
    ]


def test_planned_requests() -> None:
    assert planned_requests(LoadShape(kind="sweep", levels=[1, 2], requests=5)) == 10
    assert planned_requests(LoadShape(kind="rate", rate=10, requests=None, duration_s=1.5)) == 15
    assert planned_requests(LoadShape(kind="concurrency", requests=None, duration_s=3)) is None


def test_offsets_refused_for_closed_stage() -> None:
    (st,) = stages(LoadShape(kind="concurrency"))
    with pytest.raises(ValueError, match="open-loop"):
        st.offsets()
