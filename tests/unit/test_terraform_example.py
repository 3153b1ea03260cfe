"""terraform/envs/example: a runner (with secrets and alarms) in every configured region."""

from __future__ import annotations

import re

import pytest
from helpers_terraform import EXAMPLE, MODULES, flat, load_dir, named

from lens.fleet.config import FleetConfig, RegionConfig


@pytest.fixture(scope="module")
def example() -> dict:
    return load_dir(EXAMPLE)


def provider_regions(doc: dict) -> dict[str, str]:
    """Provider alias -> region ("" for the default provider)."""
    out: dict[str, str] = {}
    for block in doc["provider"]:
        for name, body in block.items():
            assert name == "aws"
            out[body.get("alias", "")] = body["region"]
    return out


def modules_by_kind(doc: dict) -> dict[str, dict[str, str]]:
    """Module source dir name -> {module name: region of its provider}."""
    aliases = provider_regions(doc)
    out: dict[str, dict[str, str]] = {}
    for name, body in flat(doc, "module").items():
        kind = body["source"].rsplit("/", 1)[-1]
        provider = body.get("providers", {}).get("aws", "")
        m = re.fullmatch(r"\$\{aws\.(\w+)\}", provider) if provider else None
        out.setdefault(kind, {})[name] = aliases[m.group(1)] if m else aliases[""]
    return out


def test_every_region_has_a_runner_with_its_own_secrets_and_alarms(example: dict) -> None:
    regions = flat(example, "locals")["runner_regions"]
    assert len(regions) >= 3 and len(set(regions)) == len(regions)
    kinds = modules_by_kind(example)
    assert sorted(kinds["runner"].values()) == sorted(regions), "one runner per region, no more"
    assert sorted(kinds["secrets"].values()) == sorted(regions)
    assert sorted(kinds["budget"].values()) == sorted(regions)
    assert list(kinds["results"]) == ["results"]
    mods = flat(example, "module")
    secrets_of = {region: name for name, region in kinds["secrets"].items()}
    for name, region in kinds["runner"].items():
        # the runner reads the secrets of its own region (a secret ARN is regional)
        assert mods[name]["api_key_secrets"] == f"${{module.{secrets_of[region]}.secret_arns}}", name
        assert mods[name]["secrets_kms_key_arn"] == f"${{module.{secrets_of[region]}.kms_key_arn}}", name
        assert mods[name]["results_region"] == "${local.runner.results_region}"
    # the region partition projection enumerates exactly these regions
    assert mods["results"]["regions"] == "${local.runner_regions}"
    # exactly one account budget; every region alarms on its own runner
    with_budget = [n for n in kinds["budget"] if "monthly_limit_usd" in mods[n]]
    assert len(with_budget) == 1
    runner_of = {region: name for name, region in kinds["runner"].items()}
    for name, region in kinds["budget"].items():
        assert mods[name]["function_names"] == [f"${{module.{runner_of[region]}.function_name}}"]


def test_every_region_has_a_pandas_layer_version(example: dict) -> None:
    versions = flat(load_dir(MODULES / "runner"), "variable")["pandas_layer_versions"]["default"]
    for region in flat(example, "locals")["runner_regions"]:
        assert isinstance(versions.get(region), int), f"no AWSSDKPandas layer version for {region}"


def test_fleet_config_output_matches_the_sdk_reader(example: dict) -> None:
    """lens_fleet_config has the keys lens.fleet.config.FleetConfig reads, and every runner."""
    value = flat(example, "output")["lens_fleet_config"]["value"]
    assert set(value) <= set(FleetConfig.model_fields), set(value) - set(FleetConfig.model_fields)
    assert {"regions", "bucket", "prefix", "glue_database", "workgroup"} <= set(value)
    region_keys = set(re.findall(r"(\w+)\s*=\s*r\.", value["regions"]))
    assert region_keys and region_keys <= set(RegionConfig.model_fields)
    assert "local.runners" in value["regions"]
    runners = str(flat(example, "locals")["runners"])
    for name in modules_by_kind(example)["runner"]:
        assert f"module.{name}" in runners, f"{name} missing from lens_fleet_config"


def test_no_secret_values_in_the_example() -> None:
    """Keys are never in Terraform: no secret versions or parameters with values, no key-looking strings."""
    dirs = [EXAMPLE] + [MODULES / m for m in ("runner", "results", "secrets", "budget")]
    for d in dirs:
        types = {rtype for rtype, _ in named(load_dir(d), "resource")}
        assert not types & {"aws_secretsmanager_secret_version", "aws_ssm_parameter"}, d
    for tf in list(EXAMPLE.rglob("*.tf")) + list(MODULES.rglob("*.tf")) + list(EXAMPLE.glob("*.tfvars*")):
        assert not re.search(r"sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}", tf.read_text()), tf


def test_every_runner_gets_the_limits_and_key_urls(example: dict) -> None:
    """#17 item 14: the example can set what refusal messages tell operators to set."""
    mods = flat(example, "module")
    variables = flat(example, "variable")
    shared = flat(example, "locals")["runner"]
    for var in ("api_key_urls", "max_output_tokens", "max_prompt_tokens", "bedrock_model_arns"):
        assert var in variables and shared[var] == f"${{var.{var}}}", var
        for name, body in mods.items():
            if body["source"].endswith("modules/runner"):
                assert body[var] == f"${{local.runner.{var}}}", (name, var)
    assert variables["bedrock_model_arns"]["default"] == []  # no Bedrock unless listed
