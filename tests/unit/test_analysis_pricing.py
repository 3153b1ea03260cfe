"""The one pricing rule per request (lens.analysis.pricing), checked against genai-prices
itself and against the vectorised frame version on thousands of random rows."""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from genai_prices import Usage, calc_price

from lens.analysis.cost import PricingReport, price_frame
from lens.analysis.genai_rates import reduce
from lens.analysis.prices import overrides_from_dict
from lens.analysis.pricing import (
    PriceBook,
    UsageRow,
    half_hour,
    price_book,
    price_row,
)
from lens.analysis.rates import ExactRate, Rate, TokenRate, split_tokens
from lens.record import RequestRecord
from lens.record.frames import records_to_frame

JUNE_1 = datetime(2025, 6, 1, 12, tzinfo=UTC)
OVERRIDES = overrides_from_dict({
    "model": [
        {"model": "acme-*", "provider": "openai_compat", "input_mtok": "0.6",
         "cached_input_mtok": "0.06", "cache_write_mtok": "0.75", "output_mtok": "2.4"},
        # more decimal places than a double can scale exactly: the row-by-row float path
        {"model": "odd-*", "input_mtok": "0.1234567890123456789012", "output_mtok": "3.3"},
        {"model": "sim-priced", "provider": "sim", "input_mtok": 1, "output_mtok": 2},
    ],
    "gpu_hour": [{"model": "llama-8b", "provider": "vllm", "usd_per_gpu_hour": "2.10",
                  "gpus": 2}],
})  # fmt: skip
# (provider, model, endpoint_host): every branch of the rule
KEYS = [
    ("openai", "gpt-4o", "api.openai.com:443"),
    ("openai", "o3", "api.openai.com:443"),  # price cut on 2025-06-10
    ("anthropic", "claude-sonnet-4-20250514", "api.anthropic.com"),
    ("gemini", "gemini-2.5-pro", "generativelanguage.googleapis.com"),  # tiers at 200k
    ("openai_compat", "deepseek-chat", "api.deepseek.com"),  # by URL; off-peak hours
    ("groq", "llama-3.3-70b-versatile", "api.groq.com"),
    ("openai_compat", "acme-support-7b", "llm.acme.internal"),
    ("openai_compat", "odd-model", "h"),
    ("vllm", "llama-8b", "gpu1:8000"),
    ("vllm", "mistral-7b", "gpu1:8000"),
    ("ollama", "llama3", "localhost:11434"),
    ("llamacpp", "qwen", "127.0.0.1:8080"),
    ("sim", "sim-fast", "127.0.0.1:1"),
    ("sim", "sim-priced", "127.0.0.1:1"),
    ("openai_compat", "no-such-model-xyz", "api.example"),
    ("openai_compat", "exact-model", "h"),  # priced by genai-prices per usage (see below)
]
STATUSES = ["ok"] * 6 + ["timeout", "stream_error", "truncated", "http_error", "rate_limited",
                         "overloaded", "network"]


class _WithExact(PriceBook):
    """A book where one model takes the ExactRate fallback (gemini-2.5-pro's prices)."""

    def _resolve(self, provider: str, model: str, host: str, when: datetime) -> Rate:
        if model == "exact-model":
            return ExactRate("genai-prices:exact", _model_price("gemini-2.5-pro", "google", when))
        return super()._resolve(provider, model, host, when)


def _model_price(model: str, provider_id: str, when: datetime) -> Any:
    return calc_price(Usage(), model, provider_id=provider_id,
                      genai_request_timestamp=when).model_price


def _count(rng: random.Random, big: bool) -> int | None:
    if rng.random() < 0.1:
        return None
    return rng.choice([0, rng.randint(1, 50), rng.randint(50, 5000),
                       rng.randint(150_000, 450_000) if big else rng.randint(1, 9)])


