"""Adversarial review (issue #16: "1024 streams"): every stream holds a socket, and a process
may open only ``ulimit -n`` files (1024 on Linux, 256 on macOS by default). Past it the
client's own connects fail ("too many open files") and were recorded as ``network`` failures
of the provider, with the hint to check that the server is running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from lens.sim.process import SimProcess

pytest.importorskip("resource")

PROFILE = {"header_ms": 1.0, "ttft_ms": 300.0, "itl_ms": 20.0, "output_tokens": 4}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess({"q": PROFILE}) as s:  # its own process, with the usual limit
        yield s


def _fire(url: str, soft: int, hard: int, streams: int) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(f"""
        import collections, resource
        resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))
        from lens.probe.engine import run_burst_sync
        from lens.spec import spec_from_dict
        spec = spec_from_dict({{"targets": [{{"provider": "vllm", "base_url": "{url}",
            "model": "m"}}], "prompts": {{"synthetic_tokens": 8}}, "max_tokens": 4,
            "load": {{"requests": {streams}, "concurrency": {streams}}}}}, source="t")
        res = run_burst_sync(spec)
        print(dict(collections.Counter(r.status for r in res.records)))
        print([r.error for r in res.records if r.status != "ok"][:1])
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_more_streams_than_the_soft_open_files_limit_all_complete(sim: SimProcess) -> None:
    out = _fire(sim.base_url("openai_compat", "q"), soft=256, hard=4096, streams=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[0] == "{'ok': 300}", out.stdout


def test_a_hard_limit_too_low_stops_the_burst_before_it_starts(sim: SimProcess) -> None:
    out = _fire(sim.base_url("openai_compat", "q"), soft=200, hard=200, streams=300)
    assert out.returncode != 0
    assert "ulimit -n" in out.stderr and "300 connections" in out.stderr, out.stderr[-2000:]
    assert "network" not in out.stdout
