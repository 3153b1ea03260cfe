"""genai-prices (bundled data, no network) reduced to rates lens can apply in microseconds.

genai-prices takes ~75 us to price one usage, too slow for the event loop; but a model's
price in force at a moment is linear in each token kind within a tier. So the rate is
measured from genai-prices itself -- price of no tokens (the per-request part), then one
extra token of each kind at a total input inside each tier -- and then *checked* against
genai-prices on usages that mix every kind at both ends of each tier. A model whose prices
do not pass (some price this reduction does not know) is priced by genai-prices per distinct
usage instead (``ExactRate``). Decimal division is exact whenever the quotient has a finite
decimal expansion, which per-token prices derived from USD-per-million prices always do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from lens.analysis.rates import ExactRate, TokenRate, Units
from lens.spec import PRICE_PROVIDER_IDS

_built: dict[int, tuple[Any, TokenRate | ExactRate]] = {}  # id(ModelPrice) -> (it, rate)


def warm() -> None:
    """Load genai-prices' data now (about a second the first time), not on the event loop."""
    _model(("provider_id", "openai"), "gpt-4o")


def genai_ref(provider: str, endpoint_host: str) -> tuple[str, str] | None:
    """How genai-prices should find the provider: by its id, or by the endpoint's URL."""
    if provider in PRICE_PROVIDER_IDS:
        return ("provider_id", PRICE_PROVIDER_IDS[provider])
    if endpoint_host:
        return ("provider_api_url", f"https://{endpoint_host}")
    return None


@lru_cache(maxsize=1024)
def _model(ref: tuple[str, str], model: str) -> tuple[Any, str] | None:
    """genai-prices' ModelInfo and the provider id it belongs to (None: unknown)."""
    from genai_prices import Usage, calc_price

    try:
        if ref[0] == "provider_id":
            found = calc_price(Usage(), model, provider_id=ref[1])
        else:
            found = calc_price(Usage(), model, provider_api_url=ref[1])
    except LookupError:
        return None
    return found.model, str(found.provider.id)


def genai_rate(provider: str, model: str, endpoint_host: str, when: datetime
               ) -> TokenRate | ExactRate | None:
    """The rate genai-prices gives ``model`` at ``when``; None when it has no price."""
    ref = genai_ref(provider, endpoint_host)
    found = _model(ref, model) if ref is not None else None
    if found is None:
        return None
    info, provider_id = found
    model_price = info.get_prices(when)
    label = f"genai-prices:{provider_id}/{info.id}"
    key = id(model_price)
    cached = _built.get(key)
    # The ModelPrice objects belong to genai-prices' loaded data and live as long as it does;
    # keeping a reference beside the rate keeps the id from being reused.
    if cached is None or cached[0] is not model_price or cached[1].label != label:
        cached = (model_price, reduce(model_price, label))
        _built[key] = cached
    return cached[1]


def _calc(model_price: Any, u: int = 0, r: int = 0, w: int = 0, o: int = 0) -> Decimal:
    from genai_prices import Usage

    total: Decimal = model_price.calc_price(Usage(
        input_tokens=u + r + w, cache_read_tokens=r, cache_write_tokens=w,
        output_tokens=o))["total_price"]
    return total


def reduce(model_price: Any, label: str) -> TokenRate | ExactRate:
    """A TokenRate equal to genai-prices on every usage, else an ExactRate."""
    from genai_prices.types import TieredPrices

    starts = sorted({t.start for v in vars(model_price).values() if isinstance(v, TieredPrices)
                     for t in v.tiers})
    if starts and starts[0] < 1:
        return ExactRate(label, model_price)  # no total input >= 1 falls in the base tier
    fixed = _calc(model_price)
    segments: list[Units] = []
    for v in [1, *(s + 1 for s in starts)]:  # one total input inside each tier
        at_v = _calc(model_price, u=v)
        segments.append((
            fixed,
            (at_v - fixed) / v,
            (_calc(model_price, r=v) - fixed) / v,
            (_calc(model_price, w=v) - fixed) / v,
            _calc(model_price, u=v, o=1) - at_v,
        ))
    rate = TokenRate(label, tuple(segments), tuple(starts))
    return rate if _agrees(rate, model_price, starts) else ExactRate(label, model_price)


def _agrees(rate: TokenRate, model_price: Any, starts: list[int]) -> bool:
    """Compare with genai-prices at both ends of every tier, mixing all token kinds."""
    bounds = [0, *starts]
    tops = [*starts, max(bounds[-1] * 4, 4_000_000)]
    for lo, hi in zip(bounds, tops, strict=True):
        for total in {lo + 1, hi}:
            r, w = total // 3, total // 7
            for usage in ((total - r - w, r, w, 12_345), (total, 0, 0, 0), (0, total, 0, 1)):
                if rate.usd(*usage) != _calc(model_price, *usage):
                    return False
    return rate.usd(0, 0, 0, 7) == _calc(model_price, o=7)