def random_records(n: int, seed: int) -> list[RequestRecord]:
    rng = random.Random(seed)
    start = datetime(2025, 5, 20, tzinfo=UTC)
    out = []
    for i in range(n):
        prov, model, host = rng.choice(KEYS)
        inp = _count(rng, big=True)
        at: datetime | None = start + timedelta(minutes=rng.randint(0, 60 * 24 * 40),
                                                seconds=rng.random() * 60)
        if rng.random() < 0.05 and model != "deepseek-chat":
            at = None  # today's price (deepseek's changes at 16:30 and 00:30 could race it)
        out.append(RequestRecord(
            run_id="r", request_id=f"q{i}", started_at=at,  # type: ignore[arg-type]  # missing dates occur in frames
            provider=prov, model=model,
            endpoint_host=host, status=rng.choice(STATUSES),
            tokens_estimated=rng.random() < 0.2,
            input_tokens=inp, cached_input_tokens=_count(rng, big=False),
            cache_write_tokens=_count(rng, big=False), output_tokens=_count(rng, big=False),
            reasoning_tokens=_count(rng, big=False),
            e2e_ms=None if rng.random() < 0.1 else round(rng.uniform(5, 90_000), rng.randint(0, 4)),
            concurrency=rng.choice([0, 1, 1, 2, 3, 7, 64]),
        ))  # fmt: skip
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_frame_and_row_agree_on_random_rows(seed: int) -> None:
    recs = random_records(1500, seed)
    book = _WithExact(OVERRIDES)
    df = records_to_frame(recs)
    out, rep = price_frame(df, book)
    fold = PricingReport()
    total = Decimal(0)
    for i, r in enumerate(recs):
        p = book.price(r)
        assert out["cost_source"].iloc[i] == p.source, (i, r)
        if p.usd is None:
            assert math.isnan(out["cost_usd"].iloc[i]), (i, r)
        else:
            assert out["cost_usd"].iloc[i] == float(p.usd), (i, r, p)  # identical, not approx
            total += p.usd
        fold.add(r.provider, r.model, p)
        # a frame row (numpy scalars, NaN for None) prices the same as the record
        assert price_row(df.iloc[i].to_dict(), book) == p
    assert rep.total_usd == total == fold.total_usd  # Decimal-exact
    assert rep.by_source == fold.by_source and rep.unpriced == fold.unpriced
    assert rep.priced_rows == fold.priced_rows
    # every branch of the rule occurred
    sources = set(out["cost_source"].astype(str))
    for s in ("gpu-hour", "override", "free:simulated", "unpriced:self-hosted",
              "unpriced:unknown-model", "unpriced:no-usage", "unpriced:no-duration",
              "unbilled:rate_limited", "genai-prices:exact", "genai-prices:google/gemini-2.5-pro"):
        assert s in sources


def test_genai_rows_equal_genai_prices_itself() -> None:
    """Ground truth: every genai-priced random row against genai-prices' own calc_price at
    the request's exact timestamp (lens prices at the half-hour)."""
    ids = {"openai": "openai", "anthropic": "anthropic", "gemini": "google", "groq": "groq"}
    book = PriceBook()
    checked = 0
    for r in random_records(1200, 7):
        p = book.price(r)
        if not p.source.startswith("genai-prices:"):
            continue
        u, c, w, o = split_tokens(r.input_tokens or 0, r.cached_input_tokens or 0,
                                  r.cache_write_tokens or 0, r.output_tokens or 0,
                                  r.reasoning_tokens or 0)
        usage = Usage(input_tokens=u + c + w, cache_read_tokens=c, cache_write_tokens=w,
                      output_tokens=o)
        if r.provider in ids:
            want = calc_price(usage, r.model, provider_id=ids[r.provider],
                              genai_request_timestamp=r.started_at).total_price
        else:
            want = calc_price(usage, r.model, provider_api_url=f"https://{r.endpoint_host}",
                              genai_request_timestamp=r.started_at).total_price
        assert p.usd == want, (r, p, want)
        checked += 1
    assert checked > 300


def test_hand_computed_prices() -> None:
    def rec(provider: str, model: str, at: datetime = JUNE_1, **kw: Any) -> RequestRecord:
        kw.setdefault("endpoint_host", "api.example")
        return RequestRecord(run_id="r", request_id="x", started_at=at, provider=provider,
                             model=model, **kw)

    # gpt-4o: $2.50 / M input, $1.25 cached, $10 output
    assert price_row(rec("openai", "gpt-4o", input_tokens=1000, cached_input_tokens=200,
                         output_tokens=500)).usd == Decimal("0.00725")
    # gemini-2.5-pro above 200k prompt tokens: $2.50 / $15 on every token
    big = price_row(rec("gemini", "gemini-2.5-pro", input_tokens=300_000, output_tokens=1000))
    assert big == (Decimal("0.765"), "genai-prices:google/gemini-2.5-pro")
    # deepseek-chat: $0.27 / M input, half price off-peak from 16:30 UTC, to the half-hour
    def deepseek(at: datetime) -> Decimal | None:
        return price_row(rec("openai_compat", "deepseek-chat", at=at,
                             endpoint_host="api.deepseek.com", input_tokens=1_000_000)).usd

    assert deepseek(datetime(2025, 6, 1, 16, 29, 59, tzinfo=UTC)) == Decimal("0.27")
    assert deepseek(datetime(2025, 6, 1, 16, 30, tzinfo=UTC)) == Decimal("0.135")


