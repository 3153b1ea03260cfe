"""Multi-turn sessions: one conversation of ``sessions.turns`` requests.

Turn 1 sends the first user prompt. Every later turn resends the conversation so far (each
earlier user prompt and the answer text actually received for it) plus the next user
prompt, after the think time: ``think_s`` (``fixed``) or an exponential draw with that mean
(``exponential``, seeded by ``sessions.seed``, the session and the turn). A turn scheduled
for ``previous end + think`` has that as its ``scheduled_ms``, so a late send shows in
``queue_ms``.

User prompts come from the burst's prompt source: session ``s`` turn ``t`` (from 1) uses
prompt ``s x turns + t - 1`` (round-robin). The cache mode applies to the first turn only
(``bust`` puts its nonce at the start of the conversation): later turns resend that
history unchanged, so a server's prefix cache can serve it, as it would in production.

A turn that does not end ``ok`` (an error, a timeout, a client cancel) ends its session:
the conversation cannot go on without its answer. Records carry ``session_id`` (unique per
session) and ``turn``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from time import perf_counter_ns
from typing import TYPE_CHECKING

from lens.workload.conversation import Message, as_messages
from lens.workload.prompts import apply_cache_mode

if TYPE_CHECKING:
    from lens.workload.plan import Item, Send, Sleep, Workload


class Session:
    """One conversation of a burst (unit ``idx``)."""

    def __init__(self, work: Workload, idx: int, *, warmup: bool) -> None:
        assert work.spec.sessions is not None
        self.work = work
        self.idx = idx
        self.warmup = warmup
        self.conf = work.spec.sessions
        self.id = uuid.uuid4().hex[:16]
        self.history: list[Message] = []

    def think_s(self, turn: int) -> float:
        c = self.conf
        if c.think_s <= 0:
            return 0.0
        if c.think == "fixed":
            return c.think_s
        rng = random.Random(f"lens-think-{c.seed}-{'w' if self.warmup else 'm'}{self.idx}-{turn}")
        return rng.expovariate(1.0 / c.think_s)

    def item(self, turn: int) -> Item:
        from lens.workload.plan import Item

        w = self.work
        n = self.idx * self.conf.turns + turn - 1
        pid, text, _ = w.user_text(n, self.warmup)
        if turn == 1:
            text = apply_cache_mode(text, w.spec.cache)
        messages = (*self.history, Message("user", text))
        return Item(pid, messages, w.spec.max_tokens, session_id=self.id, turn=turn,
                    cancel=w.cancel(self.idx, self.warmup, turn))  # fmt: skip

    async def run(
        self, scheduled_ns: int, send: Send, *, may_start: Callable[[], bool], sleep: Sleep
    ) -> None:
        due = scheduled_ns
        for turn in range(1, self.conf.turns + 1):
            if turn > 1:
                wait = (due - perf_counter_ns()) / 1e9
                if wait > 0:
                    await sleep(wait)
                if not may_start():
                    return
            item = self.item(turn)
            answer = await send(item, due)
            if answer is None:
                return
            self.history = [*as_messages(item.prompt), Message("assistant", answer)]
            due = perf_counter_ns() + int(self.think_s(turn) * 1e9)
