"""The workload plan: spec fields for sessions, prefixes and cancels, prompts per request,
the session turn loop (with a fake ``send``), think times."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import pytest

from lens.errors import ConfigError
from lens.spec import spec_from_dict
from lens.workload import blocks
from lens.workload.conversation import Message, as_messages, prompt_text
from lens.workload.plan import Item, Workload
from lens.workload.sessions import Session
from lens.workload.tokens import count_tokens

T = {"provider": "sim", "model": "m"}


def _spec(**kw: Any) -> Any:
    return spec_from_dict({"targets": [T], **kw})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"prompts": {"set": "short", "shared_prefix_ratio": 0.5}}, "applies to synthetic prompts"),
        ({"prompts": {"synthetic_tokens": 10, "prefix_pool": 3}}, "prefix_pool needs shared_prefix_ratio"),
        ({"prompts": {"synthetic_tokens": 10, "shared_prefix_ratio": 1.5}}, "less than or equal to 1"),
        ({"load": {"kind": "trace"}}, "needs trace"),
        ({"load": {"kind": "rate", "rate": 1, "trace": {"file": "x.jsonl"}}}, "only read by load kind 'trace'"),
        ({"load": {"trace": {"file": "x.jsonl", "speedup": 0}}}, "greater than 0"),
        ({"load": {"trace": {"file": "x.jsonl"}}, "sessions": {"turns": 2}}, "sessions cannot replay a trace"),
        ({"cancel": {"fraction": 0.5}}, "cancel needs after_tokens, after_ms, or both"),
        ({"cancel": {"after_tokens": 0}}, "greater than 0"),
        ({"sessions": {"turns": 0}}, "greater than 0"),
        ({"sessions": {"think": "gamma"}}, "fixed"),
    ],
)
def test_spec_validation_names_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _spec(**data)


def test_trace_spec_defaults_and_round_trip() -> None:
    spec = _spec(load={"trace": {"file": "t.jsonl"}})
    assert (spec.load.kind, spec.load.requests, spec.load.trace.speedup) == ("trace", None, 1.0)
    again = spec_from_dict(__import__("json").loads(spec.model_dump_json(exclude_none=True)))
    assert again == spec  # the stored spec_json reloads to the same spec
    assert _spec(load={"kind": "trace", "requests": 7, "trace": {"file": "t.jsonl"}}).load.requests == 7


def test_shared_prefix_prompts_pool_suffix_and_exact_length() -> None:
    spec = _spec(prompts={"synthetic_tokens": 400, "shared_prefix_ratio": 0.75, "prefix_pool": 3})
    work = Workload(spec, salt="run-a")
    items = [work.item(i) for i in range(6)]
    prefix = [str(it.prompt).split(" ")[:300] for it in items]
    suffix = [str(it.prompt).split(" ")[300:] for it in items]
    for i, it in enumerate(items):
        assert count_tokens(str(it.prompt), "gpt-4o") == 400 == it.input_tokens
        assert it.prompt_id == f"synthetic-400-prefix{i % 3}"
        assert prefix[i] == prefix[i % 3] and len(suffix[i]) == 100
    assert prefix[0] != prefix[1] != prefix[2]
    assert len({tuple(s) for s in suffix}) == 6  # every suffix unique
    # Prefixes are the same in every run; suffixes are unique per run and for warm-ups.
    other = Workload(spec, salt="run-b").item(0)
    assert str(other.prompt).split(" ")[:300] == prefix[0]
    assert str(other.prompt).split(" ")[300:] != suffix[0]
    assert work.item(0, warmup=True).prompt != items[0].prompt
    assert _spec(prompts={"synthetic_tokens": 50, "shared_prefix_ratio": 0.0}).prompts.prefix_pool in (None, 1)  # one shared prefix


def test_cache_bust_applies_per_request() -> None:
    work = Workload(_spec(prompts={"synthetic_tokens": 40, "shared_prefix_ratio": 1.0}, cache="bust"))
    a, b = work.item(0), work.item(0)
    assert str(a.prompt).startswith("[request ") and a.prompt != b.prompt
    assert str(a.prompt).endswith(blocks.block_text(0, 40, "prefix"))


def test_cancel_rules_fraction_seeded_and_never_for_warmups() -> None:
    work = Workload(_spec(cancel={"after_tokens": 5, "after_ms": 200, "fraction": 0.3, "seed": 1}))
    rules = [work.cancel(i, False) for i in range(2000)]
    hit = [r for r in rules if r is not None]
    assert 0.26 < len(hit) / 2000 < 0.34
    assert all(r.after_tokens == 5 and r.after_ms == 200 for r in hit)
    assert rules == [Workload(work.spec).cancel(i, False) for i in range(2000)]  # seeded
    assert all(work.cancel(i, True) is None for i in range(100))
    assert all(Workload(_spec(cancel={"after_ms": 9})).item(i).cancel is not None for i in range(5))
    assert Workload(_spec()).item(0).cancel is None


def test_conversation_helpers() -> None:
    conv = [Message("user", "a"), Message("assistant", "b"), Message("user", "c")]
    assert as_messages("x") == [Message("user", "x")] and as_messages(conv) == conv
    assert prompt_text(conv) == "a\n\nb\n\nc" and prompt_text("x") == "x"


class FakeSend:
    """Answers turn k of a session with 'answer-k', except the turns told to fail."""

    def __init__(self, fail_turn: int | None = None) -> None:
        self.items: list[tuple[Item, int]] = []
        self.fail_turn = fail_turn

    async def __call__(self, item: Item, scheduled_ns: int) -> str | None:
        self.items.append((item, scheduled_ns))
        return None if item.turn == self.fail_turn else f"answer-{item.turn}"


async def _nap(delay: float) -> None:
    import asyncio

    await asyncio.sleep(delay)


async def test_session_resends_history_with_answers_and_thinks() -> None:
    from time import perf_counter_ns

    spec = _spec(prompts={"inline": ["p0", "p1", "p2", "p3", "p4", "p5"]}, cache="bust",
                 sessions={"turns": 3, "think_s": 0.05}, max_tokens=9)  # fmt: skip
    work = Workload(spec)
    send = FakeSend()
    t0 = perf_counter_ns()
    await work.run_unit(1, t0, send, warmup=False, may_start=lambda: True, sleep=_nap)
    items = [i for i, _ in send.items]
    assert [i.turn for i in items] == [1, 2, 3]
    assert len({i.session_id for i in items}) == 1 and items[0].session_id
    first = items[0].prompt[0].text  # type: ignore[index]
    assert first.startswith("[request ") and first.endswith("p3")  # session 1 starts at 1 x 3
    assert list(items[2].prompt) == [
        Message("user", first), Message("assistant", "answer-1"), Message("user", "p4"),
        Message("assistant", "answer-2"), Message("user", "p5"),
    ]  # the nonce only on the first turn; every later turn resends it unchanged
    assert all(i.max_tokens == 9 and i.prompt_id == f"inline-{3 + k}" for k, i in enumerate(items))
    sched = [s for _, s in send.items]
    assert sched[0] == t0
    assert all((b - a) / 1e6 >= 50 for a, b in itertools.pairwise(sched))


async def test_failed_turn_and_stop_end_the_session() -> None:
    spec = _spec(sessions={"turns": 4})
    send = FakeSend(fail_turn=2)
    await Workload(spec).run_unit(0, 0, send, warmup=False, may_start=lambda: True, sleep=_nap)
    assert [i.turn for i, _ in send.items] == [1, 2]
    send = FakeSend()
    await Workload(spec).run_unit(0, 0, send, warmup=False, may_start=lambda: False, sleep=_nap)
    assert [i.turn for i, _ in send.items] == [1]  # the unit itself was allowed; turn 2 not


def test_think_times_fixed_and_exponential() -> None:
    fixed = Session(Workload(_spec(sessions={"turns": 2, "think_s": 0.5})), 0, warmup=False)
    assert fixed.think_s(1) == 0.5
    work = Workload(_spec(sessions={"turns": 2, "think_s": 0.5, "think": "exponential", "seed": 3}))
    draws = [Session(work, i, warmup=False).think_s(t) for i in range(800) for t in (1, 2)]
    assert statistics.fmean(draws) == pytest.approx(0.5, rel=0.08)
    assert statistics.pstdev(draws) == pytest.approx(0.5, rel=0.12)  # exponential: sd = mean
    assert Session(work, 5, warmup=False).think_s(1) == draws[10]  # seeded by session and turn


def test_planned_counts_turns() -> None:
    work = Workload(_spec(sessions={"turns": 3}, load={"requests": 4, "concurrency": 2}))
    assert work.planned(4) == 12 and work.stages[0].planned() == 4
