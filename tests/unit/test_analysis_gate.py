from __future__ import annotations

from pathlib import Path

import pytest
from helpers_analysis import make_frame

from lens.analysis import gate
from lens.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_thresholds_load() -> None:
    t = gate.load_thresholds(ROOT / "examples" / "gate.toml")
    assert t.max_p95_ttft_regression == 0.10 and t.max_error_rate == 0.02
    assert [r.metric for r in t.regressions] == ["e2e_ms", "output_tokens_per_s"]
    assert t.slo is not None and [str(o) for o in t.slo.objectives()] == ["ttft_ms<=2000",
                                                                         "e2e_ms<=30000"]
    assert (t.min_attainment, t.max_attainment_drop) == (0.90, 0.02)
    # flags win over the file
    t = gate.load_thresholds(ROOT / "examples" / "gate.toml", max_error_rate=0.5)
    assert t.max_error_rate == 0.5


def test_threshold_errors_name_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "g.toml"
    p.write_text("max_p95_ttft_regresion = 0.1\n")
    with pytest.raises(ConfigError) as err:
        gate.load_thresholds(p)
    assert str(p) in str(err.value) and "max_p95_ttft_regresion" in str(err.value)
    p.write_text("[[regressions]]\nmetric = 'e2e_ms'\nmax_increase = -1\n")
    with pytest.raises(ConfigError, match=r"regressions\[0\]\.max_increase"):
        gate.load_thresholds(p)
    with pytest.raises(ConfigError, match="max_error_rate"):
        gate.load_thresholds(None, max_error_rate=2)


def test_pass_and_fail() -> None:
    base = make_frame(300, seed=1)
    same = make_frame(300, seed=2, run_id="c")
    slow = make_frame(300, seed=3, run_id="d", ttft_scale=1.6, error_every=10)
    t = gate.load_thresholds(None, max_error_rate=0.05, max_cost_per_request="0.01",
                             max_total_cost="10")
    ok = gate.evaluate(base, same, t)
    assert ok.passed and ok.exit_code == 0
    assert [c.name for c in ok.checks] == ["p95 TTFT regression", "error rate",
                                           "cost per request", "total cost"]
    bad = gate.evaluate(base, slow, t)
    assert bad.exit_code == 1
    failed = {c.name for c in bad.checks if not c.passed}
    assert failed == {"p95 TTFT regression", "error rate"}
    md = gate.to_markdown(bad, "base", "cand")
    assert md.startswith("## lens gate: FAIL")
    assert "| p95 TTFT regression | **FAIL** |" in md and "### Percentiles" in md
    # for a PR comment: people's labels and units, not column names
    assert "ttft_ms" not in md and "ratio_low" not in md and "cliffs_delta" not in md
    assert " ms -> " in md and "| TTFT | p95 |" in md


def test_cost_checks_fail_when_unpriced_or_too_dear() -> None:
    base = make_frame(50)
    sim = make_frame(50, run_id="s", provider="vllm", model="private-x", target="sim")
    t = gate.GateThresholds(max_p95_ttft_regression=None, max_total_cost="100")
    res = gate.evaluate(base.assign(target="sim"), sim, t)
    assert not res.passed and "vllm/private-x" in res.checks[0].detail
    res = gate.evaluate(base, base, gate.load_thresholds(None, max_cost_per_request="0.0001"))
    assert {c.name: c.passed for c in res.checks}["cost per request"] is False
    ov = {"model": [{"model": "private-*", "input_mtok": 0, "output_mtok": 0}]}
    from lens.analysis.prices import overrides_from_dict

    res = gate.evaluate(base.assign(target="sim"), sim, t, prices=overrides_from_dict(ov))
    assert res.passed


def test_a_candidate_whose_requests_all_failed_cannot_pass() -> None:
    base = make_frame(200, seed=1)
    cand = make_frame(200, seed=2)
    cand["status"] = "timeout"
    res = gate.evaluate(base, cand, gate.load_thresholds(None))
    assert res.exit_code == 1
    (check,) = [c for c in res.checks if "TTFT" in c.name]
    assert not check.passed and "cannot verify: 200 baseline and 0 candidate" in check.detail
    assert "FAIL" in gate.to_markdown(res)


def test_cost_checks_use_the_measured_rows_in_decimal() -> None:
    cand = make_frame(10, seed=2, warmup=2)
    t = gate.load_thresholds(None, max_cost_per_request=1, max_total_cost=1)
    res = gate.evaluate(make_frame(10, seed=1), cand, t)
    per, total = (c for c in res.checks if "cost" in c.name)
    assert per.passed and total.passed
    assert float(total.value.lstrip("$")) == pytest.approx(float(per.value.lstrip("$")) * 8, rel=1e-4)
    res = gate.evaluate(make_frame(10, seed=1), cand.drop(columns=["warmup"]), t)
    assert all(c.passed for c in res.checks if "cost" in c.name)  # no KeyError without warmup
