"""One shard of a burst in a worker process (the other end of lens.burst.workers).

Protocol over one pipe: the worker says ``("ready", planned)`` once it is set up and has
sent its warm-up requests (``planned``: the requests its shard sends, None when only a
duration bounds it), or
``("error", text)``; it waits for ``("go", start_at_ns)``, fires its shard from that shared
start, sends ``("rec", (record, chunks))`` per finished request and ``("progress", event)``,
obeys ``("stop",)`` and ``("abandon",)`` at any time, and ends with
``("done", skipped, complete, client, origins_ns)``.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Sequence
from typing import Any

from lens.record import ChunkTiming, RequestRecord

__all__ = ["serve_shard"]


class _PipeSink:
    """Sends each finished request to the parent (which stores it: one writer)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        self.conn.send(("rec", (record, list(chunks))))


def serve_shard(conn: Any, spec_json: str, run_id: str, shard: int,
                api_keys: dict[str, str] | None, *, rpm: float | None = None,
                tpm: float | None = None) -> None:
    """Run one shard to the end, talking to the parent over ``conn``."""
    # Ctrl-C reaches the whole process group: the parent decides (stop, then abandon).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from lens.probe.engine import Burst
        from lens.probe.sync import loop_factory
        from lens.spec import BurstSpec

        spec = BurstSpec.model_validate_json(spec_json)
        limiter = None
        if rpm is not None or tpm is not None:
            from lens.probe.ratelimit import ClientRateLimiter

            limiter = ClientRateLimiter.for_spec(spec, rpm=rpm, tpm=tpm)
        # Everything slow (keys, dialects, prompts, the tokenizer) before "ready": the shared
        # start must find every worker set up.
        burst = Burst(
            spec, run_id=run_id, sink=_PipeSink(conn), shard=shard, api_keys=api_keys,
            limiter=limiter, on_progress=lambda ev: conn.send(("progress", ev)),
            stop=None, should_start=None,
        )  # fmt: skip
    except Exception as exc:  # reported to the parent, which names it
        conn.send(("error", _words(exc)))
        return

    results: list[Any] = []

    async def main() -> None:  # returns nothing: see lens.burst.run.run on Runner's repr
        loop = asyncio.get_running_loop()
        stop, abandon, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
        burst.stop, burst.abandon = stop, abandon
        start_at = [0]

        def listen() -> None:
            try:
                while True:
                    msg = conn.recv()
                    cmd = msg[0]
                    if cmd == "go":
                        start_at[0] = msg[1]
                        loop.call_soon_threadsafe(go.set)
                    if cmd in ("stop", "abandon"):
                        loop.call_soon_threadsafe(stop.set)
                    if cmd == "abandon":
                        loop.call_soon_threadsafe(abandon.set)
            except (EOFError, OSError):
                loop.call_soon_threadsafe(abandon.set)  # the parent is gone: give up
                loop.call_soon_threadsafe(go.set)

        async def before_start() -> None:
            # Set up and warmed up: say so, and wait for the start every shard shares.
            conn.send(("ready", _planned(burst)))
            await go.wait()
            if not start_at[0]:  # no "go" ever came (the parent is gone)
                burst.stopped = True
            burst.start_at_ns = start_at[0] or None

        burst.before_start = before_start
        threading.Thread(target=listen, daemon=True, name="lens-worker-cmds").start()
        results.append(await burst.run())

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main())
        res = results[0]
    except Exception as exc:
        conn.send(("error", _words(exc)))
        return
    conn.send(("done", res.skipped, res.complete, res.client, res.origins_ns))


def _planned(burst: Any) -> int | None:
    """Requests this shard sends (all targets, warm-up included; None when only a duration
    bounds it): the parent counts what a worker that dies never sent."""
    per_stage = [st.planned() for st in burst.stages]
    if any(n is None for n in per_stage):
        return None
    return int(burst.work.planned(sum(per_stage) + burst.spec.warmup)) * len(burst.targets)


def _words(exc: BaseException) -> str:
    """A worker's error for the parent: lens's own errors in their words, others named."""
    from lens.errors import LensError

    return str(exc) if isinstance(exc, LensError) else f"{type(exc).__name__}: {exc}"
