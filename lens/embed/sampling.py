"""Which production calls to profile: a base rate plus per-route/per-model rules.

The decision is a pure function of the request id (blake2b of the id -> a number in
[0, 1) compared with the rate), so the same id always gets the same answer: in every
process, on every host, on a retry that reuses the id. Rules are checked in order and the
first whose ``route`` and ``model`` globs both match sets the rate; otherwise the base
``rate`` applies. ``route`` matches the dialect name (``openai_chat``, ``anthropic``, ...)
or the URL path (``/v1/chat/completions``); ``model`` matches the model id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from lens.errors import ConfigError

__all__ = ["SampleRule", "Sampler", "sample_fraction"]

_SCALE = float(1 << 64)


def sample_fraction(request_id: str) -> float:
    """A number in [0, 1) fixed by ``request_id`` (uniform over random ids)."""
    digest = hashlib.blake2b(request_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def _check_rate(rate: float, where: str) -> float:
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(
            f"sample rate {rate!r} is outside [0, 1]", field=where,
            hint="use a fraction: 1.0 keeps every call, 0.1 one in ten, 0 none",
        )  # fmt: skip
    return rate


@dataclass(frozen=True, slots=True)
class SampleRule:
    """Rate for calls whose route and model match these globs (``*`` matches anything)."""

    rate: float
    route: str = "*"
    model: str = "*"

    def __post_init__(self) -> None:
        _check_rate(self.rate, "sample.rules[].rate")

    def matches(self, dialect: str, path: str, model: str) -> bool:
        route_ok = (
            self.route == "*" or fnmatchcase(dialect, self.route) or fnmatchcase(path, self.route)
        )
        return route_ok and (self.model == "*" or fnmatchcase(model, self.model))


class Sampler:
    """``Sampler(0.1, rules=[SampleRule(1.0, model="gpt-4o*")])``: keep() decides per call."""

    def __init__(
        self, rate: float = 1.0, rules: Iterable[SampleRule | Mapping[str, Any]] = ()
    ) -> None:
        self.rate = _check_rate(rate, "sample")
        self.rules: tuple[SampleRule, ...] = tuple(
            r if isinstance(r, SampleRule) else SampleRule(**dict(r)) for r in rules
        )

    def rate_for(self, dialect: str, path: str, model: str) -> float:
        """The rate that applies to a call (first matching rule, else the base rate)."""
        for rule in self.rules:
            if rule.matches(dialect, path, model):
                return rule.rate
        return self.rate

    def keep(self, request_id: str, *, dialect: str = "", path: str = "", model: str = "") -> bool:
        """True when this call should be profiled."""
        rate = self.rate_for(dialect, path, model) if self.rules else self.rate
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        return sample_fraction(request_id) < rate

    @classmethod
    def coerce(cls, value: Sampler | float | None) -> Sampler:
        """A Sampler from a Sampler, a bare rate, or None (keep everything)."""
        if value is None:
            return cls(1.0)
        if isinstance(value, Sampler):
            return value
        return cls(float(value))
