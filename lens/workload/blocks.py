"""Token-exact filler text, cheap enough to build per request.

Every word in :data:`ONE_TOKEN_WORDS` is exactly one token in both cl100k_base and
o200k_base, with or without its leading space, and the tokenizers split text at the
spaces between words; so N words joined by spaces are exactly N tokens, and texts join
without changing their counts (a test checks both). No tokenizer runs here, so building a
10,000-token prompt costs microseconds.

- :func:`block_text`: the block of ``n`` words for a named block id. The same id always
  gives the same text (seeded from the id alone), so requests that share a block id
  share that block's text: this is how trace replay reproduces shared prefixes.
- :func:`words`: ``n`` words for any seed (unique suffixes, fillers).
"""

from __future__ import annotations

import random
from functools import lru_cache

from lens.workload.prompts import _WORDS

# "differ" is two tokens in cl100k_base; the other common words are one.
ONE_TOKEN_WORDS: tuple[str, ...] = tuple(w for w in dict.fromkeys(_WORDS) if w != "differ")


def words(n: int, seed: str) -> str:
    """``n`` words (exactly ``n`` tokens) drawn with a generator seeded by ``seed``."""
    if n <= 0:
        return ""
    return " ".join(random.Random(seed).choices(ONE_TOKEN_WORDS, k=n))


@lru_cache(maxsize=4096)
def block_text(block_id: int | str, n: int, namespace: str = "block") -> str:
    """The text of block ``block_id``: ``n`` words, identical wherever the id recurs.

    A shorter block of the same id is a prefix of the longer one (the last, partial block
    of a trace row starts like the full block of that id).
    """
    # random.choices draws one word at a time, so the first k words of an id's block do not
    # depend on the block's length: the prefix property above.
    return words(n, f"lens-{namespace}-{block_id}")


def join(parts: list[str]) -> str:
    """Texts joined by single spaces (token counts add up exactly)."""
    return " ".join(p for p in parts if p)
