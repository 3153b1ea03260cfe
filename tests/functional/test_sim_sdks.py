"""The official SDKs read the simulator's streams: the wire formats are the real ones.

Also exercises start_sim_in_thread (the SDK clients here are synchronous).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lens.sim import SimThread, start_sim_in_thread

PROFILE = {"header_ms": 0, "ttft_ms": 3, "itl_ms": 0.5, "output_tokens": 7, "reasoning_tokens": 3}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with start_sim_in_thread({"default": PROFILE}, seed=1) as s:
        yield s


def test_openai_chat_sdk(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    stream = client.chat.completions.create(model="gpt-sim", messages=[{"role": "user", "content": "hi"}],
                                            stream=True, stream_options={"include_usage": True}, max_tokens=5)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == " the quick brown fox jumps"
    assert chunks[-1].usage.completion_tokens == 8  # 5 text + 3 reasoning
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 3
    assert chunks[-2].choices[0].finish_reason == "length"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=[], stream=True,
                                       extra_headers={"x-sim-fault": "rate_limited"})


def test_openai_responses_sdk(sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=sim.base_url("openai_responses"), api_key="sk-sim", max_retries=0)
    events = list(client.responses.create(model="gpt-sim", input="hi", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert len(text.split()) == 7
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.usage.output_tokens == 10
    assert done.response.usage.output_tokens_details.reasoning_tokens == 3
    assert done.response.output_text == text


def test_anthropic_sdk(sim: SimThread) -> None:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=sim.base_url("anthropic"), api_key="k", max_retries=0)
    with client.messages.stream(model="claude-sim", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(text.split()) == 7
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.usage.output_tokens == 10 and final.stop_reason == "end_turn"
    with pytest.raises(anthropic.InternalServerError) as err:  # 529 overloaded
        client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                               stream=True, extra_headers={"x-sim-fault": "overloaded"})
    assert err.value.status_code == 529


def test_gemini_sdk(sim: SimThread) -> None:
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=sim.base_url("gemini")))
    chunks = list(client.models.generate_content_stream(model="gemini-sim", contents="hi"))
    parts = [p for c in chunks for p in (c.candidates[0].content.parts or [])]
    answer = "".join(p.text for p in parts if p.text and not p.thought)
    thoughts = [p for p in parts if p.thought]
    assert len(answer.split()) == 7 and len(thoughts) == 3
    assert chunks[-1].usage_metadata.candidates_token_count == 7
    assert chunks[-1].usage_metadata.thoughts_token_count == 3
    assert str(chunks[-1].candidates[0].finish_reason).endswith("STOP")


def test_boto3_bedrock_converse_stream(sim: SimThread) -> None:
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=sim.base_url("bedrock"),
                          aws_access_key_id="AKIDSIM", aws_secret_access_key="secret")
    resp = client.converse_stream(modelId="anthropic.claude-sim-v1:0",
                                  messages=[{"role": "user", "content": [{"text": "hi"}]}],
                                  inferenceConfig={"maxTokens": 4})
    events = list(resp["stream"])
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == " the quick brown fox"
    meta = events[-1]["metadata"]
    assert meta["usage"]["outputTokens"] == 7 and meta["metrics"]["latencyMs"] >= 0
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    truth = sim.truth(resp["ResponseMetadata"]["HTTPHeaders"]["x-request-id"])
    assert truth.model == "anthropic.claude-sim-v1:0"


def test_boto3_sees_midstream_exception(sim: SimThread) -> None:
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import EventStreamError

    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=sim.base_url("bedrock"),
                          aws_access_key_id="AKIDSIM", aws_secret_access_key="secret")
    client.meta.events.register("before-send.bedrock-runtime.ConverseStream",
                                lambda request, **_: request.headers.__setitem__("x-sim-fault", "midstream_error"))
    resp = client.converse_stream(modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        list(resp["stream"])
