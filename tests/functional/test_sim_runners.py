"""Running the sim: background thread for sync code, `lens sim` and `python -m lens.sim`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from lens.sim import start_sim_in_thread

ROOT = Path(__file__).resolve().parents[2]


def _post(url: str, body: dict, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_thread_runner_serves_and_stops() -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with start_sim_in_thread({"default": {"ttft_ms": 1, "itl_ms": 0, "output_tokens": 4}}, seed=5) as sim:
        status, headers, raw = _post(sim.base_url("openai_chat") + "/chat/completions", body)
        assert status == 200 and raw.endswith(b"data: [DONE]\n\n")
        truth = sim.truth(headers["x-request-id"])
        assert truth.output_tokens == 4 and len(truth.events) == raw.count(b"data: ")
        assert [t.request_id for t in sim.truths()] == [truth.request_id]
        status, _, _ = _post(sim.base_url("openai_chat", "fast") + "/chat/completions", body)
        assert status == 200 and len(sim.truths()) == 2
        sim.clear_truths()
        assert sim.truths() == []
        url = sim.url
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_sim/health", timeout=2)


def test_thread_runner_bad_profile_fails_fast() -> None:
    from lens.errors import ConfigError

    with pytest.raises(ConfigError, match="ttft"), start_sim_in_thread({"x": {"ttft": 1}}):
        pass


@pytest.mark.parametrize("argv", [
    [sys.executable, "-m", "lens.cli", "sim"],
    [sys.executable, "-m", "lens.sim"],
])
def test_cli_serves_until_sigint(argv: list[str]) -> None:
    proc = subprocess.Popen(
        [*argv, "--port", "0", "--seed", "2", "--profile", 'slowish={"preset": "fast", "output_tokens": 3}',
         "--profile", "alias=reasoning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first)
        assert m, first
        url = m.group(1)
        lines = [proc.stdout.readline() for _ in range(5)]
        assert f"base_url {url}/v1" in lines[0] and "openai_chat" in lines[0]
        assert any("bedrock" in ln and ln.rstrip().endswith(url) for ln in lines)
        body = {"model": "m", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        status, headers, raw = _post(url + "/p/slowish/v1/messages", body)
        assert status == 200 and raw.count(b"event: content_block_delta") == 3
        with urllib.request.urlopen(f"{url}/_sim/truth/{headers['x-request-id']}", timeout=5) as r:
            truth = json.loads(r.read())
        assert truth["profile"] == "slowish" and truth["output_tokens"] == 3
        status, _, raw = _post(url + "/p/alias/v1/messages", body)
        assert raw.count(b"thinking_delta") == 96
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_bad_profile() -> None:
    out = subprocess.run([sys.executable, "-m", "lens.cli", "sim", "--profile", "oops"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--profile" in out.stderr and "NAME=PRESET" in out.stderr
