from __future__ import annotations

import json

from botocore.eventstream import EventStreamBuffer

from lens.sim.wire import UsageOut
from lens.sim.wire.base import ParsedRequest
from lens.sim.wire.bedrock import BedrockWriter
from lens.sim.wire.eventstream import encode_message, event_headers, exception_headers


def test_botocore_decodes_our_messages_any_split() -> None:
    msgs = [encode_message(event_headers("contentBlockDelta"), json.dumps({"i": i}).encode()) for i in range(20)]
    msgs.append(encode_message(exception_headers("throttlingException"), b'{"message":"slow down"}'))
    data = b"".join(msgs)
    for step in (1, 7, len(data)):
        buf = EventStreamBuffer()
        out = []
        for i in range(0, len(data), step):
            buf.add_data(data[i : i + step])
            out.extend(buf)
        assert len(out) == 21
        assert out[3].headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                                  ":message-type": "event"}
        assert json.loads(out[3].payload) == {"i": 3}
        assert out[-1].headers[":message-type"] == "exception"
        assert out[-1].headers[":exception-type"] == "throttlingException"


def test_bedrock_writer_stream_shape() -> None:
    w = BedrockWriter("r1", ParsedRequest("m", "hi", None, True), 0)
    usage = UsageOut(prompt=10, cached=4, text=2, reasoning=1)
    evs = w.start(usage) + w.delta("reasoning", " a", 1) + w.delta("text", " b", 1) + w.delta("text", " c", 1)
    evs += w.finish(usage, "stop", 123.4)
    buf = EventStreamBuffer()
    buf.add_data(b"".join(e[2] for e in evs))
    msgs = list(buf)
    types = [m.headers[":event-type"] for m in msgs]
    assert types == ["messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockDelta",
                     "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
    assert json.loads(msgs[1].payload)["delta"] == {"reasoningContent": {"text": " a"}}
    assert json.loads(msgs[3].payload) == {"contentBlockIndex": 1, "delta": {"text": " b"}}
    meta = json.loads(msgs[-1].payload)
    assert meta["metrics"] == {"latencyMs": 123}
    assert meta["usage"]["outputTokens"] == 3 and meta["usage"]["cacheReadInputTokens"] == 4
    assert [e[0] for e in evs].count("text") == 2
