"""Price overrides from TOML: private models per token, self-hosted endpoints per GPU-hour.

File format (see data/prices.toml)::

    [[model]]                      # per-token prices, USD per million tokens
    model = "acme-private-*"       # the row's model; shell-style wildcards allowed
    provider = "openai_compat"     # optional: the row's provider
    endpoint_host = "llm.acme.internal"   # optional: the row's endpoint_host
    input_mtok = 0.40
    cached_input_mtok = 0.04       # optional, defaults to input_mtok
    cache_write_mtok = 0.50        # optional, defaults to input_mtok
    output_mtok = 1.60             # reasoning tokens are billed as output

    [[gpu_hour]]                   # self-hosted: $/GPU-hour x measured time
    model = "llama-3.1-8b-instruct"
    provider = "vllm"
    usd_per_gpu_hour = 2.10
    gpus = 1

Overrides are checked before genai-prices, in file order; the first match wins.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lens.errors import ConfigError

MTOK = Decimal(1_000_000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Match(_Strict):
    model: str
    provider: str | None = None
    endpoint_host: str | None = None

    def matches(self, provider: str, model: str, endpoint_host: str) -> bool:
        return (fnmatch.fnmatchcase(model, self.model)
                and (self.provider is None or fnmatch.fnmatchcase(provider, self.provider))
                and (self.endpoint_host is None
                     or fnmatch.fnmatchcase(endpoint_host, self.endpoint_host)))


class TokenPrice(_Match):
    """Per-token prices in USD per million tokens."""

    input_mtok: Decimal = Field(ge=0)
    output_mtok: Decimal = Field(ge=0)
    cached_input_mtok: Decimal | None = Field(default=None, ge=0)
    cache_write_mtok: Decimal | None = Field(default=None, ge=0)

    def price(self, uncached: int, cache_read: int, cache_write: int, output: int) -> Decimal:
        cr = self.cached_input_mtok if self.cached_input_mtok is not None else self.input_mtok
        cw = self.cache_write_mtok if self.cache_write_mtok is not None else self.input_mtok
        return (uncached * self.input_mtok + cache_read * cr + cache_write * cw
                + output * self.output_mtok) / MTOK


class GpuHourPrice(_Match):
    """A self-hosted endpoint: ``usd_per_gpu_hour`` x ``gpus`` for the time it was busy."""

    usd_per_gpu_hour: Decimal = Field(gt=0)
    gpus: int = Field(default=1, gt=0)


class PriceOverrides(_Strict):
    """The whole override file."""

    model: list[TokenPrice] = Field(default_factory=list)
    gpu_hour: list[GpuHourPrice] = Field(default_factory=list)

    def find(self, provider: str, model: str, endpoint_host: str
             ) -> TokenPrice | GpuHourPrice | None:
        entries: list[TokenPrice | GpuHourPrice] = [*self.model, *self.gpu_hour]
        for entry in entries:
            if entry.matches(provider, model, endpoint_host):
                return entry
        return None


def overrides_from_dict(data: dict[str, Any], *, source: str = "<prices>") -> PriceOverrides:
    """Validate a mapping; errors name the source file and the field path."""
    try:
        return PriceOverrides.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        hint = ("remove this key or check its spelling (allowed: model, provider, endpoint_host, "
                "input_mtok, output_mtok, cached_input_mtok, cache_write_mtok, usd_per_gpu_hour, "
                "gpus)" if err["type"] == "extra_forbidden" else "see data/prices.toml")
        raise ConfigError(err["msg"], source=source, field=loc or "(top level)",
                          hint=hint) from None


def load_overrides(path: str | os.PathLike[str]) -> PriceOverrides:
    """Read and validate a price override TOML file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("price file not found", source=str(p), hint="check the path")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse: {exc}", source=str(p), hint="fix the TOML syntax") from None
    return overrides_from_dict(data, source=str(p))
