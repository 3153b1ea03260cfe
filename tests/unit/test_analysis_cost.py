"""Cost figures against prices read from genai-prices' bundled data (computed by hand)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from lens.analysis.cost import price_frame
from lens.analysis.frames import records_to_frame
from lens.analysis.prices import load_overrides, overrides_from_dict
from lens.errors import AnalysisError, ConfigError
from lens.record import RequestRecord

ROOT = Path(__file__).resolve().parents[2]
JUNE_1 = datetime(2025, 6, 1, 12, tzinfo=UTC)


def row(provider: str, model: str, *, at: datetime = JUNE_1, **kw: object) -> RequestRecord:
    return RequestRecord(run_id="r", request_id=f"{provider}-{model}-{len(kw)}-{at:%j%H}",
                         started_at=at, provider=provider, model=model,
                         endpoint_host=kw.pop("endpoint_host", "api.example"),  # type: ignore[arg-type]
                         **kw)  # type: ignore[arg-type]


def priced(*records: RequestRecord, overrides: object = None) -> tuple[pd.DataFrame, object]:
    return price_frame(records_to_frame(records), overrides)  # type: ignore[arg-type]


def test_gpt4o_with_cached_input() -> None:
    # gpt-4o: $2.50 / M input, $1.25 / M cached input, $10 / M output
    df, rep = priced(row("openai", "gpt-4o", input_tokens=1000, cached_input_tokens=200,
                         output_tokens=500))
    assert df["cost_usd"].iloc[0] == pytest.approx(800 * 2.5e-6 + 200 * 1.25e-6 + 500 * 10e-6)
    assert df["cost_source"].iloc[0] == "genai-prices:openai/gpt-4o"
    assert rep.total_usd == Decimal("0.00725")


def test_claude_sonnet_cache_read_and_write() -> None:
    # claude-sonnet-4: $3 / M input, $0.30 cache read, $3.75 cache write, $15 output
    r = row("anthropic", "claude-sonnet-4-20250514", input_tokens=1000,
            cached_input_tokens=200, cache_write_tokens=100, output_tokens=500)
    df, rep = priced(r)
    assert df["cost_source"].iloc[0].startswith("genai-prices:anthropic/claude-sonnet-4")
    assert rep.total_usd == Decimal("0.010035")  # 700*3 + 200*.3 + 100*3.75 + 500*15 (per M)
    # Anthropic's raw convention (input excludes cache tokens) is recognised and added back
    raw = row("anthropic", "claude-sonnet-4-20250514", input_tokens=50,
              cached_input_tokens=200, cache_write_tokens=100, output_tokens=0)
    _, rep2 = priced(raw)
    assert rep2.total_usd == Decimal("0.000585")  # 50*3 + 200*.3 + 100*3.75 per M


def test_reasoning_billed_as_output_and_price_in_force_on_the_date() -> None:
    # o3 cost $10/$40 per M until 2025-06-10, then $2/$8
    before = row("openai", "o3", input_tokens=1000, output_tokens=300, reasoning_tokens=200)
    after = row("openai", "o3", at=datetime(2025, 6, 20, tzinfo=UTC), input_tokens=1000,
                output_tokens=300, reasoning_tokens=200)
    apart = row("openai", "o3", at=datetime(2025, 6, 21, tzinfo=UTC), input_tokens=1000,
                output_tokens=100, reasoning_tokens=200)  # reasoning reported separately
    df, rep = priced(before, after, apart)
    assert df["cost_usd"].tolist() == pytest.approx([0.01 + 0.012, 0.002 + 0.0024,
                                                     0.002 + 0.0024])
    assert rep.total_usd == Decimal("0.0308")  # 0.022 + 2 x 0.0044


def test_tiered_prices() -> None:
    # gemini-2.5-pro: $1.25 / $10 per M up to 200k prompt tokens, $2.50 / $15 above
    small = row("gemini", "gemini-2.5-pro", input_tokens=100_000, output_tokens=1000)
    large = row("gemini", "gemini-2.5-pro", input_tokens=300_000, output_tokens=1000,
                at=datetime(2025, 6, 1, 13, tzinfo=UTC))
    df, rep = priced(small, large)
    assert df["cost_usd"].tolist() == pytest.approx([0.125 + 0.01, 0.75 + 0.015])
    assert rep.total_usd == Decimal("0.9")
    assert set(df["cost_source"]) == {"genai-prices:google/gemini-2.5-pro"}


def test_unknown_models_reported_by_name_not_zero() -> None:
    # (a vllm row was here; self-hosted providers now have their own reason, tested below)
    df, rep = priced(row("openai_compat", "my-private-model", input_tokens=10, output_tokens=10),
                     row("openai", "no-such-model-xyz", input_tokens=10, output_tokens=10))
    assert df["cost_usd"].isna().all()
    assert set(df["cost_source"]) == {"unpriced:unknown-model"}
    assert rep.unpriced_models == ["openai/no-such-model-xyz", "openai_compat/my-private-model"]
    with pytest.raises(AnalysisError, match="openai_compat/my-private-model"):
        rep.raise_if_unpriced()


def test_self_hosted_is_unpriced_and_named_with_the_fix_unless_a_gpu_hour_prices_it() -> None:
    rows = [row(p, "my-private-model", input_tokens=10, output_tokens=10, e2e_ms=1800.0)
            for p in ("vllm", "llamacpp", "ollama")]
    df, rep = priced(*rows)
    assert df["cost_usd"].isna().all()  # not a silent $0
    assert set(df["cost_source"]) == {"unpriced:self-hosted"}
    assert rep.unpriced == {f"{p}/my-private-model (self-hosted: add a [[gpu_hour]] price)": 1
                            for p in ("vllm", "llamacpp", "ollama")}
    assert rep.total_usd == 0 and rep.priced_rows == 0
    ov = overrides_from_dict({"gpu_hour": [{"model": "*", "provider": "ollama",
                                            "usd_per_gpu_hour": "0.72"}]})
    df, rep = priced(*rows, overrides=ov)
    assert df["cost_source"].tolist() == ["unpriced:self-hosted"] * 2 + ["gpu-hour"]
    assert rep.by_source == {"gpu-hour": Decimal("0.00036")}  # $0.72/h x 1.8 s


def test_simulated_endpoint_is_free_unless_an_override_prices_it() -> None:
    df, rep = priced(row("sim", "sim-small", input_tokens=10, output_tokens=10))
    assert df["cost_usd"].tolist() == [0.0] and set(df["cost_source"]) == {"free:simulated"}
    assert rep.unpriced_models == []
    ov = overrides_from_dict({"model": [{"provider": "sim", "model": "sim-small",
                                          "input_mtok": 1.0, "output_mtok": 2.0}]})
    df, _ = priced(row("sim", "sim-small", input_tokens=10, output_tokens=10), overrides=ov)
    assert set(df["cost_source"]) == {"override"}
    assert df["cost_usd"].iloc[0] == pytest.approx((10 * 1.0 + 10 * 2.0) / 1e6)


def test_refused_requests_are_unbilled_but_missing_usage_is_not_silent() -> None:
    refused = row("openai", "gpt-4o", status="rate_limited", input_tokens=500,
                  tokens_estimated=True)
    no_usage = row("openai", "gpt-4o", status="ok", endpoint_host="x")
    df, rep = priced(refused, no_usage)
    assert df["cost_usd"].iloc[0] == 0.0
    assert df["cost_source"].iloc[0] == "unbilled:rate_limited"
    assert math.isnan(df["cost_usd"].iloc[1])
    assert df["cost_source"].iloc[1] == "unpriced:no-usage"
    assert rep.unpriced == {"openai/gpt-4o (no usage)": 1}


def test_token_override_wins() -> None:
    ov = overrides_from_dict({"model": [{"model": "acme-*", "provider": "openai_compat",
                                         "input_mtok": 0.6, "cached_input_mtok": 0.06,
                                         "output_mtok": 2.4}]})
    df, rep = priced(row("openai_compat", "acme-7b", input_tokens=1000, cached_input_tokens=100,
                         output_tokens=200),
                     row("openai_compat", "other", input_tokens=1, output_tokens=1),
                     overrides=ov)
    assert df["cost_source"].tolist() == ["override", "unpriced:unknown-model"]
    assert rep.by_source["override"] == Decimal("0.001026")  # 900*.6 + 100*.06 + 200*2.4 per M


def test_gpu_hour_override() -> None:
    ov = overrides_from_dict({"gpu_hour": [{"model": "llama", "provider": "vllm",
                                            "usd_per_gpu_hour": "2.10", "gpus": 2}]})
    rs = [row("vllm", "llama", e2e_ms=3600.0, concurrency=4, output_tokens=10),
          row("vllm", "llama", e2e_ms=None, concurrency=1, status="timeout")]
    df, rep = priced(*rs, overrides=ov)
    # 2 GPUs x $2.10/h / 3600 s x 3.6 s / 4 in flight
    assert df["cost_usd"].iloc[0] == pytest.approx(2 * 2.10 / 3600 * 3.6 / 4)
    assert df["cost_source"].tolist() == ["gpu-hour", "unpriced:no-duration"]
    assert rep.by_source["gpu-hour"] == Decimal("0.00105")


def test_override_file_validation(tmp_path: Path) -> None:
    ov = load_overrides(ROOT / "data" / "prices.toml")
    assert ov.find("sim", "sim-small", "127.0.0.1:1") is not None
    assert ov.find("vllm", "meta-llama/Llama-3.1-8B-Instruct", "h") is not None
    bad = tmp_path / "p.toml"
    bad.write_text('[[model]]\nmodel = "x"\ninput_mtok = 1\noutput_mtok = 1\ninptu = 2\n')
    with pytest.raises(ConfigError) as err:
        load_overrides(bad)
    assert str(bad) in str(err.value) and "model[0].inptu" in str(err.value)
    bad.write_text('[[gpu_hour]]\nmodel = "x"\nusd_per_gpu_hour = -1\n')
    with pytest.raises(ConfigError, match=r"gpu_hour\[0\].usd_per_gpu_hour"):
        load_overrides(bad)


def test_index_preserved_and_bulk_fast() -> None:
    import time

    recs = [row("openai", "gpt-4o", input_tokens=100 + i, output_tokens=i % 50)
            for i in range(20_000)]
    df = records_to_frame(recs)
    df.index = df.index + 1000
    t = time.perf_counter()
    out, rep = price_frame(df)
    assert time.perf_counter() - t < 5
    assert list(out.index[:2]) == [1000, 1001]
    assert rep.priced_rows == 20_000
    expected = sum(Decimal(100 + i) * Decimal("2.5") + Decimal(i % 50) * 10
                   for i in range(20_000)) / 1_000_000
    assert rep.total_usd == expected
