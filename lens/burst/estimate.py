"""What a burst can cost, before it fires: an upper bound for budgets (lens.burst.budget).

Expected tokens per request = the prompt's token estimate as input + ``max_tokens`` as
output, priced by the one pricing rule (lens.analysis.pricing), once per region, plus the
cost of measuring on Lambda when the burst fires there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from lens.analysis.pricing import (
    NO_DURATION,
    SELF_HOSTED,
    PriceBook,
    Priced,
    Prices,
    UsageRow,
    price_book,
)
from lens.errors import BudgetExceededError, LensError
from lens.probe.outcome import endpoint_host
from lens.spec import BurstSpec, TargetSpec

__all__ = ["BurstEstimate", "estimate_burst_cost", "estimate_prompt_tokens", "expected_requests"]


@dataclass(frozen=True)
class BurstEstimate:
    """Upper-bound cost of a burst before it fires."""

    usd: Decimal
    n_requests: int  # per target, incl. warm-up
    prompt_tokens: int
    max_tokens: int
    per_target: dict[str, Decimal] = field(default_factory=dict)
    unpriced: tuple[str, ...] = ()  # targets with no known price: a budget cannot be enforced
    regions: int = 1  # the burst fires once per region
    measuring_usd: Decimal = Decimal(0)  # Lambda + S3 + Athena, when fired on Lambda
    # targets the estimate leaves out, each "label (why)": self-hosted without a GPU-hour
    # price, or priced per GPU-hour (known only once requests have run)
    not_counted: tuple[str, ...] = ()


def expected_requests(spec: BurstSpec) -> int:
    """Requests per target the burst will send at most (warm-up included)."""
    load = spec.load
    turns = spec.sessions.turns if spec.sessions is not None else 1  # sessions: units x turns
    if load.kind == "trace" and load.trace is not None:
        from lens.workload.traces import read_trace

        n = len(read_trace(load.trace, limit=load.requests, duration_s=load.duration_s).rows)
    elif load.kind == "sweep":
        n = (load.requests or 0) * len(load.levels or ())
    elif load.requests is not None:
        n = load.requests
    elif load.kind in ("rate", "poisson") and load.rate and load.duration_s:
        # Poisson arrivals fluctuate; 20 % headroom keeps the estimate an upper bound in practice.
        n = int(load.rate * load.duration_s * (1.2 if load.kind == "poisson" else 1.0)) + 1
    else:
        raise BudgetExceededError(
            "cannot estimate the cost of a duration-only concurrency burst before firing",
            hint="give load.requests (an upper bound) when a budget is set",
        )
    return (n + spec.warmup) * turns


def estimate_prompt_tokens(spec: BurstSpec) -> int:
    """Mean prompt tokens of the burst's prompts (requests cycle through them).

    Uses the same prompt loader and token counter as the engine, so the estimate matches
    what will be sent; output is bounded by ``max_tokens`` separately.
    """
    from lens.workload.prompts import load_prompts
    from lens.workload.tokens import count_tokens

    if spec.load.kind == "trace" and spec.load.trace is not None:
        from lens.workload.traces import read_trace

        rows = read_trace(spec.load.trace, limit=spec.load.requests).rows
        return max(1, -(-sum(r.input_tokens for r in rows) // len(rows)))
    if spec.prompts.synthetic_tokens:
        one = spec.prompts.synthetic_tokens
    else:
        model = spec.targets[0].model
        counts = [count_tokens(p.text, model) for p in load_prompts(spec.prompts)]
        one = max(1, -(-sum(counts) // len(counts)))
    if spec.sessions is None:
        return one
    # Turn t resends t prompts and t - 1 answers (at most max_tokens each): the mean over
    # a session's turns.
    t = spec.sessions.turns
    return max(1, math.ceil((t + 1) / 2 * one + (t - 1) / 2 * spec.max_tokens))


def estimate_burst_cost(
    spec: BurstSpec,
    *,
    prompt_tokens: int | None = None,
    regions: Sequence[str] = (),
    shards: int = 1,
    on_lambda: bool = False,
    prices: Prices = None,
) -> BurstEstimate:
    """Estimate the burst's cost: requests x (prompt tokens in + max_tokens out), per target,
    once per region; with ``on_lambda`` plus the cost of measuring (Lambda GB-seconds and
    invocations, S3 requests, Athena bytes: lens.analysis.measuring_cost).
    ``prices``: price overrides (a file path, PriceOverrides or PriceBook)."""
    n = expected_requests(spec)
    n_regions = max(1, len(regions))
    pt = prompt_tokens if prompt_tokens is not None else estimate_prompt_tokens(spec)
    book = price_book(prices)
    per_target: dict[str, Decimal] = {}
    unpriced: list[str] = []
    not_counted: list[str] = []
    for t in spec.targets:
        one = _price_target(t, pt, spec.max_tokens, book)
        if one.usd is not None:
            per_target[t.label] = one.usd * n * n_regions
        elif one.source == SELF_HOSTED:
            not_counted.append(f"{t.label} (self-hosted, no [[gpu_hour]] price)")
        elif one.source == NO_DURATION:
            not_counted.append(f"{t.label} (priced per GPU-hour, known once it has run)")
        else:
            unpriced.append(t.label)
    measuring = Decimal(0)
    if on_lambda:
        from lens.analysis.measuring_cost import estimate_measuring_cost

        measuring = estimate_measuring_cost(spec, regions=regions or ("us-east-1",), shards=shards).total
    return BurstEstimate(
        usd=sum(per_target.values(), Decimal(0)) + measuring,
        n_requests=n,
        prompt_tokens=pt,
        max_tokens=spec.max_tokens,
        per_target=per_target,
        unpriced=tuple(unpriced),
        regions=n_regions,
        measuring_usd=measuring,
        not_counted=tuple(not_counted),
    )


def _price_target(t: TargetSpec, prompt_tokens: int, max_tokens: int, book: PriceBook) -> Priced:
    """One request's price under the one pricing rule (lens.analysis.pricing)."""
    try:
        host = endpoint_host(t.resolved_base_url)  # as the engine records it
    except (LensError, ValueError):
        host = ""
    return book.price(UsageRow(t.provider, t.model, host, input_tokens=prompt_tokens,
                               output_tokens=max_tokens))
