"""What a measurement costs on AWS: Lambda GB-seconds and invocations, S3 requests, Athena
bytes scanned. Estimated before a burst is fired (so a budget can refuse it) and computed
after from what the run actually did.

Prices are a table in code, USD, on-demand list prices. Source: the AWS pricing pages
(aws.amazon.com/lambda/pricing, /s3/pricing, /athena/pricing), as transcribed in 2025 for
the regions listed; they were not re-checked online from this machine, free tiers are
ignored, and a region missing here raises rather than guessing. Pass ``prices=`` to use
your own (e.g. negotiated) figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lens.errors import BudgetExceededError, ConfigError

D = Decimal
PRICES_AS_OF = "2025 (AWS public list prices, transcribed; not verified online)"


# us-east-1 list prices (Decimal is immutable, so module constants are safe defaults)
_LAMBDA_GB_S_X86 = D("0.0000166667")
_LAMBDA_GB_S_ARM = D("0.0000133334")
_LAMBDA_PER_M = D("0.20")
_S3_PUT = D("0.005")
_S3_GET = D("0.0004")
_ATHENA_TB = D("5.00")


@dataclass(frozen=True)
class RegionPrices:
    """USD list prices for one region."""

    lambda_gb_s_x86: Decimal = _LAMBDA_GB_S_X86
    lambda_gb_s_arm: Decimal = _LAMBDA_GB_S_ARM
    lambda_per_million_requests: Decimal = _LAMBDA_PER_M
    s3_put_per_1000: Decimal = _S3_PUT  # PUT, COPY, POST, LIST (S3 Standard)
    s3_get_per_1000: Decimal = _S3_GET  # GET, SELECT and others
    athena_per_tb: Decimal = _ATHENA_TB
    athena_min_bytes: int = 10 * 1024 * 1024  # each query is billed at least 10 MB


_US = RegionPrices()
REGION_PRICES: dict[str, RegionPrices] = {
    "us-east-1": _US,
    "us-east-2": _US,
    "us-west-2": _US,
    "eu-west-1": _US,
    "ap-south-1": _US,  # the Terraform example's third region; same list prices as us-east-1
    "eu-central-1": RegionPrices(s3_put_per_1000=D("0.0054"), s3_get_per_1000=D("0.00043")),
    "eu-west-2": RegionPrices(s3_put_per_1000=D("0.0053"), s3_get_per_1000=D("0.00042")),
    "ap-northeast-1": RegionPrices(s3_put_per_1000=D("0.0047"), s3_get_per_1000=D("0.00037")),
    "ap-southeast-1": RegionPrices(s3_put_per_1000=D("0.005"), s3_get_per_1000=D("0.0004")),
    "ap-southeast-2": RegionPrices(s3_put_per_1000=D("0.0055"), s3_get_per_1000=D("0.00044")),
}
GB = D(1024**3)


@dataclass
class MeasuringCost:
    """A cost breakdown in Decimal USD, per item and in total, with the quantities used."""

    items: dict[str, Decimal] = field(default_factory=dict)
    quantities: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.items.values(), D(0))

    def add(self, other: MeasuringCost) -> MeasuringCost:
        out = MeasuringCost(dict(self.items), dict(self.quantities))
        for k, v in other.items.items():
            out.items[k] = out.items.get(k, D(0)) + v
        for k, q in other.quantities.items():
            out.quantities[k] = out.quantities.get(k, 0) + q
        return out

    def check_budget(self, budget_usd: Decimal | float | str) -> None:
        """Raise BudgetExceededError when the total exceeds ``budget_usd``."""
        budget = D(str(budget_usd))
        if self.total > budget:
            raise BudgetExceededError(
                f"estimated measuring cost ${self.total:.4f} exceeds the budget ${budget:.4f}",
                hint="lower requests/regions/shards, or raise the budget")


def region_prices(region: str, prices: Mapping[str, RegionPrices] | None = None) -> RegionPrices:
    table = prices if prices is not None else REGION_PRICES
    if region not in table:
        raise ConfigError(f"no AWS price table for region {region!r}", field="regions",
                          hint=f"use one of {', '.join(sorted(table))} or pass prices=")
    return table[region]


def cost_of_usage(
    region: str, *, invocations: int, gb_seconds: float, s3_puts: int = 0, s3_gets: int = 0,
    athena_bytes: int = 0, athena_queries: int = 0, arch: str = "x86_64",
    prices: Mapping[str, RegionPrices] | None = None,
) -> MeasuringCost:
    """Price measured quantities in one region."""
    p = region_prices(region, prices)
    gb_s_price = p.lambda_gb_s_arm if arch == "arm64" else p.lambda_gb_s_x86
    billed_athena = max(athena_bytes, p.athena_min_bytes * athena_queries)
    return MeasuringCost(
        items={
            "lambda_compute": D(repr(gb_seconds)) * gb_s_price,
            "lambda_requests": D(invocations) * p.lambda_per_million_requests / D(1_000_000),
            "s3_put": D(s3_puts) * p.s3_put_per_1000 / D(1000),
            "s3_get": D(s3_gets) * p.s3_get_per_1000 / D(1000),
            "athena_scan": D(billed_athena) / D(1024**4) * p.athena_per_tb,
        },
        quantities={"invocations": invocations, "gb_seconds": gb_seconds, "s3_puts": s3_puts,
                    "s3_gets": s3_gets, "athena_bytes": billed_athena},
    )


def _burst_size(spec: Any, expected_request_s: float) -> tuple[int, float]:
    """(requests incl. warm-up, wall seconds) of one region's burst, from a BurstSpec."""
    load = spec.load
    n_targets = len(spec.targets)
    if load.kind == "sweep":
        per = (load.requests or 0) * len(load.levels or [])
        secs = sum(math.ceil((load.requests or 0) / lv) * expected_request_s
                   for lv in (load.levels or [1]))
    elif load.kind in ("rate", "poisson"):
        dur = load.duration_s or (load.requests or 0) / float(load.rate)
        per = int(load.requests or math.ceil(dur * float(load.rate)))
        secs = dur + expected_request_s
    else:
        per = load.requests or 0
        secs = math.ceil(per / load.concurrency) * expected_request_s
        if load.duration_s:
            secs = min(secs, load.duration_s + expected_request_s) if load.requests else \
                load.duration_s + expected_request_s
            if not load.requests:
                per = int(load.concurrency * load.duration_s / expected_request_s)
    warm = getattr(spec, "warmup", 0)
    return n_targets * (per + warm), n_targets * secs + warm * expected_request_s


