"""The dialect registry: every configured dialect resolves, bedrock is imported lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lens.errors import ConfigError
from lens.probe.dialects import DIALECT_CLASSES, get_dialect
from lens.probe.sse import SSEParser
from lens.spec import DIALECTS


def test_every_config_dialect_is_registered() -> None:
    assert set(DIALECT_CLASSES) == set(DIALECTS)
    for name in DIALECTS:
        kwargs = {"credentials": object()} if name == "bedrock" else {}
        d = get_dialect(name, **kwargs)
        assert d.name == name
        framer = d.new_framer()
        assert hasattr(framer, "feed") and hasattr(framer, "close")
        if name != "bedrock":
            assert isinstance(framer, SSEParser)


def test_unknown_dialect_and_stray_options() -> None:
    with pytest.raises(ConfigError, match="unknown dialect 'grpc'"):
        get_dialect("grpc")
    with pytest.raises(ConfigError, match="takes no options"):
        get_dialect("openai_chat", region="us-east-1")


def test_non_bedrock_dialects_do_not_import_botocore() -> None:
    code = (
        "import sys\n"
        "from lens.probe.dialects import get_dialect\n"
        "import lens.probe.sse, lens.workload.tokens\n"
        "for n in ('openai_chat','openai_responses','anthropic','gemini','openai_compat'):\n"
        "    get_dialect(n)\n"
        "assert not any(m.split('.')[0] in ('botocore','boto3') for m in sys.modules), 'botocore imported'\n"
        "get_dialect('bedrock', credentials=object())\n"
        "assert 'botocore.eventstream' not in sys.modules  # only once a framer is made\n"
        "get_dialect('bedrock', credentials=object()).new_framer()\n"
        "assert 'botocore.eventstream' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


WEIRD = [
    '{"choices": [1]}',
    '{"choices": [{"delta": {"content": 5}}]}',
    '{"choices": "x"}',
    '{"type": "content_block_delta", "delta": "x"}',
    '{"type": "message_start", "message": []}',
    '{"type": "response.completed", "response": {"usage": [1]}}',
    '{"type": "error", "error": 3}',
    '{"candidates": [{"content": {"parts": [{"text": 1}]}}]}',
    '{"candidates": [null]}',
    '{"delta": {"reasoningContent": "x"}}',
    '{"delta": {"text": 5, "type": "text_delta"}, "type": "content_block_delta"}',
    '{"type": "response.output_text.delta", "delta": ["x"]}',
    '{"delta": {"reasoningContent": {"text": 1}}}',
    '{"usage": 7, "metrics": 3}',
    "[]",
    "{}",
    "",
    "{",
]
EVENT_NAMES = [
    None,
    "error",
    "message_start",
    "content_block_delta",
    "contentBlockDelta",
    "metadata",
]


@pytest.mark.parametrize("name", DIALECTS)
def test_parse_never_raises_on_unexpected_shapes(name: str) -> None:
    from lens.probe.dialects.base import RawEvent

    d = get_dialect(name, **({"credentials": object()} if name == "bedrock" else {}))
    kinds = {"text", "reasoning", "usage", "error", "done", "other"}
    for data in WEIRD:
        for ev in EVENT_NAMES:
            for headers in (None, {":message-type": "event"}, {":message-type": "exception"}):
                out = d.parse(RawEvent(data, ev, None, headers))
                assert out and all(x.kind in kinds for x in out)
                for x in out:
                    assert isinstance(x.text, str)
                    if x.kind in ("text", "reasoning"):
                        assert x.text
                    if x.kind == "error":
                        assert x.error_status in ("overloaded", "rate_limited", "stream_error")
