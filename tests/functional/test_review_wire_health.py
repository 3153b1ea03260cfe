"""Adversarial review of the saturation flag outside ``lens gate`` (issue #16): the library
gate that notebook 03 runs (``lens.load`` + ``lens.analysis.gate.evaluate``) must refuse a
saturated run as the CLI does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import lens
from lens.analysis import gate
from lens.analysis.health import client_health
from lens.burst.run import run
from lens.probe.lag import SATURATED_MS
from lens.sim.process import SimProcess
from lens.spec import spec_from_dict
from lens.store.sql import open_store

PROFILE = {"header_ms": 1.0, "ttft_ms": 30.0, "itl_ms": 20.0, "itl_jitter": 0.2, "output_tokens": 16}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess({"q": PROFILE}) as s:
        yield s


def _hog() -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(20_000))

    t = threading.Thread(target=spin, daemon=True)
    t.start()
    return stop, t


def test_the_library_gate_refuses_a_saturated_run_loaded_from_the_store(
    sim: SimProcess, tmp_path: Path
) -> None:
    spec: Any = spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": sim.base_url("openai_compat", "q"),
                     "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 16,
        "load": {"requests": 32, "concurrency": 16},
    }, source="test")  # fmt: skip
    db = tmp_path / "g.db"
    store = open_store(db)
    try:
        base_id = run(spec, store=store).run_id
        stop, hog = _hog()
        try:
            busy = run(spec, store=store)
        finally:
            stop.set()
            hog.join()
    finally:
        store.close()
    client = busy.result.client
    assert client is not None and client["lag_p99_ms"] > SATURATED_MS  # the probe saw it
    base = lens.load(db, runs=[base_id])
    cand = lens.load(db, runs=[busy.run_id])
    assert isinstance(cand, pd.DataFrame)
    cand = cand[cand["target"] == cand["target"].iloc[0]]  # notebook 03 filters by target
    result = gate.evaluate(base, cand, gate.load_thresholds(max_error_rate=0.05))
    assert result.exit_code == 2, gate.to_markdown(result, "base", "cand")
    assert result.refused is not None and "could not keep up" in result.refused


def test_rows_only_health_is_unchanged() -> None:
    frame = pd.DataFrame({"client_lag_ms": [60.0, 70.0, 80.0]})
    h = client_health(frame)
    assert h.flagged and h.source == "requests" and "--workers" in h.message()
