"""`lens run --pushgateway` against a real Prometheus Pushgateway (Debian package)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.sim import start_sim_in_thread

BIN = shutil.which("prometheus-pushgateway")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    if BIN is None:
        pytest.fail("prometheus-pushgateway is not installed: run `make sysdeps`")
    port = _free_port()
    proc = subprocess.Popen(
        [BIN, f"--web.listen-address=127.0.0.1:{port}", f"--persistence.file={tmp_path / 'p'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_run_pushes_its_metrics_to_a_real_pushgateway(pushgateway: str, tmp_path: Path) -> None:
    with start_sim_in_thread({"default": "instant"}) as sim:
        res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"),
                    "--model", "m", "--requests", "5", "--pushgateway", pushgateway,
                    "--db", str(tmp_path / "p.db"), "--json"])  # fmt: skip
    assert res.code == 0, res.err
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as r:
        text = r.read().decode()
    ok = [ln for ln in text.splitlines() if ln.startswith("lens_requests_total{") and 'status="ok"' in ln]
    assert ok and all('job="lens"' in ln for ln in ok), text[:2000]
    assert sum(float(ln.rsplit(" ", 1)[1]) for ln in ok) == 5
    assert any(ln.startswith("lens_ttft_seconds_count{") for ln in text.splitlines())
