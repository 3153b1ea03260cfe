"""Cost budgets: refuse a burst whose estimated cost would exceed a per-burst or per-day limit.

Before firing, ``check_budget`` estimates the burst's cost with the cost model (expected
tokens per request = the prompt's token estimate as input + ``max_tokens`` as output, an
upper bound on what the burst can cost), adds the day's spend so far from the SQLite
history, and raises BudgetExceededError naming the estimate and the limit when either
budget would be exceeded. Crossing 50 / 80 / 100 % of a budget is announced as a log line
and as the gauge ``lens_budget_used_ratio{budget="burst"|"day"}``.

``BudgetWatch`` is a RecordSink that keeps announcing while the burst runs, from the
actual usage of finished requests.

Pricing: everything here -- the estimate, the day's spend, ``BudgetWatch`` and
``price_request`` -- prices through lens.analysis.pricing, the one rule reports, gates and
the Prometheus cost counter use, with the same price overrides when given (``prices=``).
Self-hosted targets (vllm, llamacpp, ollama) without a ``[[gpu_hour]]`` price are not
counted, and say so (a warning naming them), rather than silently counting $0; the
simulated endpoint (``sim``) is free. A GPU-hour price depends on the measured duration,
so such targets are left out of the pre-flight estimate but counted by ``BudgetWatch``
and in the day's spend.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from lens.analysis.pricing import FREE_PROVIDERS as FREE_PROVIDERS  # public name; only "sim" now
from lens.analysis.pricing import (
    NO_DURATION,
    SELF_HOSTED,
    PriceBook,
    Priced,
    Prices,
    UsageRow,
    price_book,
    unpriced_name,
)
from lens.errors import BudgetExceededError, ConfigError, LensError, StoreError
from lens.record import ChunkTiming, RequestRecord
from lens.spec import BurstSpec, TargetSpec

log = logging.getLogger(__name__)

THRESHOLDS: tuple[float, ...] = (0.5, 0.8, 1.0)


class BudgetMetrics(Protocol):
    """Where budget ratios go as metrics (PrometheusSink implements it)."""

    def set_budget_ratio(self, budget: str, ratio: float) -> None: ...


# -- pricing -------------------------------------------------------------------------------


def price_request(
    provider: str,
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_input_tokens: int = 0,
    endpoint_host: str = "",
    prices: Prices = None,
) -> Decimal | None:
    """USD cost of one request at today's price, or None when it cannot be priced (unknown
    model, self-hosted without a GPU-hour price): lens.analysis.pricing's one rule.

    ``input_tokens`` includes ``cached_input_tokens`` (as the record stores them).
    ``prices``: price overrides (a file path, PriceOverrides or PriceBook).
    """
    return price_book(prices).price(UsageRow(
        provider, model, endpoint_host, input_tokens=int(input_tokens),
        output_tokens=int(output_tokens), cached_input_tokens=int(cached_input_tokens),
    )).usd  # fmt: skip


# -- estimate ------------------------------------------------------------------------------


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


def _host(url: str) -> str:
    # as the engine records it (lens.probe.engine): hostname[:port], never user info
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _price_target(t: TargetSpec, prompt_tokens: int, max_tokens: int, book: PriceBook) -> Priced:
    """One request's price under the one pricing rule (lens.analysis.pricing)."""
    try:
        host = _host(t.resolved_base_url)
    except (LensError, ValueError):
        host = ""
    return book.price(UsageRow(t.provider, t.model, host, input_tokens=prompt_tokens,
                               output_tokens=max_tokens))


# -- spend so far --------------------------------------------------------------------------


def _db_source(store: Any) -> str | None:
    if store is None:
        return None
    if isinstance(store, (str, Path)):
        return str(store)
    for attr in ("url", "path", "db_path"):
        v = getattr(store, attr, None)
        if isinstance(v, (str, Path)):
            return str(v)
    raise StoreError(
        f"cannot read today's spend from {type(store).__name__}",
        hint="pass the SQLite store (or its file path / sqlite:/// URL) as store=",
    )


