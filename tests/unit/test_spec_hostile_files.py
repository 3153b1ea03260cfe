"""#17 item 10 (and the spec part of 13): spec files from anyone, read safely.

The review: a "billion laughs" YAML grew to 2.7 GB in 30 s and ended in a raw MemoryError;
a 200 MB inline spec was accepted and stored whole; a key given twice silently kept its
last value. Each case below is now a ConfigError naming the file (and the key), raised
before anything is built or sent. Decisions (lens/spec/safe_yaml.py, docs/spec.md):
aliases are allowed up to 100,000 expanded values, a spec (file or mapping) is at most
4 MiB, a key may appear once per mapping.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lens.errors import ConfigError
from lens.spec import load_spec, read_mapping, spec_from_dict
from lens.spec.safe_yaml import MAX_NODES, MAX_SPEC_BYTES

GOOD = {"targets": [{"provider": "sim", "model": "m"}]}


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ntargets: *a{levels}\n"


def _err(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        read_mapping(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: "), msg  # names the file
    return msg


def _limit_memory() -> None:  # the old code needed 2.7 GB: let it fail, not the machine
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))


def test_a_billion_laughs_is_refused_fast_with_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yaml"
    p.write_text(_bomb())
    t0 = time.perf_counter()
    msg = _err(p)
    assert time.perf_counter() - t0 < 2.0
    assert f"the document expands to more than {MAX_NODES:,} values" in msg and "fix:" in msg


def test_the_cli_refuses_the_bomb_without_a_traceback(tmp_path: Path) -> None:
    p = tmp_path / "bomb.yaml"
    p.write_text(_bomb())
    proc = subprocess.run([sys.executable, "-m", "lens.cli", "run", str(p), "--db", str(tmp_path / "l.db")],
                          capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    assert f"lens: error: {p}: the document expands to more than" in proc.stderr


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "loop.yaml"
    p.write_text("targets: &t [{provider: sim, model: m, tags: *t}]\n")
    assert "a YAML alias refers to a value that contains it" in _err(p)


def test_ordinary_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(
        "defaults: &d {provider: sim, model: m, max_concurrency: 4}\n"
        "targets:\n"
        "  - {<<: *d, name: a}\n"
        "  - {<<: *d, name: b, model: m2}\n"  # an explicit key overrides a merged one
    )
    data = read_mapping(p)
    assert [t["model"] for t in data["targets"]] == ["m", "m2"]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [("dup.yaml", "name: a\ntargets: []\nname: b\n", "line 3: key 'name' is given twice in the same mapping (first on line 1)"),
     ("nested.yaml", "targets:\n  - provider: sim\n    model: m\n    model: n\n",
      "line 4: key 'model' is given twice in the same mapping (first on line 3)"),
     ("dup.json", '{"name": "a", "targets": [], "name": "b"}', "key 'name' is given twice"),
     ("dup.toml", 'name = "a"\nname = "b"\n', "line 2: key 'name' is given twice"),
     ("table.toml", "[load]\nrequests = 1\n[load]\nrequests = 2\n", "key 'load' is given twice")],
)
def test_duplicate_keys_are_an_error_naming_the_key(tmp_path: Path, name: str, text: str, needle: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    msg = _err(p)
    assert needle in msg, msg


def test_a_file_over_the_size_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    p = tmp_path / "huge.yaml"
    p.write_text("name: x\nprompts:\n  inline:\n    - '" + "y" * (MAX_SPEC_BYTES + 10) + "'\n")
    msg = _err(p)
    assert "a spec file may be at most 4 MiB" in msg and "prompts.file" in msg


def test_an_inline_mapping_over_the_size_cap_is_refused_early() -> None:
    big = {**GOOD, "prompts": {"inline": ["z" * 1024] * (5 * 1024)}}  # 5 MiB of prompt text
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^event.spec: the spec is larger than 4 MiB"):
        spec_from_dict(big, source="event.spec")
    assert time.perf_counter() - t0 < 1.0
    assert spec_from_dict({**GOOD, "prompts": {"inline": ["z" * 1024] * 100}}).prompts.inline


def test_a_run_with_an_oversized_mapping_stores_nothing(tmp_path: Path) -> None:
    from lens.burst.run import run
    from lens.store.sql import open_store

    store = open_store(tmp_path / "lens.db")
    try:
        with pytest.raises(ConfigError, match="larger than 4 MiB"):
            run({**GOOD, "prompts": {"inline": ["q" * (5 * 1024 * 1024)]}}, store=store)
        assert store.list_runs() == []
    finally:
        store.close()


@pytest.mark.parametrize("name", ["deep.yaml", "deep.json"])
def test_deep_nesting_is_a_clear_error(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_text('{"targets": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "cannot parse: values are nested too deeply" in _err(p)


def test_a_good_json_spec_loads(tmp_path: Path) -> None:
    p = tmp_path / "spec.json"
    p.write_text(json.dumps({**GOOD, "name": "j"}))
    assert load_spec(p).name == "j"
