"""What servers say about themselves reaches the record: the model snapshot that answered,
OpenAI's system_fingerprint, and an allow-list of routing headers (never a secret)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from helpers_probe_dialects import SPLITS, chunks_of, read_stream

from lens.embed.wire import nonstream_deltas
from lens.probe.dialects import get_dialect
from lens.probe.http import Headers
from lens.probe.measure import Measurement
from lens.probe.routing import routing_json, served_model
from lens.record import RequestRecord


def _h(pairs: list[tuple[str, str]]) -> Headers:
    h = Headers()
    for k, v in pairs:
        h.add(k.lower(), v)
    return h

KEY = "sk-proj-abcdefghijklmnopqrstuvwx0123456789"

# (fixture, dialect, model asked for, server_model stored, fingerprint stored)
STREAMS = [
    ("openai_chat_basic.sse", "openai_chat", "gpt-4o-mini", "gpt-4o-mini-2024-07-18",
     "fp_34a54ae93c"),
    ("openai_chat_reasoning_usage.sse", "openai_chat", "o4-mini", "o4-mini-2025-04-16", None),
    ("compat_azure_filter.sse", "openai_compat", "gpt-4o", "gpt-4o-2024-11-20", "fp_ee1d74bde0"),
    ("anthropic_thinking.sse", "anthropic", "claude-sonnet-4-0", "claude-sonnet-4-20250514",
     None),
    ("gemini_thinking.sse", "gemini", "gemini-flash-latest", "gemini-2.5-flash", None),
    ("openai_responses_reasoning.sse", "openai_responses", "o4-mini", "o4-mini-2025-04-16",
     None),
    # the model asked for is the one that answered: nothing new to keep
    ("openai_chat_basic.sse", "openai_chat", "gpt-4o-mini-2024-07-18", None, "fp_34a54ae93c"),
    ("gemini_thinking.sse", "gemini", "gemini-2.5-flash", None, None),
]


def _measure(fixture: str, dialect_name: str, model: str, split: str) -> RequestRecord:
    dialect = get_dialect(dialect_name)
    m = Measurement(RequestRecord("r", "q", datetime.now(UTC), model=model))
    m.start(0)
    framer = dialect.new_framer()
    t = 1_000_000
    for piece in chunks_of(read_stream(fixture), split, seed=3):
        for ev in framer.feed(piece):
            t += 1_000_000
            m.on_event(t, dialect.parse(ev))
    for ev in framer.close():
        m.on_event(t, dialect.parse(ev))
    rec, _chunks = m.finish(t_ns=t + 1)
    return rec


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("fixture", "dialect", "asked", "server_model", "fingerprint"), STREAMS)
def test_recorded_streams_fill_server_model_and_fingerprint(
    fixture: str, dialect: str, asked: str, server_model: str | None, fingerprint: str | None,
    split: str,
) -> None:
    rec = _measure(fixture, dialect, asked, split)
    assert rec.server_model == server_model
    assert rec.system_fingerprint == fingerprint


def test_a_header_naming_the_snapshot_wins_over_the_body_alias() -> None:
    # Azure's Responses API: the body says the deployment alias, x-ms-served-model the snapshot
    m = Measurement(RequestRecord("r", "q", datetime.now(UTC), model="gpt-5-nano"))
    m.start(0)
    d = get_dialect("openai_responses")
    from lens.probe.dialects.base import RawEvent

    body = {"type": "response.created", "response": {"model": "gpt-5-nano", "status": "x"}}
    m.on_event(10, d.parse(RawEvent(json.dumps(body), "response.created")))
    m.served_model_header(served_model(_h([("X-MS-Served-Model", "gpt-5-nano-2025-08-07")])))
    rec, _ = m.finish(t_ns=20)
    assert rec.server_model == "gpt-5-nano-2025-08-07"


def test_secrets_in_a_reported_model_are_scrubbed_and_bounded() -> None:
    m = Measurement(RequestRecord("r", "q", datetime.now(UTC), model="m"), secrets=[KEY])
    m.start(0)
    chunk = {"model": f"proxy-echo {KEY} " + "x" * 500, "system_fingerprint": f"fp {KEY}",
             "choices": [{"delta": {"content": "hi"}}]}
    from lens.probe.dialects.base import RawEvent

    m.on_event(5, get_dialect("openai_chat").parse(RawEvent(json.dumps(chunk))))
    rec, _ = m.finish(t_ns=9)
    assert KEY not in (rec.server_model or "") and KEY not in (rec.system_fingerprint or "")
    assert rec.server_model is not None and len(rec.server_model) <= 200
    assert "[REDACTED]" in (rec.system_fingerprint or "")


def test_non_streamed_bodies_name_the_model_too() -> None:
    body = json.dumps({"model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
                       "choices": [{"message": {"content": "hi"}}]}).encode()
    done = nonstream_deltas("openai_chat", body)[-1]
    assert (done.kind, done.server_model, done.system_fingerprint) == (
        "done", "gpt-4o-mini-2024-07-18", "fp_1")
    body = json.dumps({"modelVersion": "gemini-2.5-flash", "candidates": []}).encode()
    assert nonstream_deltas("gemini", body)[-1].server_model == "gemini-2.5-flash"


def test_routing_keeps_the_allow_list_only() -> None:
    h = _h([
        ("CF-RAY", "8c1f2a3b4c5d6e7f-SJC"),
        ("X-Served-By", "cache-lcy1128-LCY, cache-sjc3132-SJC"),
        ("x-amz-cf-pop", "SFO5-C1"),
        ("x-ms-region", "West US"),
        ("azureml-model-session", "d20250101-1-123456"),
        ("x-gemini-service-tier", "priority"),
        ("Server", "cloudflare"),
        # never kept: ids, identity, cookies, credentials
        ("x-request-id", "req_123"), ("openai-organization", "org-secret-name"),
        ("set-cookie", "__cf_bm=abc"), ("authorization", f"Bearer {KEY}"),
        ("openai-project", "proj_abc"),
    ])
    got = json.loads(routing_json(h, [KEY]) or "{}")
    assert got == {"cf-ray": "SJC", "x-served-by": "LCY,SJC", "x-amz-cf-pop": "SFO5-C1",
                   "x-ms-region": "West US", "azureml-model-session": "d20250101-1-123456",
                   "x-gemini-service-tier": "priority", "server": "cloudflare"}


def test_routing_values_are_scrubbed_bounded_and_absent_when_nothing_fits() -> None:
    assert routing_json(_h([("x-request-id", "abc")])) is None
    assert routing_json(_h([("cf-ray", "no-pop-here")])) is None  # no IATA suffix
    h = _h([("server", f"gw {KEY} " + "y" * 300)])
    got = json.loads(routing_json(h, [KEY]) or "{}")
    assert KEY not in got["server"] and len(got["server"]) <= 64
