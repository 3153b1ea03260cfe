"""Run the simulated endpoint in its own process (``python -m lens.sim``), for callers that
fire at it: a client and a simulator in one process share one GIL and one core, and starve
each other into timings that blame neither (issue #16). The process serves with uvloop when
installed and is stopped (SIGTERM, then SIGKILL) when the context ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

from lens.errors import LensError
from lens.sim.server import base_url_for

__all__ = ["SimProcess"]


class SimProcess:
    """``with SimProcess() as sim: sim.url, sim.base_url(dialect, profile)``."""

    def __init__(self, profiles: Mapping[str, Any] | None = None, *, seed: int = 0,
                 start_timeout_s: float = 20.0) -> None:
        self.profiles = dict(profiles or {})
        self.seed = seed
        self.start_timeout_s = start_timeout_s
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SimProcess:
        args = [sys.executable, "-m", "lens.sim", "--port", "0", "--seed", str(self.seed)]
        for name, prof in self.profiles.items():
            spec = prof if isinstance(prof, str) else json.dumps(prof)
            args += ["--profile", f"{name}={spec}"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env)
        deadline = time.monotonic() + self.start_timeout_s
        assert self._proc.stdout is not None
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if not line:
                break
            if line.startswith("lens sim serving on "):
                self.url = line.split()[4]
                return self
        err = self._stop()
        raise LensError(f"the simulated endpoint did not start: {err.strip() or 'no output'}",
                        hint="run `python -m lens.sim` to see why")

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.stderr.read() if proc.stderr is not None else ""

    def base_url(self, dialect: str, profile: str | None = None) -> str:
        """Base URL of one dialect (SDK conventions), under /p/{profile} when given."""
        return base_url_for(self.url, dialect, profile)

    def truth_json(self, request_id: str) -> dict[str, Any]:
        """The ground truth of one request, as the simulator serves it."""
        with urllib.request.urlopen(f"{self.url}/_sim/truth/{request_id}", timeout=10) as r:
            data: dict[str, Any] = json.loads(r.read())
        return data
