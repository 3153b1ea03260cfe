"""Real SDK clients (openai, anthropic, google-genai) instrumented with lens.embed, streaming
from the simulated endpoint over HTTP; every record is checked against the sim's ground truth."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lens.embed
from lens.embed import EmbedSink, Sampler, SampleRule
from lens.record import RequestRecord
from lens.sim import SimThread, start_sim_in_thread

PROFILE = {"header_ms": 0, "ttft_ms": 30, "itl_ms": 4, "itl_jitter": 0, "output_tokens": 12}
MSG = [{"role": "user", "content": "write to ops@example.com about the outage"}]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with start_sim_in_thread({"default": PROFILE}, seed=3) as s:
        yield s


def _collect(**kw: object) -> tuple[list[RequestRecord], EmbedSink]:
    records: list[RequestRecord] = []
    return records, EmbedSink(callback=records.append, **kw)  # type: ignore[arg-type]


def check_against_truth(
    r: RequestRecord, sim: SimThread, *, dialect: str, streamed: bool = True, timing: bool = True
) -> None:
    assert r.status == "ok" and r.http_status == 200 and r.dialect == dialect, r.error
    assert r.runner == "embed" and r.server_request_id
    truth = sim.truth(r.server_request_id)
    assert r.output_tokens == truth.output_tokens and not r.tokens_estimated
    assert r.e2e_ms >= (r.last_token_ms or 0) >= (r.ttft_ms or 0) > 0
    assert r.headers_ms is not None and r.sent_ms is not None and r.sent_ms <= r.headers_ms
    if not streamed:
        assert r.ttft_ms == r.e2e_ms
        return
    tok = truth.token_events()
    assert r.n_chunks == len(tok)
    if not timing:
        return
    # Intervals on one monotonic clock: client-side gaps follow the server's write gaps.
    server_first_ms = (truth.first_text_ns - truth.headers_ns) / 1e6
    assert abs((r.ttft_ms - r.headers_ms) - server_first_ms) < 25, (r.ttft_ms, r.headers_ms, server_first_ms)
    server_decode_ms = (tok[-1].write_start_ns - tok[0].write_start_ns) / 1e6
    client_decode_ms = r.last_token_ms - r.ttft_ms
    assert abs(client_decode_ms - server_decode_ms) < 15 + 0.25 * server_decode_ms


def test_openai_chat_stream_and_non_stream(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    records, sink = _collect()
    prof = lens.embed.instrument(client, sink=sink)
    for _ in range(2):  # warm the SDK's lazy imports, then time
        list(client.chat.completions.create(model="gpt-sim", messages=MSG, stream=True, max_tokens=5))
        client.chat.completions.create(model="gpt-sim", messages=MSG, max_tokens=5)
    assert sink.flush(10)  # warm-up records delivered before we forget them
    del records[:]
    stream = client.chat.completions.create(model="gpt-sim", messages=MSG, stream=True,
                                            stream_options={"include_usage": True}, max_tokens=50)  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    plain = client.chat.completions.create(model="gpt-sim", messages=MSG, max_tokens=50)
    sink.close()
    streamed, whole = records
    check_against_truth(streamed, sim, dialect="openai_chat")
    assert streamed.output_chars == len(text) and streamed.provider == "openai" and streamed.model == "gpt-sim"
    check_against_truth(whole, sim, dialect="openai_chat", streamed=False)
    assert whole.output_tokens == plain.usage.completion_tokens
    assert prof.internal_errors == 0 and streamed.prompt_hash == whole.prompt_hash


def test_async_openai_responses_stream(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    records, sink = _collect()

    async def main() -> str:
        client = openai.AsyncOpenAI(base_url=sim.base_url("openai_responses"), api_key="sk-sim", max_retries=0)
        lens.embed.instrument(client, sink=sink)
        out: list[str] = []
        # Twice: the SDK's first use imports its response types while the app "reads" the
        # first event (seconds on a busy box); lens stamps consumption, so time the second.
        for _ in range(2):
            out = []
            stream = await client.responses.create(model="gpt-sim", input="hi", stream=True)
            async for ev in stream:
                if ev.type == "response.output_text.delta":
                    out.append(ev.delta)
        await client.close()
        return "".join(out)

    text = asyncio.run(main())
    sink.close()
    first, r = records
    assert first.status == "ok" and first.output_tokens == r.output_tokens
    check_against_truth(r, sim, dialect="openai_responses")
    assert r.output_chars == len(text)


def test_anthropic_sync_and_async(sim: SimThread) -> None:
    anthropic = pytest.importorskip("anthropic")
    records, sink = _collect()
    client = anthropic.Anthropic(base_url=sim.base_url("anthropic"), api_key="k", max_retries=0)
    lens.embed.instrument(client, sink=sink)
    for _ in range(2):  # the first use of an SDK path pays its lazy imports: time the second
        with client.messages.stream(model="claude-sim", max_tokens=100, messages=MSG) as stream:
            text = "".join(stream.text_stream)

    async def main() -> None:
        aclient = anthropic.AsyncAnthropic(base_url=sim.base_url("anthropic"), api_key="k", max_retries=0)
        lens.embed.instrument(aclient, sink=sink)
        for _ in range(2):
            async with aclient.messages.stream(model="claude-sim", max_tokens=100, messages=MSG) as s:
                async for _ in s.text_stream:
                    pass
        await aclient.close()

    asyncio.run(main())
    sink.close()
    assert len(records) == 4 and all(r.status == "ok" for r in records)
    # httpx trace phases: a new connection first (connect timed), then keep-alive reuse
    assert records[0].conn_reused is False and records[0].connect_ms is not None
    assert records[1].conn_reused is True and records[1].connect_ms is None
    for r in records[1::2]:
        check_against_truth(r, sim, dialect="anthropic")
        assert r.provider == "anthropic" and r.model == "claude-sim"
    assert records[1].output_chars == len(text)


def test_gemini_stream(sim: SimThread) -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=sim.base_url("gemini")))
    records, sink = _collect()
    lens.embed.instrument(client, sink=sink, provider="google")
    for _ in range(2):
        chunks = list(client.models.generate_content_stream(model="gemini-sim", contents="hi"))
    sink.close()
    _warm, r = records
    check_against_truth(r, sim, dialect="gemini")
    assert r.model == "gemini-sim" and r.provider == "google"
    assert r.output_tokens == chunks[-1].usage_metadata.candidates_token_count


def test_aiohttp_session_wrapper(sim: SimThread) -> None:
    import aiohttp

    records, sink = _collect()

    async def main() -> list[bytes]:
        async with aiohttp.ClientSession() as session:
            lens.embed.instrument(session, sink=sink)
            lens.embed.instrument_aiohttp(session, sink=sink)  # twice: still one record per call
            lines: list[bytes] = []
            for _ in range(2):
                async with session.post(sim.base_url("anthropic") + "/v1/messages", json={
                        "model": "claude-sim", "max_tokens": 40, "stream": True, "messages": MSG}) as resp:  # fmt: skip
                    async for line in resp.content:
                        lines.append(line)
            return lines

    lines = asyncio.run(main())
    sink.close()
    assert any(b"message_stop" in ln for ln in lines)
    first, second = records
    check_against_truth(first, sim, dialect="anthropic")
    check_against_truth(second, sim, dialect="anthropic")
    assert first.conn_reused is False and first.connect_ms is not None and second.conn_reused is True


def test_store_gets_records_without_text_and_sampling_applies(sim: SimThread, tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    db = tmp_path / "embed.db"
    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    prof = lens.embed.instrument(client, store=str(db),
                                 sample=Sampler(0.0, rules=[SampleRule(1.0, model="keep-*")]))  # fmt: skip
    for model in ("keep-me", "drop-me", "keep-too"):
        list(client.chat.completions.create(model=model, messages=MSG, stream=True, max_tokens=5))
    prof.close()
    assert prof.sampled_out == 1
    with sqlite3.connect(db) as con:
        rows = con.execute("select model, runner, prompt_hash, output_chars from requests order by model").fetchall()
        assert con.execute("select count(*) from chunks").fetchone()[0] >= 10
        assert con.execute("select count(*) from text_samples").fetchone()[0] == 0
        dump = "\n".join(con.iterdump())
    assert [r[0] for r in rows] == ["keep-me", "keep-too"] and {r[1] for r in rows} == {"embed"}
    assert all(r[2] and r[3] > 0 for r in rows)
    assert "ops@example.com" not in dump and "outage" not in dump  # no prompt text anywhere
    assert " the quick" not in dump  # no response text either


def test_keep_text_with_real_sdk_stores_redacted_prompt_and_response(sim: SimThread, tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    db = tmp_path / "text.db"
    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    prof = lens.embed.instrument(client, store=str(db), keep_text=True)
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="m", messages=MSG, stream=True, max_tokens=5) if c.choices)  # fmt: skip
    prof.close()
    with sqlite3.connect(db) as con:
        (prompt, response), = con.execute("select prompt_text, response_text from text_samples").fetchall()
    assert prompt == "write to [REDACTED:email] about the outage"
    assert response == text


def test_full_queue_drops_and_the_app_is_not_slowed(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    gate = threading.Event()
    sink = EmbedSink(callback=lambda r: gate.wait(30), maxsize=1, batch=1)
    bare = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    inst = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    prof = lens.embed.instrument(inst, sink=sink)

    def timed(client: object) -> float:
        t0 = time.perf_counter()
        out = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(  # type: ignore[attr-defined]
            model="m", messages=MSG, stream=True, max_tokens=12) if c.choices)  # fmt: skip
        assert len(out.split()) == 12
        return time.perf_counter() - t0

    try:
        timed(bare), timed(inst)  # warm connections
        bare_s = sorted(timed(bare) for _ in range(4))
        inst_s = sorted(timed(inst) for _ in range(4))
        assert sink.dropped >= 3  # 1 with the writer, 1 queued, the rest dropped
        assert prof.internal_errors == 0
        # ~75 ms calls; the instrumented median stays within noise of the bare one
        assert inst_s[1] < bare_s[1] * 1.3 + 0.02, (bare_s, inst_s)
    finally:
        gate.set()
        sink.close()


def test_fan_out_to_prometheus_and_otel_sinks(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from lens.exporters.otel import OtelSink
    from lens.exporters.prometheus import PrometheusSink

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    prom = PrometheusSink(pricer=None)
    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    records: list[RequestRecord] = []
    prof = lens.embed.instrument(client, sinks=[prom, OtelSink(tracer_provider=provider)],
                                 callback=records.append, scenario="checkout")  # fmt: skip
    for _ in range(2):
        list(client.chat.completions.create(model="gpt-sim", messages=MSG, stream=True,
                                            stream_options={"include_usage": True}, max_tokens=6))  # fmt: skip
    prof.close()
    text = prom.exposition().decode()
    assert 'lens_requests_total{model="gpt-sim",provider="openai",region="local",scenario="checkout"' in text
    assert "lens_ttft_seconds_count" in text
    spans = exporter.get_finished_spans()
    assert len(spans) == 2 == len(records)
    assert {s.attributes["lens.server_request_id"] for s in spans} == {r.server_request_id for r in records}
    assert prof.sink.errors == {}


def test_aiohttp_lens_failure_and_cancellation_never_reach_the_app(sim: SimThread, monkeypatch) -> None:
    import aiohttp

    import lens.embed.call as call

    records, sink = _collect()
    url = sim.base_url("openai_chat") + "/chat/completions"
    body = {"model": "m", "stream": True, "max_tokens": 12, "messages": MSG,
            "stream_options": {"include_usage": True}}

    async def main() -> tuple[int, int]:
        async with aiohttp.ClientSession() as session:
            prof = lens.embed.instrument(session, sink=sink)
            async with session.post(url, json=body) as resp:  # normal
                n_ok = len([c async for c in resp.content.iter_chunked(7)])
            with monkeypatch.context() as mp:
                mp.setattr(call.Measurement, "on_event", lambda *a: 1 / 0)
                async with session.post(url, json=body) as resp:
                    n_broken = len(await resp.read())
            with pytest.raises(TimeoutError):  # the app cancels mid-stream
                async with asyncio.timeout(0.02), session.post(url, json=body) as resp:
                    async for _ in resp.content.iter_any():
                        pass
            assert prof.internal_errors == 1 and prof.inflight == 0
            return n_ok, n_broken

    n_ok, n_broken = asyncio.run(main())
    sink.close()
    assert n_ok > 5 and n_broken > 100
    (r,) = records  # the broken call and the cancelled one left no record
    # read 7 bytes at a time on a cold session: tokens and events are exact, timing is not
    check_against_truth(r, sim, dialect="openai_chat", timing=False)
