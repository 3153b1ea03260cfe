"""Budgets: pre-flight cost estimate, per-burst and per-day refusal, threshold notifications."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers_observatory import make_record

from lens.burst.budget import (
    BudgetWatch,
    check_budget,
    estimate_burst_cost,
    estimate_prompt_tokens,
    price_request,
    spent_on,
)
from lens.errors import BudgetExceededError, ConfigError
from lens.exporters.prometheus import PrometheusSink
from lens.spec import BurstSpec

# gpt-4o: $2.50 / MTok input, $10 / MTok output (genai-prices)
PER_REQ = Decimal("1000") * Decimal("2.5e-6") + Decimal("100") * Decimal("10e-6")  # 0.0035


def spec(**load: Any) -> BurstSpec:
    return BurstSpec.model_validate({
        "targets": [{"name": "g", "provider": "openai", "model": "gpt-4o"}],
        "prompts": {"synthetic_tokens": 1000},
        "max_tokens": 100,
        "warmup": 2,
        "load": {"requests": 10, **load},
    })  # fmt: skip


def test_price_request() -> None:
    assert price_request("openai", "gpt-4o", input_tokens=1000, output_tokens=100) == PER_REQ
    assert price_request("sim", "anything", input_tokens=10**6, output_tokens=10**6) == 0
    assert (
        price_request("openai_compat", "no-such-model-xyz", input_tokens=1, output_tokens=1) is None
    )
    # cached input is cheaper ($1.25 / MTok)
    cached = price_request("openai", "gpt-4o", input_tokens=1000, output_tokens=0,
                           cached_input_tokens=1000)  # fmt: skip
    assert cached == Decimal("1000") * Decimal("1.25e-6")


def test_estimate_is_requests_times_expected_tokens() -> None:
    est = estimate_burst_cost(spec())
    assert est.n_requests == 12  # 10 + 2 warm-up
    assert est.usd == PER_REQ * 12
    assert est.per_target == {"g": PER_REQ * 12}
    sweep = estimate_burst_cost(spec(kind="sweep", levels=[1, 2, 4]))
    assert sweep.n_requests == 32
    rate = estimate_burst_cost(spec(kind="rate", rate=2.0, duration_s=30, requests=None))
    assert rate.n_requests == 61 + 2


def test_prompt_tokens_from_inline_prompts_use_the_token_counter() -> None:
    from lens.workload.tokens import count_tokens

    texts = ["hello world " * 50, "short"]
    s = BurstSpec.model_validate({"targets": [{"provider": "openai", "model": "gpt-4o"}],
                                  "prompts": {"inline": texts}})  # fmt: skip
    counts = [count_tokens(t, "gpt-4o") for t in texts]
    assert estimate_prompt_tokens(s) == -(-sum(counts) // 2)


def test_per_burst_budget_refuses_with_estimate_and_limit() -> None:
    est = PER_REQ * 12  # $0.042
    with pytest.raises(BudgetExceededError) as ei:
        check_budget(spec(), per_burst_usd="0.04", per_day_usd=None, store=None)
    msg = str(ei.value)
    assert f"${est:.4f}" in msg and "$0.04" in msg and "per-burst" in msg
    ok = check_budget(spec(), per_burst_usd=0.05, per_day_usd=None, store=None)
    assert ok.estimate.usd == est
    assert ok.burst_ratio == pytest.approx(0.84)


def _store_with_spend(tmp_path: Path, now: datetime) -> Any:
    from lens.store.sql import open_store

    store = open_store(tmp_path / "lens.db")
    from lens.store.base import RunInfo

    store.start_run(RunInfo(run_id="run-1", name="x", started_at=now))
    recs = [
        # today: 2 x (1000 in, 100 out) on gpt-4o = $0.007
        make_record(1, started_at=now, input_tokens=1000, cached_input_tokens=0, output_tokens=100),
        make_record(2, started_at=now, input_tokens=1000, cached_input_tokens=0, output_tokens=100),
        # yesterday: must not count
        make_record(
            3,
            started_at=now - timedelta(days=1),
            input_tokens=10**6,
            output_tokens=0,
            cached_input_tokens=0,
            reasoning_tokens=0,
        ),
        # today but free (simulator)
        make_record(4, started_at=now, provider="sim", model="sim", input_tokens=10**6),
    ]
    store.add_many(recs, [])
    store.flush()
    return store


def test_spent_today_from_the_sqlite_history(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(hour=12)
    store = _store_with_spend(tmp_path, now)
    try:
        assert spent_on(store, now.date()) == 2 * PER_REQ
        assert spent_on(str(tmp_path / "lens.db"), now.date()) == 2 * PER_REQ
        assert spent_on(store, (now - timedelta(days=1)).date()) == Decimal("2.5")
        assert spent_on(str(tmp_path / "missing.db")) == 0
        assert spent_on(None) == 0
    finally:
        store.close()


def test_per_day_budget_adds_today_spend(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(UTC).replace(hour=12)
    store = _store_with_spend(tmp_path, now)
    try:
        # spent 0.007 + estimate 0.042 = 0.049
        with pytest.raises(
            BudgetExceededError, match=r"spent today \$0\.0070.*\$0\.0420.*\$0\.045"
        ):
            check_budget(
                spec(), per_burst_usd=None, per_day_usd="0.045", store=store, today=now.date()
            )
        sink = PrometheusSink(pricer=None)
        with caplog.at_level(logging.INFO, logger="lens.burst.budget"):
            res = check_budget(spec(), per_burst_usd=None, per_day_usd="0.06", store=store,
                               metrics=sink, today=now.date())  # fmt: skip
        assert res.day_ratio == pytest.approx(0.049 / 0.06)
        assert "day budget at 82% (threshold 80%)" in caplog.text
        assert any(r.levelno == logging.WARNING for r in caplog.records)
        body = sink.exposition().decode()
        assert 'lens_budget_used_ratio{budget="day"} 0.816' in body
    finally:
        store.close()


def test_notifications_at_50_80_100(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lens.burst.budget"):
        check_budget(spec(), per_burst_usd="0.080", per_day_usd=None, store=None)  # 52.5 %
        check_budget(spec(), per_burst_usd="0.100", per_day_usd=None, store=None)  # 42 %
        check_budget(spec(), per_burst_usd="0.042", per_day_usd=None, store=None)  # exactly 100 %
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert lines[0][0] == logging.INFO and "burst budget at 52% (threshold 50%)" in lines[0][1]
    assert len(lines) == 2  # 42 % is below every threshold
    assert lines[1][0] == logging.ERROR and "threshold 100%" in lines[1][1]


def test_unpriced_unbounded_and_bad_flags() -> None:
    unknown = BurstSpec.model_validate(
        {
            "targets": [
                {
                    "provider": "openai_compat",
                    "base_url": "http://x/v1",
                    "model": "no-such-model-xyz",
                }
            ]
        }
    )
    with pytest.raises(BudgetExceededError, match="no price known"):
        check_budget(unknown, per_burst_usd=1, per_day_usd=None, store=None)
    free = BurstSpec.model_validate({"targets": [{"provider": "sim", "model": "m"}]})
    assert check_budget(free, per_burst_usd=0, per_day_usd=None, store=None).estimate.usd == 0
    with pytest.raises(BudgetExceededError, match="duration-only"):
        check_budget(
            spec(requests=None, duration_s=60), per_burst_usd=1, per_day_usd=None, store=None
        )
    with pytest.raises(ConfigError, match="--budget-usd"):
        check_budget(spec(), per_burst_usd="ten", per_day_usd=None, store=None)
    with pytest.raises(ConfigError, match="--daily-budget-usd"):
        check_budget(spec(), per_burst_usd=None, per_day_usd=-1, store=None)


def test_budget_watch_announces_actual_spend_once_per_threshold(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = check_budget(spec(), per_burst_usd="0.05", per_day_usd=None, store=None)
    sink = PrometheusSink(pricer=None)
    watch = BudgetWatch(check, metrics=sink)
    with caplog.at_level(logging.INFO, logger="lens.burst.budget"):
        for i in range(12):  # 12 x 0.0035 = 0.042 -> 84 %
            watch.add(
                make_record(i, input_tokens=1000, cached_input_tokens=0, output_tokens=100), []
            )
    assert watch.spent == PER_REQ * 12
    msgs = [r.getMessage() for r in caplog.records if "actual" in r.getMessage()]
    assert len(msgs) == 2
    assert "threshold 50%" in msgs[0] and "threshold 80%" in msgs[1]
    assert 'lens_budget_used_ratio{budget="burst"} 0.84' in sink.exposition().decode()


def test_fleet_estimate_counts_every_region_and_lambda_measuring_cost() -> None:
    from lens.analysis.measuring_cost import estimate_measuring_cost

    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    local = estimate_burst_cost(spec(), regions=regions)
    assert local.usd == PER_REQ * 12 * 3 and local.measuring_usd == 0 and local.regions == 3
    aws = estimate_burst_cost(spec(), regions=regions, shards=2, on_lambda=True)
    expected = estimate_measuring_cost(spec(), regions=regions, shards=2).total
    assert expected > 0 and aws.measuring_usd == expected
    assert aws.usd == PER_REQ * 12 * 3 + expected
    with pytest.raises(BudgetExceededError, match=r"x 3 regions, incl\. \$[0-9.]+ Lambda/S3/Athena"):
        check_budget(spec(), per_burst_usd=aws.usd - Decimal("0.0001"), per_day_usd=None,
                     regions=regions, shards=2, on_lambda=True)  # fmt: skip
    assert check_budget(spec(), per_burst_usd=aws.usd, per_day_usd=None, regions=regions,
                        shards=2, on_lambda=True).estimate.usd == aws.usd  # fmt: skip


def test_price_request_follows_the_one_rule(tmp_path: Path) -> None:
    # self-hosted is not free any more: it is unpriced until a [[gpu_hour]] prices it
    for p in ("vllm", "llamacpp", "ollama"):
        assert price_request(p, "llama", input_tokens=10, output_tokens=10) is None
    prices = tmp_path / "p.toml"
    prices.write_text('[[model]]\nmodel = "sim-*"\nprovider = "sim"\ninput_mtok = 0.15\n'
                      'output_mtok = 0.60\n')
    assert price_request("sim", "sim-a", input_tokens=1000, output_tokens=100,
                         prices=prices) == Decimal("0.00021")  # 1000 x .15 + 100 x .6 per M
    assert price_request("sim", "sim-a", input_tokens=1000, output_tokens=100) == 0


def _two_targets(second: dict[str, Any]) -> BurstSpec:
    return BurstSpec.model_validate({
        "targets": [{"name": "g", "provider": "openai", "model": "gpt-4o"}, second],
        "prompts": {"synthetic_tokens": 1000}, "max_tokens": 100, "warmup": 2,
        "load": {"requests": 10},
    })  # fmt: skip


def test_self_hosted_targets_are_named_not_counted_as_zero(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = _two_targets({"name": "local", "provider": "vllm", "model": "llama",
                      "base_url": "http://gpu1:8000/v1"})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="lens.burst.budget"):
        check = check_budget(s, per_burst_usd="1", per_day_usd=None, store=None)
    assert check.estimate.usd == PER_REQ * 12 and set(check.estimate.per_target) == {"g"}
    assert check.estimate.not_counted == ("local (self-hosted, no [[gpu_hour]] price)",)
    assert check.estimate.unpriced == ()
    assert "the budget does not count local (self-hosted" in caplog.text
    # while it runs: the self-hosted requests are counted apart, by name, warned about once
    watch = BudgetWatch(check)
    for i in range(3):
        watch.add(make_record(i, provider="vllm", model="llama", endpoint_host="gpu1:8000"), [])
    watch.add(make_record(9, input_tokens=1000, cached_input_tokens=0, output_tokens=100), [])
    assert watch.spent == PER_REQ
    assert watch.unpriced == {"vllm/llama (self-hosted: add a [[gpu_hour]] price)": 3}
    assert caplog.text.count("budget does not count vllm/llama") == 1


def test_price_overrides_reach_estimate_watch_and_spend(tmp_path: Path) -> None:
    prices = tmp_path / "p.toml"
    prices.write_text(
        '[[model]]\nmodel = "sim*"\nprovider = "sim"\ninput_mtok = 0.15\noutput_mtok = 0.60\n'
        '[[gpu_hour]]\nmodel = "llama"\nprovider = "vllm"\nusd_per_gpu_hour = 3.60\n'
    )
    s = _two_targets({"name": "sim", "provider": "sim", "model": "sim-a",
                      "base_url": "http://127.0.0.1:1/v1"})  # fmt: skip
    per_sim = Decimal("0.00021")  # 1000 in x $0.15/M + 100 out x $0.60/M
    assert check_budget(s, per_burst_usd="1", per_day_usd=None).estimate.per_target["sim"] == 0
    check = check_budget(s, per_burst_usd="1", per_day_usd=None, prices=prices)
    assert check.estimate.per_target["sim"] == per_sim * 12
    with pytest.raises(BudgetExceededError, match="per-burst"):
        check_budget(s, per_burst_usd=PER_REQ * 12 + per_sim, per_day_usd=None, prices=prices)
    # a GPU-hour target is known only once it ran: left out of the estimate, counted after
    gpu = _two_targets({"name": "local", "provider": "vllm", "model": "llama",
                        "base_url": "http://gpu1:8000/v1"})  # fmt: skip
    check = check_budget(gpu, per_burst_usd="1", per_day_usd=None, prices=prices)
    assert check.estimate.not_counted == ("local (priced per GPU-hour, known once it has run)",)
    watch = BudgetWatch(check)  # prices the actual requests with the check's prices
    watch.add(make_record(1, provider="vllm", model="llama", e2e_ms=2000.0, concurrency=4), [])
    assert watch.spent == Decimal("0.0005")  # $3.60/h x 2 s / 4 in flight
    watch.add(make_record(2, provider="sim", model="sim-a", input_tokens=1000,
                          cached_input_tokens=0, output_tokens=100, reasoning_tokens=0), [])
    assert watch.spent == Decimal("0.0005") + per_sim and watch.unpriced == {}
    # today's spend: the sim row counts only with the price file
    now = datetime.now(UTC).replace(hour=12)
    store = _store_with_spend(tmp_path, now)
    try:
        with_file = spent_on(store, now.date(), prices=prices)
        # record 4: sim, 10**6 input (200 of them cached: no cached price, so the input
        # price) and the helper's 31 output, at the override's prices
        assert with_file - spent_on(store, now.date()) == (
            Decimal(10**6) * Decimal("0.15") + 31 * Decimal("0.60")) / 10**6
    finally:
        store.close()