def estimate_measuring_cost(
    spec: Any,
    *,
    regions: Iterable[str] = ("us-east-1",),
    shards: int = 1,
    memory_mb: int = 512,
    expected_request_s: float = 5.0,
    overhead_s: float = 1.0,
    arch: str = "x86_64",
    athena_bytes_per_request: int = 4096,
    athena_queries: int = 1,
    prices: Mapping[str, RegionPrices] | None = None,
) -> MeasuringCost:
    """Estimate the AWS cost of running ``spec`` (a BurstSpec) from Lambda runners.

    Per region: ``shards`` invocations share the burst; each is billed for
    ``memory_mb / 1024`` GB for the burst's wall time (requests / concurrency x
    ``expected_request_s``, split over shards) plus ``overhead_s`` (cold start, upload).
    S3: one PUT per shard for requests and one for chunks; one GET per shard when read
    back. Athena: ``athena_bytes_per_request`` per stored request (Parquet, ~1-4 KB incl.
    chunks) scanned ``athena_queries`` times, with Athena's 10 MB minimum per query.
    """
    requests, wall_s = _burst_size(spec, expected_request_s)
    total = MeasuringCost()
    gb = memory_mb / 1024
    for region in regions:
        secs = wall_s / shards + overhead_s
        part = cost_of_usage(
            region, invocations=shards, gb_seconds=gb * secs * shards, s3_puts=2 * shards,
            s3_gets=2 * shards, athena_bytes=requests * athena_bytes_per_request * athena_queries,
            athena_queries=athena_queries, arch=arch, prices=prices)
        part.quantities["requests"] = requests
        total = total.add(part)
    return total


def actual_measuring_cost(
    requests: Any, *, memory_mb: int = 512, overhead_s: float = 1.0, arch: str = "x86_64",
    athena_bytes: int = 0, athena_queries: int = 0,
    prices: Mapping[str, RegionPrices] | None = None,
) -> MeasuringCost:
    """The cost a finished run incurred, from its request frame: per (region, shard) one
    invocation billed from its first request's start to its last request's end (+
    ``overhead_s``), two S3 PUTs per shard, plus any Athena bytes scanned reading it."""
    import pandas as pd

    d = requests.loc[requests["runner"].astype("object") == "lambda"] \
        if "runner" in requests.columns and (requests["runner"].astype("object") == "lambda").any() \
        else requests
    end = d["started_at"] + pd.to_timedelta(d["e2e_ms"].fillna(0), unit="ms")
    spans = d.assign(_end=end).groupby(["region", "shard"], observed=True).agg(
        start=("started_at", "min"), end=("_end", "max"))
    total = MeasuringCost()
    gb = memory_mb / 1024
    regions = list(spans.index.get_level_values(0).unique())
    for i, region in enumerate(regions):
        r = spans.xs(region, level=0)
        secs = float(((r["end"] - r["start"]).dt.total_seconds() + overhead_s).sum())
        total = total.add(cost_of_usage(
            str(region), invocations=len(r), gb_seconds=gb * secs, s3_puts=2 * len(r),
            athena_bytes=athena_bytes if i == 0 else 0,
            athena_queries=athena_queries if i == 0 else 0, arch=arch, prices=prices))
    return total
