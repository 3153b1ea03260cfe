"""Alert rules: promtool check + unit tests, the tests bite, and only emitted metrics are used."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_observatory import ROOT, promql_metric_names

ALERTS = ROOT / "observatory" / "alerts"
RULES = ALERTS / "lens-rules.yml"
RULE_TESTS = ALERTS / "lens-rules.test.yml"


def promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found: run `make sysdeps` (Debian package prometheus)")
    return exe


def run(*args: str, cwd: Path = ALERTS) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_check_rules() -> None:
    res = run("check", "rules", str(RULES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_promtool_unit_tests_pass() -> None:
    res = run("test", "rules", RULE_TESTS.name)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("lens:ttft_seconds:p95_5m > 2", "lens:ttft_seconds:p95_5m > 3"),
        ("lens:requests:error_ratio_5m > 0.05", "lens:requests:error_ratio_5m > 0.5"),
        ("lens:cost_usd:rate1h * 3600 > 5", "lens:cost_usd:rate1h * 3600 > 50"),
        (">= 10", ">= 0"),  # drop the minimum-volume guard: the trickle target would page
    ],
)
def test_unit_tests_catch_a_changed_threshold(tmp_path: Path, old: str, new: str) -> None:
    text = RULES.read_text()
    assert old in text
    (tmp_path / RULES.name).write_text(text.replace(old, new))
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    res = run("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert res.returncode != 0, "the promtool tests did not notice a changed rule"


def rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RULES.read_text())
    return [(r.get("alert") or r["record"], r["expr"]) for g in doc["groups"] for r in g["rules"]]


def test_rules_cover_ttft_errors_cost() -> None:
    alerts = {name for name, _ in rule_exprs() if not name.startswith("lens:")}
    assert {"LensTTFTp95High", "LensErrorRateHigh", "LensCostBurnHigh"} <= alerts
    ttft = dict(rule_exprs())["lens:ttft_seconds:p95_5m"]
    assert "histogram_quantile(0.95" in ttft and "lens_ttft_seconds_bucket" in ttft


def test_rules_use_only_emitted_metrics(emitted_names: set[str]) -> None:
    recorded = {name for name, _ in rule_exprs() if name.startswith("lens:")}
    for name, expr in rule_exprs():
        unknown = promql_metric_names(expr) - emitted_names - recorded
        assert not unknown, f"rule {name} uses metrics the exporter never emits: {unknown}"


@pytest.fixture(scope="module")
def emitted_names() -> set[str]:
    from helpers_observatory import scraped_names

    return scraped_names()
