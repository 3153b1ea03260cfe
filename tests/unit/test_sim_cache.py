"""The simulator's prefix cache: capacity in tokens with LRU eviction, profile validation."""

from __future__ import annotations

import pytest

from lens.errors import ConfigError
from lens.sim.latency import PrefixCache
from lens.sim.profiles import Profile


def _prompt(tag: str, blocks: int) -> str:
    return "".join(f"{tag}{i:04d}".ljust(256, ".") for i in range(blocks))


def test_capacity_in_tokens_evicts_least_recently_used() -> None:
    cache = PrefixCache.for_tokens(64 * 8)  # 8 blocks of 256 characters
    a, b = _prompt("a", 4), _prompt("b", 4)
    assert cache.lookup_and_add(a + "x") == 0 and cache.lookup_and_add(b + "x") == 0
    assert cache.lookup_and_add(a + "y") == 4 * 256  # both fit: a hit refreshes a
    assert cache.lookup_and_add(_prompt("c", 4)) == 0  # evicts b (least recently used)
    assert cache.lookup_and_add(a + "z") == 4 * 256
    assert cache.lookup_and_add(b + "z") == 0
    unbounded = PrefixCache.for_tokens(0)
    for tag in "defghijk":
        unbounded.lookup_and_add(_prompt(tag, 4))
    assert unbounded.lookup_and_add(_prompt("d", 4) + "!") == 4 * 256


def test_profile_field() -> None:
    assert Profile.from_dict({"cache_prefix": True, "cache_capacity_tokens": 4096}).cache_capacity_tokens == 4096
    with pytest.raises(ConfigError, match="cache_capacity_tokens must be >= 0"):
        Profile(cache_capacity_tokens=-1)
