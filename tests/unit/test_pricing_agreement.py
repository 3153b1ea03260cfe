"""Reports, gates, budgets, the Prometheus cost counter and the what-if widget give the same
requests the same prices: one rule (lens.analysis.pricing), with or without a price file."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers_observatory import make_record

from lens.analysis.cost import price_frame
from lens.analysis.gate import GateThresholds, evaluate
from lens.analysis.pricing import UsageRow, price_row
from lens.burst.budget import BudgetWatch, check_budget, price_request, spent_on
from lens.exporters.prometheus import PrometheusSink, default_pricer, pricer_for
from lens.record import RequestRecord
from lens.record.frames import records_to_frame
from lens.spec import BurstSpec
from lens.widgets.cost import whatif_costs


def value(sink: PrometheusSink, name: str, target: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(s.value for fam in text_string_to_metric_families(sink.exposition().decode())
               for s in fam.samples if s.name == name and s.labels.get("target") == target)

PRICES = """
[[model]]
model = "acme-*"
provider = "openai_compat"
input_mtok = 0.6
cached_input_mtok = 0.06
output_mtok = 2.4

[[model]]
model = "sim-priced"
provider = "sim"
input_mtok = 1
output_mtok = 2

[[gpu_hour]]
model = "llama-8b"
provider = "vllm"
usd_per_gpu_hour = 2.10
gpus = 2
"""


def requests() -> list[RequestRecord]:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        dict(provider="openai", model="gpt-4o"),
        dict(provider="anthropic", model="claude-sonnet-4-20250514", cache_write_tokens=100),
        dict(provider="gemini", model="gemini-2.5-pro", input_tokens=250_000),
        dict(provider="sim", model="sim-fast"),
        dict(provider="sim", model="sim-priced"),
        dict(provider="vllm", model="llama-8b", e2e_ms=1234.5, concurrency=3),
        dict(provider="vllm", model="llama-8b", e2e_ms=None, status="timeout"),
        dict(provider="ollama", model="llama3"),
        dict(provider="llamacpp", model="qwen"),
        dict(provider="openai_compat", model="no-such-model-xyz", endpoint_host="api.example"),
        dict(provider="openai_compat", model="acme-7b", endpoint_host="llm.acme.internal"),
        dict(provider="openai", model="gpt-4o", status="rate_limited", tokens_estimated=True),
        dict(provider="openai", model="gpt-4o", input_tokens=None, output_tokens=None),
    ]
    return [make_record(i, started_at=now, target=f"t{i:02d}", **kw) for i, kw in enumerate(rows)]


@pytest.fixture(params=["genai-prices only", "with a price file"])
def prices(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    if request.param == "genai-prices only":
        return None
    f = tmp_path / "prices.toml"
    f.write_text(PRICES)
    return f


def test_every_caller_prices_the_same_requests_alike(prices: Path | None, tmp_path: Path) -> None:
    recs = requests()
    expected = [price_row(r, prices) for r in recs]
    assert {p.source for p in expected} >= {"free:simulated", "unpriced:self-hosted",
                                            "unpriced:unknown-model", "unbilled:rate_limited",
                                            "unpriced:no-usage"}
    # reports and gates: the frame version
    df = records_to_frame(recs)
    priced, report = price_frame(df, prices)
    assert list(priced["cost_source"].astype(str)) == [p.source for p in expected]
    total = sum((p.usd for p in expected if p.usd is not None), Decimal(0))
    assert report.total_usd == total
    gate = evaluate(df, df, GateThresholds(max_total_cost=total * 2, max_p95_ttft_regression=None), prices=prices)
    assert any(c.name == "total cost" and f"${total:.6f}" in c.value for c in gate.checks)
    # the Prometheus cost counter
    sink = PrometheusSink(pricer=default_pricer if prices is None else pricer_for(prices))
    for r in recs:
        sink.add(r, [])
    for r, p in zip(recs, expected, strict=True):
        if p.usd is None:
            assert value(sink, "lens_unpriced_requests_total", target=r.target) == 1, r.target
        else:
            assert value(sink, "lens_cost_usd_total", target=r.target) == float(p.usd), r.target
            assert value(sink, "lens_unpriced_requests_total", target=r.target) == 0
    # budgets: BudgetWatch while the burst runs, and today's spend afterwards
    spec = BurstSpec.model_validate({"targets": [{"provider": "openai", "model": "gpt-4o"}]})
    watch = BudgetWatch(check_budget(spec, per_burst_usd="100", per_day_usd=None, prices=prices))
    for r in recs:
        watch.add(r, [])
    assert watch.spent == total and watch.unpriced == report.unpriced
    from lens.store.base import RunInfo
    from lens.store.sql import open_store

    store = open_store(tmp_path / "lens.db")
    try:
        store.start_run(RunInfo(run_id="run-1", name="x", started_at=recs[0].started_at))
        store.add_many(recs, [])
        store.flush()
        assert spent_on(store, recs[0].started_at.date(), prices=prices) == total
    finally:
        store.close()
    # price_request, for the token-only rows it can describe
    for r, p in zip(recs, expected, strict=True):
        if r.status == "ok" and r.input_tokens and not r.cache_write_tokens \
                and r.provider not in ("vllm",):  # GPU-hour needs a duration it cannot take
            assert price_request(
                r.provider, r.model, input_tokens=r.input_tokens, output_tokens=r.output_tokens or 0,
                cached_input_tokens=r.cached_input_tokens or 0, endpoint_host=r.endpoint_host,
                prices=prices) == p.usd, r.target  # fmt: skip


def test_whatif_prices_a_hypothetical_request_by_the_same_rule(prices: Path | None) -> None:
    recs = requests()
    priced, _ = price_frame(records_to_frame(recs), prices)
    table = whatif_costs(priced, prices, requests_per_day=1000, prompt_tokens=700,
                         output_tokens=300).set_index("target")
    for r in recs:
        want = price_row(UsageRow(r.provider, r.model, r.endpoint_host, r.started_at,
                                  input_tokens=700, output_tokens=300, e2e_ms=r.e2e_ms,
                                  concurrency=r.concurrency), prices)
        got = table.loc[r.target]
        assert got["priced_by"] == want.source, r.target
        if want.usd is None:
            assert math.isnan(got["usd_per_request"]) and math.isnan(got["usd_per_month"])
        else:
            assert got["usd_per_request"] == float(want.usd)
            assert got["usd_per_month"] == float(want.usd * 30_000)
    assert table.loc["t07", "priced_by"] == "unpriced:self-hosted"  # ollama, not $0
    assert table.loc["t03", "priced_by"] == "free:simulated"
