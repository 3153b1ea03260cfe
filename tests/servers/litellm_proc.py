"""Run the LiteLLM proxy (``litellm[proxy]`` from PyPI) as a subprocess, fully offline.

    with litellm_proxy({"gw-model": "http://127.0.0.1:PORT/v1"}) as gw:
        gw.base_url      # http://127.0.0.1:PORT2/v1, an OpenAI-compatible endpoint
        gw.master_key    # send as "Authorization: Bearer ..." (the proxy refuses to start without one)

The proxy gets a minimal config: one ``openai/<model>`` deployment pointing at the
upstream ``api_base``, and a random master key (LiteLLM refuses to start without one
unless told it is unsafe). No database (no ``DATABASE_URL``), so no Prisma and no
migrations. Offline: the ``LITELLM_LOCAL_*`` switches below make LiteLLM use the copies
bundled with the package instead of fetching them at start-up or on first use (the model
cost map is fetched when ``litellm`` is imported unless ``LITELLM_LOCAL_MODEL_COST_MAP``
is set); usage telemetry is opt-in (nothing leaves until ``LITELLM_TELEMETRY_DESTINATION``
is set), and the proxy's outbound-proxy variables are cleared so the upstream hop stays on
loopback. ``test_servers_litellm.py::test_proxy_runs_without_any_network`` proves it
inside a network namespace with only loopback.

Which ``litellm`` runs: ``$LENS_LITELLM`` (a path to the ``litellm`` executable, e.g. in a
separate venv), else the one installed next to this interpreter. :func:`find_litellm`
returns None when there is neither, and the fixtures skip with that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Each one makes LiteLLM use a bundled copy instead of a download (LiteLLM 1.108 names;
# LITELLM_OFFLINE_MODE is the single switch newer releases document for all of them).
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_OFFLINE_MODE": "true",
}
# Removed from the proxy's environment: a database turns on Prisma; a telemetry destination
# or an outbound proxy would send traffic off this host.
_DROP_ENV = ("DATABASE_URL", "LITELLM_MASTER_KEY", "LITELLM_TELEMETRY_DESTINATION",
             "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")  # fmt: skip


def find_litellm() -> str | None:
    """Path of the ``litellm`` proxy executable to use, or None when none is installed."""
    given = os.environ.get("LENS_LITELLM")
    if given:
        return given if os.access(given, os.X_OK) else None
    repo = Path(__file__).resolve().parents[2]
    for cand in (repo / ".litellm-venv" / "bin" / "litellm", Path(sys.executable).parent / "litellm"):
        if cand.exists() and os.access(cand, os.X_OK):
            return str(cand)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_yaml(models: Mapping[str, str], master_key: str) -> str:
    """The minimal proxy config: one OpenAI-compatible deployment per model, the master key.

    ``models`` maps the model name clients ask for to the upstream's base URL (ending in
    /v1); the upstream is asked for the same model name.
    """
    lines = ["model_list:"]
    for name, api_base in models.items():
        lines += [
            f"  - model_name: {name}",
            "    litellm_params:",
            f"      model: openai/{name}",
            f"      api_base: {api_base}",
            "      api_key: none  # the upstream checks no key; the OpenAI SDK wants one",
        ]
    lines += ["general_settings:", f"  master_key: {master_key}", ""]
    return "\n".join(lines)


@dataclass
class LiteLLMProxy:
    """A running proxy. ``startup_s``: spawn to the first healthy answer."""

    proc: subprocess.Popen[bytes]
    port: int
    master_key: str
    models: dict[str, str]
    log_path: Path
    startup_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def log(self) -> str:
        """What the proxy printed (stdout and stderr), for failure messages."""
        return self.log_path.read_text(errors="replace")

    def warm_up(self, model: str) -> bytes:
        """One streamed request for ``model``, read to the end; returns the raw SSE body.

        LiteLLM does lazy set-up on its first request (~0.5 s here), so a fixture warms
        each model once and the tests time the proxy in its steady state.
        """
        body = json.dumps({"model": model, "stream": True, "max_tokens": 4,
                           "messages": [{"role": "user", "content": "warm up"}]}).encode()  # fmt: skip
        req = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self.master_key}"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=60) as resp:
            return bytes(resp.read())


def _wait_ready(proxy: LiteLLMProxy, started: float, timeout_s: float) -> None:
    # /health/readiness answers once the app's start-up (config, router) has finished.
    while True:
        if proxy.proc.poll() is not None:
            raise RuntimeError(
                f"the LiteLLM proxy exited with code {proxy.proc.returncode} while starting:\n"
                + proxy.log()[-3000:]
            )
        try:
            with urllib.request.urlopen(f"{proxy.url}/health/readiness", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(
                f"the LiteLLM proxy at {proxy.url} was not ready after {timeout_s:g}s:\n"
                + proxy.log()[-3000:]
            )
        time.sleep(0.05)


@contextlib.contextmanager
def litellm_proxy(
    models: Mapping[str, str],
    *,
    keepalive_timeout: int | None = None,
    executable: str | None = None,
    start_timeout_s: float = 120.0,
) -> Iterator[LiteLLMProxy]:
    """Start the proxy on 127.0.0.1 (a free port) in front of the upstreams in ``models``
    (model name -> upstream base URL, see :func:`config_yaml`).

    ``keepalive_timeout`` (whole seconds: LiteLLM's ``--keepalive_timeout`` is an int)
    None keeps uvicorn's default of 5 s. Raises RuntimeError with the proxy's log when it
    does not start.
    """
    exe = executable or find_litellm()
    if exe is None:
        raise RuntimeError("litellm is not installed: pip install 'litellm[proxy]'")
    tmp = Path(tempfile.mkdtemp(prefix="lens-litellm-"))
    key = "sk-lens-test-" + secrets.token_hex(16)
    cfg = tmp / "config.yaml"
    cfg.write_text(config_yaml(models, key))
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(OFFLINE_ENV)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HOME"] = str(tmp)  # anything LiteLLM caches under ~ stays in the temp dir
    log_path = tmp / "proxy.log"
    for attempt in range(3):  # the free port can be taken between probe and bind
        port = _free_port()
        cmd = [exe, "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)]
        if keepalive_timeout is not None:
            cmd += ["--keepalive_timeout", str(keepalive_timeout)]
        with open(log_path, "wb") as log:
            started = time.monotonic()
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        proxy = LiteLLMProxy(proc, port, key, dict(models), log_path, 0.0)
        try:
            _wait_ready(proxy, started, start_timeout_s)
        except BaseException as exc:  # Ctrl-C too: never leave the proxy running
            _stop(proc)
            in_use = "address already in use" in proxy.log().lower()
            if isinstance(exc, RuntimeError) and in_use and attempt < 2:
                continue
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        proxy.startup_s = time.monotonic() - started
        break
    try:
        yield proxy
    finally:
        _stop(proxy.proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
