"""LensTransport over httpx.MockTransport: records, passthrough bytes, and injected failures."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator

import httpx
import pytest

import lens.embed.call as call
import lens.embed.core as core
from lens.embed import EmbedSink, Profiler
from lens.embed.httpx_transport import (
    AsyncLensTransport,
    LensTransport,
    trace_phase,
    transports_for,
)
from lens.embed.wire import detect_dialect, nonstream_deltas, request_info
from lens.record import RequestRecord

URL = "http://llm.test/v1/chat/completions"
BODY = {"model": "gpt-t", "stream": True, "messages": [{"role": "user", "content": "hello there"}]}


def _sse(n: int, usage: bool = True) -> list[bytes]:
    out = [b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n']
    for i in range(n):
        out.append(b'data: {"choices":[{"delta":{"content":"tok%d "}}]}\n\n' % i)
    if usage:
        out.append(b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":%d}}\n\n' % n)
    out.append(b"data: [DONE]\n\n")
    return out


def _slow(chunks: list[bytes], gap_s: float) -> Iterator[bytes]:
    for c in chunks:
        time.sleep(gap_s)
        yield c


class Collect:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []
        self.sink = EmbedSink(callback=self.records.append)

    def done(self) -> list[RequestRecord]:
        self.sink.flush(10)
        return self.records


def _client(handler, col: Collect, **kw) -> tuple[httpx.Client, Profiler]:
    tr = LensTransport(httpx.MockTransport(handler), sink=col.sink, **kw)
    return httpx.Client(transport=tr), tr.profiler


def test_streamed_call_gives_one_record_and_unchanged_bytes() -> None:
    chunks = _sse(5)

    def handler(req: httpx.Request) -> httpx.Response:
        assert json.loads(req.content) == BODY
        return httpx.Response(200, headers={"content-type": "text/event-stream", "x-request-id": "srv-1",
                                            "x-ratelimit-remaining-requests": "9"},
                              content=_slow(chunks, 0.01))  # fmt: skip

    col = Collect()
    client, prof = _client(handler, col)
    with client.stream("POST", URL, json=BODY) as resp:
        got = list(resp.iter_raw())
    assert b"".join(got) == b"".join(chunks)
    (r,) = col.done()
    assert (r.status, r.http_status, r.dialect, r.provider, r.model) == ("ok", 200, "openai_chat", "openai", "gpt-t")
    assert r.runner == "embed" and r.run_id == col.sink.run_id and r.endpoint_host == "llm.test"
    assert r.server_request_id == "srv-1" and json.loads(r.ratelimit) == {"x-ratelimit-remaining-requests": "9"}
    assert (r.n_chunks, r.output_tokens, r.input_tokens, r.tokens_estimated) == (5, 5, 3, False)
    assert r.output_chars == len("".join(f"tok{i} " for i in range(5)))
    # 10 ms between chunks as the app pulled them: first text is the 2nd chunk
    assert 15 <= r.ttft_ms <= 80 and 35 <= r.last_token_ms - r.ttft_ms <= 120
    assert r.e2e_ms >= r.last_token_ms and r.prompt_hash and len(r.prompt_hash) == 16
    assert prof.internal_errors == 0 and prof.inflight == 0


def test_non_streamed_and_error_responses() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.headers.get("x-fail"):
            return httpx.Response(429, headers={"retry-after": "2"},
                                  json={"error": {"message": "slow down", "type": "rate_limit"}})  # fmt: skip
        return httpx.Response(200, json={"choices": [{"message": {"content": "hi you"}}],
                                         "usage": {"prompt_tokens": 4, "completion_tokens": 2}})  # fmt: skip

    col = Collect()
    client, _ = _client(handler, col)
    assert client.post(URL, json={**BODY, "stream": False}).json()["choices"][0]["message"]["content"] == "hi you"
    bad = client.post(URL, json=BODY, headers={"x-fail": "1"})
    assert bad.status_code == 429 and bad.json()["error"]["message"] == "slow down"
    ok, limited = col.done()
    assert ok.status == "ok" and ok.ttft_ms == ok.e2e_ms and ok.output_tokens == 2 and ok.output_chars == 6
    assert limited.status == "rate_limited" and limited.http_status == 429 and limited.retry_after_s == 2.0
    assert "slow down" in limited.error


def test_transport_errors_reach_the_app_unchanged_and_are_recorded() -> None:
    def refuse(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=req)

    def stall(req: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            yield _sse(1)[1]
            raise httpx.ReadTimeout("read timed out", request=req)

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    col = Collect()
    with pytest.raises(httpx.ConnectError, match="refused"):
        _client(refuse, col)[0].post(URL, json=BODY)
    with pytest.raises(httpx.ReadTimeout):
        with _client(stall, col)[0].stream("POST", URL, json=BODY) as resp:
            list(resp.iter_raw())
    refused, timed_out = col.done()
    assert refused.status == "network" and "refused" in refused.error and refused.headers_ms is None
    assert timed_out.status == "timeout" and timed_out.n_chunks == 1


def test_early_close_is_truncated_and_other_paths_pass_through() -> None:
    col = Collect()
    client, _ = _client(lambda req: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                   content=iter(_sse(5))), col)  # fmt: skip
    with client.stream("POST", URL, json=BODY) as resp:
        next(resp.iter_raw())
    assert client.get("http://llm.test/v1/models").status_code == 200  # not an LLM call
    client.post("http://llm.test/v1/embeddings", json={"input": "x"})
    (r,) = col.done()
    assert r.status == "truncated" and "terminal event" in r.error


def test_gzip_bodies_are_decoded_for_lens_only() -> None:
    raw = b"".join(_sse(3))
    col = Collect()
    gz = gzip.compress(raw)
    client, _ = _client(lambda req: httpx.Response(200, content=iter([gz[:17], gz[17:]]), headers={
        "content-type": "text/event-stream", "content-encoding": "gzip"}), col)  # fmt: skip
    with client.stream("POST", URL, json=BODY) as resp:
        assert b"".join(resp.iter_bytes()) == raw  # the app still gets httpx's decoding
    (r,) = col.done()
    assert r.status == "ok" and r.output_tokens == 3


@pytest.mark.parametrize("where", ["request_info", "on_event", "submit"])
def test_injected_lens_failures_never_reach_the_app(monkeypatch, where: str) -> None:
    def broken(*a: object, **k: object) -> None:
        raise RuntimeError(f"lens bug in {where}")

    if where == "request_info":
        monkeypatch.setattr(core, "request_info", broken)
    elif where == "on_event":
        monkeypatch.setattr(call.Measurement, "on_event", broken)
    else:
        monkeypatch.setattr(EmbedSink, "submit", broken)
    chunks = _sse(4)
    col = Collect()
    client, prof = _client(lambda req: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                                      content=iter(chunks)), col)  # fmt: skip
    with client.stream("POST", URL, json=BODY) as resp:
        assert b"".join(resp.iter_raw()) == b"".join(chunks)
    assert client.post(URL, json=BODY).status_code == 200
    assert prof.internal_errors == 2 and prof.inflight == 0
    assert col.done() == []


def test_app_trace_extension_still_called_and_phases_marked() -> None:
    events: list[str] = []
    col = Collect()
    client, _ = _client(lambda req: httpx.Response(200, json={"choices": []}), col)
    client.post(URL, json=BODY, extensions={"trace": lambda name, info: events.append(name)})
    assert events == []  # MockTransport emits no trace events; the chained callback is intact
    assert trace_phase("connection.connect_tcp.started") == "connect_start"
    assert trace_phase("connection.start_tls.complete") == "connect_end"
    assert trace_phase("http11.send_request_body.complete") == "sent"
    assert trace_phase("http2.receive_response_headers.complete") == "headers"
    assert trace_phase("http11.receive_response_body.started") is None


async def test_async_transport_and_httpx2_flavour() -> None:
    chunks = _sse(3)
    col = Collect()

    async def body():
        for c in chunks:
            yield c

    tr = AsyncLensTransport(httpx.MockTransport(lambda req: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body())), sink=col.sink)  # fmt: skip
    async with httpx.AsyncClient(transport=tr) as client:
        async with client.stream("POST", URL, json=BODY) as resp:
            assert b"".join([c async for c in resp.aiter_raw()]) == b"".join(chunks)
    httpx2 = pytest.importorskip("httpx2")
    sync2, _async2 = transports_for(httpx2)
    c2 = httpx2.Client(transport=sync2(httpx2.MockTransport(lambda req: httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=iter(chunks))), sink=col.sink))  # fmt: skip
    with c2.stream("POST", URL, json=BODY) as resp:
        list(resp.iter_raw())
    a, b = col.done()
    assert a.status == b.status == "ok" and a.output_tokens == b.output_tokens == 3


def test_wire_helpers() -> None:
    assert detect_dialect("/p/x/v1/chat/completions") == "openai_chat"
    assert detect_dialect("/v1/responses") == "openai_responses"
    assert detect_dialect("/v1/messages") == "anthropic"
    assert detect_dialect("/v1beta/models/g-1:streamGenerateContent") == "gemini"
    assert detect_dialect("/model/anthropic.c%3A0/converse-stream") == "bedrock"
    assert detect_dialect("/v1/embeddings") is None
    model, prompt = request_info("/v1beta/models/gem-2:streamGenerateContent",
                                 b'{"contents":[{"role":"user","parts":[{"text":"a b"}]}]}')  # fmt: skip
    assert (model, prompt) == ("gem-2", "a b")
    model, prompt = request_info("/v1/messages", json.dumps(
        {"model": "c", "system": "sys", "messages": [{"role": "user", "content": [{"type": "text", "text": "q"}]}]}
    ).encode())  # fmt: skip
    assert (model, prompt) == ("c", "q\nsys") or (model, prompt) == ("c", "sys\nq")
    assert request_info("/v1/messages", b"not json") == ("", None)
    d = nonstream_deltas("anthropic", json.dumps({"content": [{"type": "thinking", "thinking": "hm"},
        {"type": "text", "text": "yes"}], "usage": {"input_tokens": 2, "output_tokens": 5}}).encode())  # fmt: skip
    assert [x.kind for x in d] == ["reasoning", "text", "usage", "done"] and d[2].usage.output_tokens == 5