def spent_on(store: Any, day: date | None = None, *, prices: Prices = None) -> Decimal:
    """USD spent on ``day`` (UTC; default today) by the requests in the SQLite history.

    Rows come from lens.analysis.frames.load and are priced by lens.analysis.cost.price_frame
    (the one pricing rule reports use; ``prices``: price overrides). ``store`` is a Store
    with a ``url``/``path``, a file path or ``sqlite:///`` URL, or None (no history: 0). A
    missing file means 0. Rows that cannot be priced (unknown models, self-hosted without a
    GPU-hour price) are not counted and are named in a warning.
    """
    src = _db_source(store)
    if src is None:
        return Decimal(0)
    if "://" not in src and not Path(src).expanduser().exists():
        return Decimal(0)
    from lens.analysis.cost import price_frame
    from lens.analysis.frames import load

    day = day or datetime.now(UTC).date()
    df = load(db=src, since=day.isoformat(), until=day.isoformat())
    assert not isinstance(df, tuple)
    if df.empty:
        return Decimal(0)
    _, report = price_frame(df, price_book(prices))
    if report.unpriced:
        log.warning("today's spend leaves out unpriced rows: %s",
                    ", ".join(f"{k} x{v}" for k, v in sorted(report.unpriced.items())))  # fmt: skip
    return report.total_usd


# -- check ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetCheck:
    """What check_budget decided (returned when the burst may fire)."""

    estimate: BurstEstimate
    spent_today: Decimal
    per_burst_usd: Decimal | None
    per_day_usd: Decimal | None
    # the prices the check used; BudgetWatch prices actual usage with the same ones
    prices: PriceBook | None = field(default=None, compare=False, repr=False)

    @property
    def burst_ratio(self) -> float | None:
        return _ratio(self.estimate.usd, self.per_burst_usd)

    @property
    def day_ratio(self) -> float | None:
        return _ratio(self.spent_today + self.estimate.usd, self.per_day_usd)


def _ratio(used: Decimal, limit: Decimal | None) -> float | None:
    if limit is None:
        return None
    return float("inf") if limit == 0 and used > 0 else (0.0 if limit == 0 else float(used / limit))


def _as_limit(v: float | Decimal | str | None, flag: str) -> Decimal | None:
    if v is None:
        return None
    try:
        d = Decimal(str(v).strip().lstrip("$"))
    except ArithmeticError:  # decimal.InvalidOperation
        raise ConfigError(f"not an amount in USD: {v!r}", source=flag, hint="e.g. 2.50") from None
    if not d.is_finite() or d < 0:
        raise ConfigError(
            f"a budget cannot be negative (got {v})", source=flag, hint="give USD >= 0"
        )
    return d


def notify(
    budget: str, ratio: float, metrics: BudgetMetrics | None = None, *, what: str = ""
) -> float | None:
    """Log the highest threshold ``ratio`` has reached and publish the gauge; returns it."""
    if metrics is not None:
        metrics.set_budget_ratio(budget, ratio)
    reached = [t for t in THRESHOLDS if ratio >= t]
    if not reached:
        return None
    level = (
        logging.ERROR
        if reached[-1] >= 1.0
        else logging.WARNING
        if reached[-1] >= 0.8
        else logging.INFO
    )
    log.log(
        level,
        "%s budget at %.0f%% (threshold %.0f%%)%s",
        budget,
        ratio * 100,
        reached[-1] * 100,
        what,
    )
    return reached[-1]


