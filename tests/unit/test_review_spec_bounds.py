"""Spec files that ask the impossible are refused by name (adversarial review).

Each case below was a raw traceback from ``lens run SPEC``: MemoryError (10**8 streams, a
10**8 sweep level, 10**11 synthetic tokens), OverflowError (10**20 requests reaching
SQLite's INTEGER; a 1e308 s think time), a TypeError (``name: 2026-01-01`` read as a YAML
date broke the CLI's JSON copy); ``rate: .inf`` was accepted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.spec import load_spec

T = "targets: [{provider: sim, model: m}]\n"
CASES = {
    "concurrency": (T + "load: {requests: 10, concurrency: 100000000}\n", "load.concurrency"),
    "sweep level": (T + "load: {kind: sweep, levels: [1, 100000000], requests: 2}\n", "load.levels[1]"),
    "requests": (T + "load: {requests: 100000000000000000000}\n", "load.requests"),
    "synthetic tokens": (T + "prompts: {synthetic_tokens: 100000000000}\n", "prompts.synthetic_tokens"),
    "think time": (T + "sessions: {turns: 2, think_s: 1e308}\n", "sessions.think_s"),
    "infinite rate": (T + "load: {kind: rate, rate: .inf, requests: 5}\n", "load.rate"),
    "workers": (T + "workers: 100000\n", "workers"),
}


@pytest.mark.parametrize("text, field", list(CASES.values()), ids=list(CASES))
def test_an_impossible_number_is_refused_naming_the_field(tmp_path: Path, text: str, field: str) -> None:
    spec = tmp_path / "burst.yaml"
    spec.write_text(text)
    # In a process under a memory limit: without the bounds some cases allocate until
    # the machine runs out.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))\n"
        "from lens.cli import main\n"
        f"sys.exit(main(['run', {str(spec)!r}, '--db', {str(tmp_path / 'd.db')!r}]))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert res.stderr.startswith(f"lens: error: {spec}: {field}: "), res.stderr


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "name: 2026-01-01\nscenario: 2026-01-01T10:00:00Z\n" + T),
    (".toml", 'name = 2026-01-01\n[[targets]]\nprovider = "sim"\nmodel = "m"\n'),
])
def test_a_date_where_text_belongs_is_kept_as_written(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"burst{suffix}"
    path.write_text(text)
    assert load_spec(path).name == "2026-01-01"
    res = lens(["run", str(path), "--db", str(tmp_path / "d.db"), "--requests", "1", "--max-tokens", "2"])
    assert res.code == 0 and "Traceback" not in res.err, res.err[-2000:]
