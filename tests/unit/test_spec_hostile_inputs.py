"""Spec fields an attacker (or a careless spec) could abuse, refused wherever a spec comes from
(issue #17): ``prompts.set`` is a name, never a path (item 3), and ``extra_body`` may not ask
for more than one completion per request (item 7)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.errors import ConfigError
from lens.spec import PromptSpec, spec_from_dict
from lens.spec.multipliers import OUTPUT_MULTIPLIERS, output_multipliers
from lens.spec.providers import DIALECTS
from lens.workload import prompt_sets
from lens.workload.prompts import available_sets, load_prompts

SIM = ["--provider", "sim", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]


def _secret_file(tmp_path: Path) -> Path:
    creds = tmp_path / "x" / "creds.jsonl"
    creds.parent.mkdir()
    creds.write_text(json.dumps({"id": "c", "text": "AKIAEXAMPLESECRET"}) + "\n")
    return creds


def test_a_path_in_prompts_set_never_reads_the_file(tmp_path: Path) -> None:
    """The review's attack: prompts.set '../../../../tmp/x/creds' loaded that file."""
    creds = _secret_file(tmp_path)
    bundled = Path(str(prompt_sets.registry()["short"])).parent
    relative = os.path.relpath(creds.with_suffix(""), bundled)
    for given in (relative, str(creds), str(creds.with_suffix("")), "../short", "short/../short", ".hidden"):
        with pytest.raises(ConfigError) as err:
            load_prompts(spec_from_dict({"targets": [{"provider": "sim", "model": "m"}],
                                         "prompts": {"set": given}}).prompts)
        msg = str(err.value)
        assert "prompts.set" in msg and "not a prompt set name" in msg and "prompts.file" in msg
        assert "AKIAEXAMPLESECRET" not in msg


def test_set_names_come_from_the_registry_of_bundled_sets() -> None:
    reg = prompt_sets.registry()
    assert list(reg) == available_sets() == ["long", "medium", "short"]
    # bundled as package data, next to the registry module (not in a checkout's data/)
    assert all(Path(str(r)).parent == Path(prompt_sets.__file__).parent for r in reg.values())
    assert [p.id for p in load_prompts(PromptSpec(set="short"))][:2] == ["short-01", "short-02"]
    with pytest.raises(ConfigError, match=r"unknown prompt set 'shorts'.*\n  fix: use one of: long, medium, short"):
        load_prompts(PromptSpec(set="shorts"))


def test_cli_prompt_set_takes_a_name_and_prompt_file_takes_a_path(tmp_path: Path) -> None:
    creds = _secret_file(tmp_path)
    res = lens(["run", *SIM, "--prompt-set", str(creds), "--db", str(tmp_path / "l.db")])
    assert res.code == 2 and "Traceback" not in res.err
    assert "--prompt-set: prompts.set:" in res.err and "--prompt-file" in res.err
    assert not (tmp_path / "l.db").exists() or "AKIAEXAMPLESECRET" not in (tmp_path / "l.db").read_bytes().decode("latin-1")
    res = lens(["run", *SIM, "--prompt-file", str(creds), "--prompt-set", "short"])
    assert res.code == 2 and "--prompt-file: give one of --prompt-file, --prompt-set, --prompt-tokens" in res.err


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ({"provider": "openai", "extra_body": {"n": 1000}}, "n=1000"),
        ({"provider": "vllm", "base_url": "http://h/v1", "extra_body": {"best_of": 20}}, "best_of=20"),
        ({"provider": "gemini", "extra_body": {"generationConfig": {"candidateCount": 8}}},
         "generationConfig.candidateCount=8"),
        ({"provider": "gemini", "extra_body": {"generationConfig": {"candidate_count": 2}}},
         "generationConfig.candidate_count=2"),
        ({"provider": "bedrock", "extra_body": {"additionalModelRequestFields": {"num_generations": 5}}},
         "additionalModelRequestFields.num_generations=5"),
        ({"provider": "sim", "extra_body": {"n": True}}, "n=True"),
        ({"provider": "openai", "extra_body": {"n": "3"}}, "n=3"),
    ],
)
def test_output_multipliers_are_refused_per_dialect(target: dict, path: str) -> None:
    with pytest.raises(ConfigError) as err:
        spec_from_dict({"targets": [{"model": "m", **target}]})
    msg = str(err.value)
    assert f"targets[0].extra_body: {path} asks for more than one completion per request" in msg
    assert "fix: remove that option from extra_body" in msg


def test_one_completion_and_other_options_pass() -> None:
    spec = spec_from_dict({"targets": [
        {"name": "a", "provider": "openai", "model": "m", "extra_body": {"n": 1, "best_of": None, "top_p": 0.5}},
        {"name": "b", "provider": "gemini", "model": "m", "extra_body": {"generationConfig": {"candidateCount": 1}}},
        # Anthropic has no multiplier: an 'n' there is the server's business (it refuses it)
        {"name": "c", "provider": "anthropic", "model": "m", "extra_body": {"top_k": 5}},
    ]})
    assert spec.targets[0].extra_body["n"] == 1
    assert set(OUTPUT_MULTIPLIERS) == set(DIALECTS)  # every dialect has its entry
    assert output_multipliers("gemini", {"generationConfig": 3}) == []  # not a mapping: nothing nested


def test_bundled_sets_are_package_data_of_an_installed_lens() -> None:
    """pyproject's package-data globs cover every set, so a pip-installed lens has them."""
    import fnmatch
    import tomllib

    root = Path(prompt_sets.__file__).resolve().parents[3]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lens"]
    files = [p.relative_to(root / "lens").as_posix() for p in Path(prompt_sets.__file__).parent.glob("*.jsonl")]
    assert sorted(files) == [f"workload/prompt_sets/{n}.jsonl" for n in ("long", "medium", "short")]
    for f in files:  # setuptools' "**/" matches zero or more directories
        assert any(fnmatch.fnmatch(f, g) or fnmatch.fnmatch(f, g.replace("**/", "")) for g in globs), f
    assert not (root / "data" / "prompts").exists()  # one copy, inside the package
