"""Split one burst's load over several firers (worker processes, Lambda invocations) so that
together they fire exactly the burst, no more.

A shard is the burst's spec with ``load.shard_index``/``load.shard_count`` set;
:func:`lens.workload.loadshape.stages` turns that into the shard's part:

- concurrency and sweep levels: the streams are divided (a level of 10 over 3 shards is
  4 + 3 + 3), the requests in proportion to each shard's streams; a duration bounds every
  shard; a shard left with no stream at some level sits that stage out;
- open-loop arrivals (rate, poisson): every shard computes the burst's one schedule (same
  seed) and sends every n-th arrival of it, so the union is exactly the schedule a single
  firer would send, Poisson included; ``max_in_flight`` is divided;
- warm-up requests are divided too (a shard may get none: its first requests then open
  their connections, as the burst's first requests would without a warm-up).

Shards share the clock through the absolute start time their firer gives them (lens.burst's
workers), so ``scheduled_ms`` lines up across them.
"""

from __future__ import annotations

from lens.spec import BurstSpec

__all__ = ["proportional", "shard_specs", "split"]


def split(total: int, shards: int) -> list[int]:
    """``total`` divided into ``shards`` integers differing by at most one, largest first."""
    base, extra = divmod(total, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def proportional(total: int, parts: list[int]) -> list[int]:
    """``total`` split in proportion to ``parts`` (the largest remainders get what is left)."""
    whole = sum(parts)
    if whole <= 0:
        return [0] * len(parts)
    exact = [total * p / whole for p in parts]
    base = [int(x) for x in exact]
    for i in sorted(range(len(parts)), key=lambda i: exact[i] - base[i], reverse=True)[
        : total - sum(base)
    ]:
        base[i] += 1
    return base


def shard_specs(spec: BurstSpec, shards: int) -> list[BurstSpec]:
    """``spec`` cut into at most ``shards`` specs that together fire it; shards that would get
    no work are left out (3 shards of a burst of concurrency 2 give 2 specs)."""
    from lens.workload.loadshape import stages

    if shards < 1:
        raise ValueError("shards must be >= 1")
    if shards == 1:
        return [spec]
    out: list[BurstSpec] = []
    for i in range(shards):
        part = spec.model_copy(update={"load": spec.load.model_copy(
            update={"shard_index": i, "shard_count": shards})})
        if any(st.requests != 0 for st in stages(part.load)):
            out.append(part)
    # Warm-up requests are the burst's too ("per target", counted once by the budget
    # estimate): split like the rest, not sent once per shard.
    if spec.warmup and len(out) > 1:
        out = [part.model_copy(update={"warmup": warm})
               for part, warm in zip(out, split(spec.warmup, len(out)), strict=True)]
    return out
