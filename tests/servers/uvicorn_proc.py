"""Run :mod:`servers.openai_asgi` under uvicorn in a subprocess, and read its ground truth.

    with uvicorn_openai(timeout_keep_alive=0.5, http="h11") as up:
        up.base_url                    # http://127.0.0.1:PORT/v1
        ...fire requests...
        truth = up.truths()            # [UpstreamTruth, ...] in arrival order

A subprocess, not a thread: the server then never shares the test process's GIL or event
loop, so its timing is its own. Its truth times are perf_counter_ns (CLOCK_MONOTONIC on
Linux, one clock for the whole host; ``test_clock_is_shared_across_processes`` checks it),
so they compare directly with the client's origins.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

APP_FILE = Path(__file__).with_name("openai_asgi.py")
HttpImpl = Literal["auto", "h11", "httptools"]


@dataclass(frozen=True)
class UpstreamChunk:
    """One SSE event the app wrote: ``kind`` text | finish | usage | done."""

    kind: str
    text: str
    write_start_ns: int
    write_end_ns: int


@dataclass(frozen=True)
class UpstreamTruth:
    """What the app did for one request (times: perf_counter_ns, host-wide)."""

    request_id: str
    received_ns: int
    headers_ns: int | None
    finished_ns: int | None
    peer: str | None
    prompt_hash: str
    model: str | None
    stream: bool
    include_usage: bool
    tokens: int
    chunks: tuple[UpstreamChunk, ...]
    disconnected: bool

    @property
    def text_chunks(self) -> list[UpstreamChunk]:
        return [c for c in self.chunks if c.kind == "text"]

    @property
    def first_text_ns(self) -> int | None:
        tc = self.text_chunks
        return tc[0].write_start_ns if tc else None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UpstreamTruth:
        chunks = tuple(UpstreamChunk(**c) for c in d["chunks"])
        return cls(**{**d, "chunks": chunks})


class UvicornServer:
    """A running ``openai_asgi`` app; ``base_url`` ends in ``/v1``."""

    def __init__(self, proc: subprocess.Popen[str], port: int, options: dict[str, Any]) -> None:
        self.proc = proc
        self.port = port
        self.options = options
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1"

    def truths(self) -> list[UpstreamTruth]:
        """Every request the app has seen since start (or the last ``clear``)."""
        with urllib.request.urlopen(f"{self.url}/_truth", timeout=10) as resp:
            data = json.load(resp)
        return [UpstreamTruth.from_json(d) for d in data["requests"]]

    def clear(self) -> None:
        req = urllib.request.Request(f"{self.url}/_truth/clear", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass


def _wait_ready(url: str, proc: subprocess.Popen[str], deadline: float) -> None:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the uvicorn test server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the uvicorn test server at {url} did not answer /health") from None
            time.sleep(0.02)


@contextlib.contextmanager
def uvicorn_openai(
    *,
    http: HttpImpl = "auto",
    timeout_keep_alive: float | None = None,
    ttft_ms: float = 50.0,
    itl_ms: float = 10.0,
    tokens: int = 16,
    model: str = "upstream-model",
    python: str | None = None,
    start_timeout_s: float = 20.0,
) -> Iterator[UvicornServer]:
    """Start the app under uvicorn on 127.0.0.1 (a free port); stop it on exit.

    ``timeout_keep_alive`` None keeps uvicorn's default (5 s); ``http`` picks uvicorn's
    HTTP implementation ("auto" is httptools when installed, as vLLM and SGLang run it).
    ``python`` is the interpreter to run it with (default: this one).
    """
    cmd = [python or sys.executable, str(APP_FILE), "--http", http, "--ttft-ms", str(ttft_ms),
           "--itl-ms", str(itl_ms), "--tokens", str(tokens), "--model", model]  # fmt: skip
    if timeout_keep_alive is not None:
        cmd += ["--timeout-keep-alive", str(timeout_keep_alive)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "PORT n", printed once the socket listens
        if not line.startswith("PORT "):
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"the uvicorn test server did not start: {line.strip()} {err[-2000:]}")
        port = int(line.split()[1])
        server = UvicornServer(proc, port, {"http": http, "timeout_keep_alive": timeout_keep_alive,
                                            "ttft_ms": ttft_ms, "itl_ms": itl_ms, "tokens": tokens})  # fmt: skip
        _wait_ready(server.url, proc, time.monotonic() + start_timeout_s)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    from helpers_http import stop_process

    stop_process(proc)  # uvicorn shuts down gracefully on SIGTERM
