"""Trace formats, their registry, token-exact prompt blocks and trace prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lens.errors import ConfigError
from lens.spec import TraceSource, spec_from_dict
from lens.workload import blocks
from lens.workload.plan import Workload
from lens.workload.tokens import _encoder
from lens.workload.traces import format_names, get_format, read_trace

DATA = Path(__file__).resolve().parents[2] / "data" / "traces"
MOONCAKE = DATA / "sample_mooncake.jsonl"
BURSTGPT = DATA / "sample_burstgpt.csv"
T = {"provider": "sim", "model": "m"}


def _counts(text: str) -> tuple[int, int]:
    return tuple(len(_encoder(n).encode_ordinary(text)) for n in ("cl100k_base", "o200k_base"))  # type: ignore[return-value]


def test_one_token_words_make_exact_token_counts() -> None:
    for w in blocks.ONE_TOKEN_WORDS:
        assert _counts(w) == (1, 1) and _counts(" " + w) == (1, 1), w
    text = blocks.join([blocks.block_text(7, 512, "trace"), blocks.words(300, "x"), "the"])
    assert _counts(text) == (813, 813)


def test_blocks_are_deterministic_by_id_and_prefix_closed() -> None:
    a = blocks.block_text(3, 512, "trace")
    assert a == blocks.block_text(3, 512, "trace") != blocks.block_text(4, 512, "trace")
    assert a.startswith(blocks.block_text(3, 100, "trace") + " ")
    assert blocks.block_text(3, 512, "prefix") != a  # namespaces do not collide


def test_registry_and_detection() -> None:
    assert format_names() == ["mooncake", "burstgpt"]
    assert get_format("mooncake").EXTENSIONS == (".jsonl", ".ndjson")
    with pytest.raises(ConfigError, match="unknown trace format 'nope'") as e:
        get_format("nope")
    assert "mooncake, burstgpt" in str(e.value)
    assert read_trace(TraceSource(file=str(MOONCAKE))).format == "mooncake"
    assert read_trace(TraceSource(file=str(BURSTGPT))).format == "burstgpt"


def test_mooncake_sample_offsets_speedup_cap_and_duration() -> None:
    lines = [json.loads(x) for x in MOONCAKE.read_text().splitlines()]
    tr = read_trace(TraceSource(file=str(MOONCAKE)))
    assert len(tr.rows) == len(lines) == 80
    first = tr.rows[0]
    assert (first.input_tokens, first.output_tokens, first.hash_ids) == (
        lines[0]["input_length"], lines[0]["output_length"], tuple(lines[0]["hash_ids"]))
    assert tr.offsets_s == tuple((x["timestamp"] - lines[0]["timestamp"]) / 1000 for x in lines)
    fast = read_trace(TraceSource(file=str(MOONCAKE), speedup=2), limit=10)
    assert len(fast.rows) == 10
    assert fast.offsets_s == pytest.approx([o / 2 for o in tr.offsets_s[:10]])
    short = read_trace(TraceSource(file=str(MOONCAKE)), duration_s=1.0)
    assert 0 < len(short.rows) < 80 and max(short.offsets_s) < 1.0


def test_burstgpt_sample_columns() -> None:
    import csv

    with BURSTGPT.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["Timestamp", "Model", "Request tokens", "Response tokens",
                             "Total tokens", "Log Type"]  # fmt: skip
    tr = read_trace(TraceSource(file=str(BURSTGPT)))
    assert [r.input_tokens for r in tr.rows] == [int(r["Request tokens"]) for r in rows]
    assert tr.offsets_s[-1] == pytest.approx(float(rows[-1]["Timestamp"]) - float(rows[0]["Timestamp"]))
    assert any(r.output_tokens == 0 for r in tr.rows)  # failed requests of the trace are kept


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1}\nnot json\n', "line 2: not JSON"),
        ("t.jsonl", '{"timestamp": 0, "output_length": 1}\n', "line 1: input_length must be a whole number >= 1"),
        ("t.jsonl", '{"timestamp": -1, "input_length": 5, "output_length": 1}\n', "line 1: timestamp must be"),
        ("t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": "1"}\n', "hash_ids must be a list"),
        ("t.jsonl", "[1]\n", "line 1: expected a JSON object"),
        ("t.jsonl", "\n\n", "the trace has no requests"),
        ("t.csv", "Timestamp,Model\n1,x\n", "the header lacks 'Request tokens', 'Response tokens'"),
        ("t.csv", "Timestamp,Request tokens,Response tokens\n1,abc,3\n", "line 2: Request tokens must be a number"),
        ("t.txt", "x", "cannot tell the trace format"),
    ],
)
def test_bad_traces_name_file_line_and_fix(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        read_trace(TraceSource(file=str(path)))
    assert str(path) in str(e.value) and "fix:" in str(e.value)


def test_missing_trace_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="trace file not found"):
        read_trace(TraceSource(file=str(tmp_path / "none.jsonl")))


def test_trace_prompts_reproduce_shared_blocks_and_lengths() -> None:
    spec = spec_from_dict({"targets": [T], "load": {"trace": {"file": str(MOONCAKE)}}})
    assert spec.load.kind == "trace" and spec.load.requests is None
    work = Workload(spec, salt="run1")
    assert work.trace is not None and work.stages[0].times == work.trace.offsets_s
    items = [work.item(i) for i in range(len(work.trace.rows))]
    for row, item in zip(work.trace.rows, items, strict=True):
        assert isinstance(item.prompt, str)
        assert _counts(item.prompt)[0] == row.input_tokens == item.input_tokens
        assert item.max_tokens == max(1, row.output_tokens)
    # Rows sharing their first hash ids share that many 512-word blocks of text, exactly.
    pairs = 0
    rows = work.trace.rows
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            a, b = rows[i], rows[j]
            k = 0
            while k < min(len(a.hash_ids), len(b.hash_ids)) and a.hash_ids[k] == b.hash_ids[k]:
                k += 1
            if k and min(a.input_tokens, b.input_tokens) >= k * 512:
                pairs += 1
                wa, wb = str(items[i].prompt).split(" "), str(items[j].prompt).split(" ")
                assert wa[: k * 512] == wb[: k * 512]
                if len(wa) > k * 512 and len(wb) > k * 512:
                    assert wa[k * 512 : k * 512 + 20] != wb[k * 512 : k * 512 + 20]
    assert pairs > 50


def test_trace_cap_from_requests_and_burstgpt_failed_rows_get_one_token() -> None:
    spec = spec_from_dict({"targets": [T], "load": {"kind": "trace", "requests": 5,
                                                   "trace": {"file": str(BURSTGPT)}}})  # fmt: skip
    work = Workload(spec)
    assert work.stages[0].planned() == 5
    spec = spec_from_dict({"targets": [T], "load": {"trace": {"file": str(BURSTGPT)}}})
    work = Workload(spec, salt="a")
    zero = [i for i, r in enumerate(work.trace.rows) if r.output_tokens == 0]  # type: ignore[union-attr]
    assert zero and all(work.item(i).max_tokens == 1 for i in zero)
    # No prompt content in BurstGPT: unique text per request and per run.
    assert work.item(0).prompt != work.item(1).prompt
    assert Workload(spec, salt="b").item(0).prompt != work.item(0).prompt


def test_a_shard_replays_every_nth_row_with_its_own_unique_texts() -> None:
    # lens.workload.shard (multi-process workers) marks a shard's part in load.shard_index /
    # shard_count; Workload reads them where the spec has them.
    spec = spec_from_dict({"targets": [T], "load": {"trace": {"file": str(BURSTGPT)}}})
    whole = Workload(spec, salt="r")
    parts = []
    for k in range(3):
        part = spec.model_copy(update={"load": spec.load.model_copy()})
        object.__setattr__(part.load, "shard_index", k)
        object.__setattr__(part.load, "shard_count", 3)
        parts.append(Workload(part, salt="r"))
    assert [len(p.rows) for p in parts] == [27, 27, 26]
    assert sorted(r.line for p in parts for r in p.rows) == sorted(r.line for r in whole.rows)
    times = sorted(t for p in parts for t in p.stages[0].times or ())
    assert times == sorted(whole.stages[0].times or ())  # together: exactly the trace
    assert parts[1].rows[0] == whole.rows[1] and parts[1].stages[0].level == 86  # 256 / 3
    assert parts[0].item(0).prompt != parts[1].item(0).prompt != whole.item(0).prompt
