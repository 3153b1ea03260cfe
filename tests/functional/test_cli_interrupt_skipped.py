"""A second Ctrl-C abandons in-flight requests; the run row still counts what was skipped
(never started, or abandoned in flight), exactly as the engine's result.skipped would."""

from __future__ import annotations

import argparse
import io
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lens.cli.run_fire import fire
from lens.sim import start_sim_in_thread
from lens.spec import spec_from_dict
from lens.store.sql import open_store


class DoubleCtrlC:
    """A sink that sends this process SIGINT twice when the ``after``-th request finishes.

    The engine calls sinks on the event loop thread (the main thread here), where lens.burst.run
    installed its signal handlers: the first SIGINT stops new requests, the second cancels.
    """

    def __init__(self, after: int) -> None:
        self.after = after
        self.seen = 0

    def add(self, record: Any, chunks: Sequence[Any]) -> None:
        self.seen += 1
        if self.seen == self.after:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)


def _fire(tmp_path: Path, load: dict[str, Any]) -> tuple[Any, int, str]:
    from rich.console import Console

    err = io.StringIO()
    args = argparse.Namespace(no_progress=True, rpm=None, tpm=None, regions=None, shards=None,
                              budget_usd=None, daily_budget_usd=None)
    with start_sim_in_thread({"default": "slow"}) as sim:
        spec = spec_from_dict(
            {"targets": [{"provider": "sim", "base_url": sim.base_url("openai_chat"), "model": "m"}],
             "load": load, "max_tokens": 24, "warmup": 0},
            source="test",
        )  # fmt: skip
        store = open_store(tmp_path / "lens.db")
        try:
            status, interrupted = fire(
                spec, args, store, [DoubleCtrlC(after=2)], Console(file=err), "twice"
            )
            assert (status, interrupted) == ("incomplete", True)
            run = store.get_run("twice")
            stored = len(store.requests_frame("twice"))
        finally:
            store.close()
    return run, stored, err.getvalue()


@pytest.mark.slow
def test_second_ctrl_c_keeps_the_skipped_count(tmp_path: Path) -> None:
    run, stored, err = _fire(tmp_path, {"kind": "concurrency", "requests": 40, "concurrency": 3})
    assert "stopping: no new requests" in err
    assert run.status == "incomplete"
    assert 2 <= stored < 40
    # every planned request is either stored or skipped (in flight when abandoned included)
    assert run.skipped == 40 - stored
    assert run.n_requests == stored


@pytest.mark.slow
def test_second_ctrl_c_counts_abandoned_requests_of_a_duration_bound_burst(tmp_path: Path) -> None:
    # No planned total: the skipped ones are the requests in flight when abandoned. In a
    # closed loop each of the 3 workers starts its next request before the (queued) signal
    # handlers run, so exactly 3 were in flight.
    run, stored, _err = _fire(
        tmp_path, {"kind": "concurrency", "requests": None, "duration_s": 60, "concurrency": 3}
    )
    assert stored >= 2
    assert run.skipped == 3