def check_budget(
    spec: BurstSpec,
    *,
    per_burst_usd: float | Decimal | str | None,
    per_day_usd: float | Decimal | str | None,
    store: Any = None,
    metrics: BudgetMetrics | None = None,
    prompt_tokens: int | None = None,
    today: date | None = None,
    regions: Sequence[str] = (),
    shards: int = 1,
    on_lambda: bool = False,
    prices: Prices = None,
) -> BudgetCheck:
    """Estimate ``spec``'s cost and refuse it (BudgetExceededError) if a budget would be exceeded.

    The per-day check adds the estimate to what today's runs in ``store`` already spent.
    Returns the BudgetCheck when the burst may fire. Thresholds reached are logged and
    published through ``metrics`` (e.g. a PrometheusSink) as ``lens_budget_used_ratio``.
    ``prices``: price overrides (a file path, PriceOverrides or PriceBook) for the estimate,
    the day's spend and a BudgetWatch made from the returned check.
    """
    burst_limit = _as_limit(per_burst_usd, "--budget-usd")
    day_limit = _as_limit(per_day_usd, "--daily-budget-usd")
    book = price_book(prices)
    est = estimate_burst_cost(
        spec, prompt_tokens=prompt_tokens, regions=regions, shards=shards, on_lambda=on_lambda,
        prices=book,
    )  # fmt: skip
    if (burst_limit is not None or day_limit is not None) and est.unpriced:
        raise BudgetExceededError(
            f"cannot enforce the budget: no price known for {', '.join(est.unpriced)}",
            hint="use a model genai-prices knows, give its price in a price file (--prices), "
            "or drop the budget flags for this target",
        )
    if (burst_limit is not None or day_limit is not None) and est.not_counted:
        log.warning("the budget does not count %s", ", ".join(est.not_counted))
    spent = spent_on(store, today, prices=book) if day_limit is not None else Decimal(0)
    check = BudgetCheck(est, spent, burst_limit, day_limit, prices=book)
    desc = (
        f" ({est.n_requests} req/target x ({est.prompt_tokens} in + {est.max_tokens} out) tokens"
        + (f" x {est.regions} regions" if est.regions > 1 else "")
        + (f", incl. ${est.measuring_usd:.4f} Lambda/S3/Athena" if est.measuring_usd else "")
        + ")"
    )
    if check.burst_ratio is not None:
        notify(
            "burst", check.burst_ratio, metrics, what=f": estimate ${est.usd:.4f} of ${burst_limit}"
        )
        if est.usd > burst_limit:  # type: ignore[operator]
            raise BudgetExceededError(
                f"burst refused: estimated cost ${est.usd:.4f}{desc} exceeds the per-burst "
                f"budget ${burst_limit}",
                hint="lower load.requests or max_tokens, or raise --budget-usd",
            )
    if check.day_ratio is not None:
        notify(
            "day",
            check.day_ratio,
            metrics,
            what=f": ${spent:.4f} spent + ${est.usd:.4f} estimate of ${day_limit}",
        )
        if spent + est.usd > day_limit:  # type: ignore[operator]
            raise BudgetExceededError(
                f"burst refused: spent today ${spent:.4f} + estimated ${est.usd:.4f}{desc} "
                f"exceeds the per-day budget ${day_limit}",
                hint="wait until tomorrow (UTC), lower the burst, or raise --daily-budget-usd",
            )
    return check


class BudgetWatch:
    """A RecordSink pricing finished requests and announcing budget thresholds as they pass.

    It never stops a burst (the pre-flight estimate is an upper bound); it reports.
    Requests are priced by lens.analysis.pricing with the check's prices; those that cannot
    be priced are counted in ``unpriced`` (by name) and warned about once per name.
    """

    def __init__(self, check: BudgetCheck, *, metrics: BudgetMetrics | None = None) -> None:
        self.check = check
        self.metrics = metrics
        self.spent = Decimal(0)
        self.unpriced: dict[str, int] = {}
        # genai-prices loaded now, not on the event loop (check_budget resolved the targets'
        # rates with this same book)
        self._book = price_book(check.prices).warm()
        self._announced: dict[str, float] = {}

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        usd, source = self._book.price(record)
        if usd is None:
            name = unpriced_name(record.provider, record.model, source)
            self.unpriced[name] = self.unpriced.get(name, 0) + 1
            if self.unpriced[name] == 1:
                log.warning("budget does not count %s: no price", name)
            return
        if not usd:
            return
        self.spent += usd
        for name, used, limit in (
            ("burst", self.spent, self.check.per_burst_usd),
            ("day", self.check.spent_today + self.spent, self.check.per_day_usd),
        ):
            ratio = _ratio(used, limit)
            if ratio is None:
                continue
            if self.metrics is not None:
                self.metrics.set_budget_ratio(name, ratio)
            reached = max((t for t in THRESHOLDS if ratio >= t), default=None)
            if reached is not None and reached > self._announced.get(name, 0.0):
                self._announced[name] = reached
                notify(name, ratio, None, what=f": actual ${used:.4f} of ${limit}")


def summary_json(check: BudgetCheck) -> str:
    """Compact JSON of a check (for run tags / logs)."""
    return json.dumps(
        {
            "estimate_usd": str(check.estimate.usd),
            "spent_today_usd": str(check.spent_today),
            "per_burst_usd": None if check.per_burst_usd is None else str(check.per_burst_usd),
            "per_day_usd": None if check.per_day_usd is None else str(check.per_day_usd),
        },
        separators=(",", ":"),
    )