def test_reduction_matches_genai_on_tiered_models_and_falls_back_when_it_cannot() -> None:
    mp = _model_price("gemini-2.5-pro", "google", JUNE_1)
    rate = reduce(mp, "x")
    assert isinstance(rate, TokenRate) and rate.starts == (200_000,)
    for usage in [(0, 0, 0, 0), (200_000, 0, 0, 9), (199_999, 1, 0, 3), (150_000, 50_001, 0, 1)]:
        assert rate.usd(*usage) == calc_price(
            Usage(input_tokens=sum(usage[:3]), cache_read_tokens=usage[1], output_tokens=usage[3]),
            "gemini-2.5-pro", provider_id="google", genai_request_timestamp=JUNE_1).total_price
    from genai_prices.types import ModelPrice, Tier, TieredPrices

    # a tier from the first token: nothing to measure the base tier with
    odd = ModelPrice(input_mtok=TieredPrices(Decimal(1), [Tier(0, Decimal(2))]),
                     output_mtok=Decimal(3))
    assert isinstance(reduce(odd, "odd"), ExactRate)


def test_frames_without_dates_or_rows() -> None:
    df = records_to_frame(random_records(50, 5)).drop(columns=["started_at"])
    out, rep = price_frame(df, OVERRIDES)
    assert len(out) == 50 and rep.priced_rows + sum(rep.unpriced.values()) == 50
    out, rep = price_frame(df.iloc[:0], OVERRIDES)
    assert out.empty and rep.total_usd == 0 and rep.unpriced == {}


def test_half_hour_slots() -> None:
    a = half_hour(datetime(2025, 6, 1, 16, 29, 59, 999999, tzinfo=UTC))
    assert half_hour(datetime(2025, 6, 1, 16, 30, tzinfo=UTC)) == a + 1
    assert half_hour(datetime(2025, 6, 1, 16, 30)) == a + 1  # naive means UTC
    assert half_hour(pd.Timestamp("2025-06-01T18:30:00+02:00")) == a + 1
    now = half_hour(datetime.now(UTC))
    assert half_hour(None) in (now, now + 1) and half_hour(pd.NaT) in (now, now + 1)


def test_usage_row_from_a_mapping_with_missing_values() -> None:
    row = UsageRow.from_mapping({"provider": "openai", "model": "gpt-4o",
                                 "input_tokens": np.int64(1000), "output_tokens": pd.NA,
                                 "e2e_ms": float("nan"), "status": None, "extra": 1})
    assert row.input_tokens == 1000 and row.output_tokens is None and row.e2e_ms is None
    assert row.status == "ok"
    assert price_row(row).usd == Decimal("0.0025")


def test_price_book_reuses_books_and_loads_files(tmp_path: Any) -> None:
    assert price_book() is price_book(None)
    assert price_book(OVERRIDES) is price_book(OVERRIDES)
    book = PriceBook()
    assert price_book(book) is book
    f = tmp_path / "p.toml"
    f.write_text('[[model]]\nmodel = "m"\ninput_mtok = 1\noutput_mtok = 1\n')
    assert price_row(UsageRow("openai_compat", "m", input_tokens=10), f).source == "override"


def test_per_call_speed_after_warm_up() -> None:
    """The per-row function runs on the event loop (BudgetWatch, PrometheusSink)."""
    book = PriceBook(OVERRIDES)
    rec = RequestRecord(run_id="r", request_id="x", started_at=datetime.now(UTC),
                        provider="openai", model="gpt-4o", endpoint_host="api.openai.com:443",
                        input_tokens=1234, cached_input_tokens=200, output_tokens=345,
                        reasoning_tokens=20)
    book.price(rec)
    best = math.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(2000):
            book.price(rec)
        best = min(best, (time.perf_counter() - t) / 2000)
    assert best < 50e-6, f"{best * 1e6:.1f} us per call"
