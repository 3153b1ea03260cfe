"""Sampling of embedded calls: deterministic per request id, by rate and by route/model."""

from __future__ import annotations

import uuid

import pytest

from lens.embed.sampling import Sampler, SampleRule, sample_fraction
from lens.errors import ConfigError


def test_decision_is_a_pure_function_of_the_request_id() -> None:
    ids = [uuid.uuid4().hex for _ in range(200)]
    a = Sampler(0.3)
    b = Sampler(0.3)  # another instance (another process) decides the same
    assert [a.keep(i) for i in ids] == [b.keep(i) for i in ids]
    assert all(0.0 <= sample_fraction(i) < 1.0 for i in ids)
    assert sample_fraction("abc") == sample_fraction("abc") != sample_fraction("abd")


def test_rate_keeps_about_that_fraction_and_nests() -> None:
    ids = [uuid.uuid4().hex for _ in range(4000)]
    kept10 = {i for i in ids if Sampler(0.1).keep(i)}
    kept50 = {i for i in ids if Sampler(0.5).keep(i)}
    assert 300 < len(kept10) < 500  # 400 expected; binomial sd ~19
    assert 1800 < len(kept50) < 2200
    assert kept10 <= kept50  # a call kept at 10% is kept at every higher rate
    assert all(Sampler(1.0).keep(i) for i in ids[:50])
    assert not any(Sampler(0.0).keep(i) for i in ids[:50])


def test_rules_by_route_and_model_first_match_wins() -> None:
    s = Sampler(
        0.0,
        rules=[
            SampleRule(1.0, model="gpt-4o*"),
            {"rate": 1.0, "route": "anthropic"},
            SampleRule(0.0, route="/v1/responses"),
            SampleRule(1.0, route="openai_*"),
        ],
    )
    rid = "x"
    assert s.keep(rid, dialect="gemini", path="/v1beta/models/g:streamGenerateContent", model="gpt-4o-mini")
    assert s.keep(rid, dialect="anthropic", path="/v1/messages", model="claude")
    assert not s.keep(rid, dialect="openai_responses", path="/v1/responses", model="o3")
    assert s.keep(rid, dialect="openai_chat", path="/v1/chat/completions", model="gpt-3.5")
    assert not s.keep(rid, dialect="gemini", path="/v1beta/models/g:generateContent", model="gemini")
    assert s.rate_for("gemini", "/p", "gemini") == 0.0


def test_bad_rates_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="outside"):
        Sampler(1.5)
    with pytest.raises(ConfigError):
        SampleRule(-0.1)
    assert Sampler.coerce(None).rate == 1.0 and Sampler.coerce(0.25).rate == 0.25
