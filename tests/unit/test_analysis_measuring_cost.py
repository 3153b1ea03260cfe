from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from lens.analysis.measuring_cost import (
    REGION_PRICES,
    actual_measuring_cost,
    cost_of_usage,
    estimate_measuring_cost,
)
from lens.errors import BudgetExceededError, ConfigError
from lens.spec import spec_from_dict


def spec(**load: object) -> object:
    return spec_from_dict({"targets": [{"provider": "sim", "model": "m"}],
                           "load": {"requests": 100, "concurrency": 10, **load}})


def test_cost_of_usage_hand_computed() -> None:
    c = cost_of_usage("us-east-1", invocations=1_000_000, gb_seconds=1000.0, s3_puts=1000,
                      s3_gets=10_000, athena_bytes=1024**4, athena_queries=1)
    assert c.items["lambda_requests"] == Decimal("0.20")
    assert c.items["lambda_compute"] == Decimal("1000.0") * Decimal("0.0000166667")
    assert c.items["s3_put"] == Decimal("0.005")
    assert c.items["s3_get"] == Decimal("0.004")
    assert c.items["athena_scan"] == Decimal("5")
    assert c.total == sum(c.items.values())
    tiny = cost_of_usage("us-east-1", invocations=0, gb_seconds=0.0, athena_bytes=1,
                         athena_queries=2)  # the 10 MB minimum per query applies
    assert tiny.items["athena_scan"] == Decimal(20 * 1024 * 1024) / Decimal(1024**4) * 5


def test_estimate_scales_with_regions_and_shards() -> None:
    one = estimate_measuring_cost(spec(), regions=["us-east-1"], memory_mb=1024,
                                  expected_request_s=2.0, overhead_s=0.0)
    # 100 requests / 10 concurrency x 2 s = 20 s at 1 GB
    assert one.quantities["gb_seconds"] == pytest.approx(20.0)
    assert one.quantities["invocations"] == 1
    three = estimate_measuring_cost(spec(), regions=["us-east-1", "eu-west-1", "eu-central-1"],
                                    shards=4, memory_mb=1024, expected_request_s=2.0,
                                    overhead_s=0.0)
    assert three.quantities["invocations"] == 12
    assert three.quantities["gb_seconds"] == pytest.approx(60.0)
    assert three.total > one.total
    assert isinstance(three.total, Decimal)


def test_budget_refuses() -> None:
    est = estimate_measuring_cost(spec(), regions=["us-east-1"])
    est.check_budget("1")
    with pytest.raises(BudgetExceededError, match="exceeds the budget"):
        est.check_budget(Decimal("0.0000001"))


def test_unknown_region_named() -> None:
    with pytest.raises(ConfigError, match="mars-1"):
        estimate_measuring_cost(spec(), regions=["mars-1"])
    assert "us-east-1" in REGION_PRICES


def test_actual_cost_from_a_run() -> None:
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    df = pd.DataFrame({
        "region": ["us-east-1"] * 3 + ["eu-west-1"],
        "shard": [0, 0, 1, 0],
        "runner": "lambda",
        "started_at": [t0, t0 + pd.Timedelta(seconds=1), t0, t0],
        "e2e_ms": [1000.0, 3000.0, 2000.0, 500.0],
    })
    c = actual_measuring_cost(df, memory_mb=1024, overhead_s=0.0)
    # shard spans: 4 s and 2 s in us-east-1, 0.5 s in eu-west-1, at 1 GB
    assert c.quantities["gb_seconds"] == pytest.approx(6.5)
    assert c.quantities["invocations"] == 3
    assert c.quantities["s3_puts"] == 6
