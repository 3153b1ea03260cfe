"""The hot path's shortcuts give exactly what the full parsers give (issue #16)."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from lens.probe.dialects import openai_chat
from lens.probe.dialects.base import RawEvent
from lens.probe.sse import SSEParser


def _chunks(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    for _ in range(n):
        if rng.random() < 0.4:  # the common chunk: one choice of answer text
            out.append({"id": "c", "model": rng.choice(["m", "m-2024"]), "system_fingerprint": "fp",
                        "choices": [{"index": 0, "delta": {"content": rng.choice(["a", " b"])},
                                     "finish_reason": None}]})
            continue
        delta: dict = {}
        for key, values in (("content", ["hi", " there", "", None, 3]),
                            ("role", ["assistant"]), ("reasoning_content", ["think", ""]),
                            ("reasoning", ["hmm"])):
            if rng.random() < 0.5:
                delta[key] = rng.choice(values)
        choice: dict = {"index": 0, "delta": delta if rng.random() < 0.9 else None,
                        "finish_reason": rng.choice([None, None, "stop", "length"])}
        obj: dict = {"id": "c", "object": "chat.completion.chunk",
                     "choices": rng.choice([[choice], [choice, choice], []])}
        for key, value in (("model", rng.choice(["m", "", 5])),
                           ("system_fingerprint", rng.choice(["fp_1", None])),
                           ("usage", rng.choice([None, {"prompt_tokens": 3, "completion_tokens": 2}])),
                           ("timings", {"prompt_ms": 1.5, "predicted_ms": 2.0}),
                           ("x_groq", {"usage": {"prompt_tokens": 1, "completion_tokens": 1}})):
            if rng.random() < 0.3:
                obj[key] = value
        out.append(obj)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_plain_text_shortcut_equals_the_full_parser(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = _chunks(seed, 400)
    events = [RawEvent(json.dumps(o), None, None) for o in objs]
    taken = sum(openai_chat._plain_text(o, o.get("choices")) is not None for o in objs)
    fast = [openai_chat.parse_chat_chunk(e) for e in events]
    monkeypatch.setattr(openai_chat, "_plain_text", lambda obj, choices: None)
    full = [openai_chat.parse_chat_chunk(e) for e in events]
    assert fast == full
    assert taken >= 3  # the shortcut was taken on some, the full parser on the rest


def test_sse_single_event_shortcut_equals_the_general_path() -> None:
    rng = random.Random(5)
    stream = b"".join(
        rng.choice([b"data: {\"a\": 1}\n\n", b"event: x\ndata: y\n\n", b": ping\n\n",
                    b"data: a\ndata: b\n\n", b"id: 7\n\n", b"data: \xc3\xa9\n\n", b"data:no-space\n\n"])
        for _ in range(300))
    # Whole events per read (the shortcut's case) and arbitrary splits must agree.
    whole = SSEParser()
    got = list(itertools.chain.from_iterable(whole.feed(piece) for piece in stream.split(b"\n\n") if piece
                                             for piece in [piece + b"\n\n"]))
    split = SSEParser()
    ref: list = []
    i = 0
    while i < len(stream):
        step = rng.randint(1, 40)
        ref += split.feed(stream[i : i + step])
        i += step
    assert got == ref and whole.events == split.events
