"""lens.fire: the Python twin of `lens run` stores every request and the run row."""

from __future__ import annotations

from pathlib import Path

import pytest

import lens
from lens import __version__
from lens.errors import ConfigError
from lens.sim import start_sim_in_thread
from lens.store.sql import open_store


def test_fire_stores_the_run_and_every_request(tmp_path: Path) -> None:
    db = str(tmp_path / "api.db")
    with start_sim_in_thread({"default": "instant"}) as sim:
        result = lens.fire({
            "targets": [{"provider": "sim", "base_url": sim.base_url("anthropic"),
                         "dialect": "anthropic", "model": "m"}],
            "load": {"requests": 6, "concurrency": 3}, "warmup": 1, "tags": {"team": "x"},
        }, db=db)  # fmt: skip
        truths = {t.request_id: t for t in sim.truths()}
    assert result.complete and len(result.records) == 7
    df = lens.load(db, runs=[result.run_id])
    assert len(df) == 7 and int(df["warmup"].sum()) == 1
    assert set(df["server_request_id"]) <= set(truths)  # every row is a request the sim served
    for r in df.itertuples():
        assert r.output_tokens == truths[r.server_request_id].output_tokens
    store = open_store(db)
    try:
        run = store.get_run(result.run_id)
    finally:
        store.close()
    assert run.status == "complete" and run.lens_version == __version__
    assert run.tags == {"team": "x"} and run.host


def test_fire_names_the_bad_field() -> None:
    with pytest.raises(ConfigError, match=r"lens.fire\(spec\): load.concurrency"):
        lens.fire({"targets": [{"provider": "sim", "model": "m"}], "load": {"concurrency": -1}})
