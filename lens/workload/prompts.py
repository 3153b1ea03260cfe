"""Prompts for a burst: resolve a PromptSpec into a list of :class:`Prompt`.

Sources (exactly one per spec):

- ``set``: a named set from the registry (lens.workload.prompt_sets: the sets bundled in
  the package, or ``$LENS_DATA_DIR/prompts/<set>.jsonl``), ``{"id", "text"}`` lines. A name,
  never a path.
- ``file``: a ``.jsonl`` file like a set, or a ``.txt`` file with one prompt per line.
- ``inline``: texts given in the spec.
- ``synthetic_tokens``: deterministic filler text whose token count (bundled offline
  tokenizer, lens.workload.tokens) is close to N.

Cache modes (:func:`apply_cache_mode`): ``bust`` prepends a per-request nonce line so
provider prompt caches miss and prefill cost is measured; ``shared`` prepends the same
long prefix to every request so caches hit and their effect can be measured.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path

from lens.errors import ConfigError
from lens.spec import PromptSpec
from lens.spec.paths import not_a_file
from lens.workload import prompt_sets

# Common English words; almost all are one token (with their leading space) in the
# cl100k/o200k vocabularies, so N words ~ N tokens before the final exact trim.
_WORDS = (
    "the of and to in is was for on are with as his they be at one have this from or had by "
    "word but what some we can out other were all there when up use your how said an each she "
    "which do their time if will way about many then them write would like so these her long "
    "make thing see him two has look more day could go come did number sound no most people my "
    "over know water than call first who may down side been now find any new work part take get "
    "place made live where after back little only round man year came show every good me give "
    "our under name very through just form sentence great think say help low line differ turn "
    "cause much mean before move right boy old too same tell does set three want air well also "
    "play small end put home read hand port large spell add even land here must big high such"
).split()

SHARED_PREFIX_TOKENS = 1200  # above the 1024-token minimum of provider prompt caches


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    text: str


def available_sets() -> list[str]:
    """Names of the prompt sets a spec may name (lens.workload.prompt_sets)."""
    return prompt_sets.names()


def load_prompts(spec: PromptSpec) -> list[Prompt]:
    """Resolve a PromptSpec into prompts (at least one); ConfigError names the source."""
    if spec.set:
        sets = prompt_sets.registry()
        # Looked up by name in what exists, never joined into a path.
        found = sets.get(spec.set)
        if found is None:
            known = ", ".join(sets) or "none found"
            raise ConfigError(
                f"unknown prompt set {spec.set[:80]!r} (not among {prompt_sets.where()})",
                field="prompts.set",
                hint=f"use one of: {known}; or read a file with prompts.file",
            )
        return _read_jsonl(found, field="prompts.set")
    if spec.file:
        path = Path(spec.file).expanduser()
        why = not_a_file(path)
        if why is not None:
            raise ConfigError(
                "prompt file not found" if why == "does not exist" else f"the prompt file {why}",
                source=str(path),
                field="prompts.file",
                hint="check the path (relative paths start at the working directory)",
            )
        if path.suffix.lower() == ".jsonl":
            return _read_jsonl(path, field="prompts.file")
        if path.suffix.lower() == ".txt":
            return _read_txt(path)
        raise ConfigError(
            f"unknown prompt file type {path.suffix!r}",
            source=str(path),
            field="prompts.file",
            hint='use .jsonl ({"id","text"} lines) or .txt',
        )
    if spec.inline:
        return [Prompt(f"inline-{i}", t) for i, t in enumerate(spec.inline)]
    n = spec.synthetic_tokens or 0
    return [Prompt(f"synthetic-{n}", synthetic_text(n))]


def _read_text(path: Path | Traversable, *, field: str) -> str:
    """A prompt file's text; ConfigError (file, byte offset, fix) for bad bytes or I/O."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the prompt file: {exc.strerror or exc}",
            source=str(path),
            field=field,
            hint="check that the file exists and is readable",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start} (line {line})",
            source=str(path),
            field=field,
            hint="save the file as UTF-8",
        ) from None


def _read_jsonl(path: Path | Traversable, *, field: str) -> list[Prompt]:
    out: list[Prompt] = []
    # Universal newlines, as reading in text mode did (splitlines would also split on
    # U+2028, which JSON allows inside strings).
    text = _read_text(path, field=field).replace("\r\n", "\n").replace("\r", "\n")
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"line {lineno}: not JSON ({exc.msg})",
                source=str(path),
                field=field,
                hint='each line must be {"id": ..., "text": ...}',
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"]:
            raise ConfigError(
                f"line {lineno}: needs a non-empty string 'text'",
                source=str(path),
                field=field,
                hint='each line must be {"id": ..., "text": ...}',
            )
        stem = path.name.rpartition(".")[0] or path.name
        out.append(Prompt(str(row.get("id") or f"{stem}-{lineno}"), row["text"]))
    if not out:
        raise ConfigError("no prompts in file", source=str(path), field=field, hint="add lines")
    return out


def _read_txt(path: Path) -> list[Prompt]:
    out = [
        Prompt(f"{path.stem}-{i}", line.rstrip("\r\n"))
        for i, line in enumerate(_read_text(path, field="prompts.file").splitlines(), 1)
        if line.strip()
    ]
    if not out:
        raise ConfigError(
            "no prompts in file",
            source=str(path),
            field="prompts.file",
            hint="write one prompt per line",
        )
    return out


@lru_cache(maxsize=64)
def synthetic_text(n_tokens: int, seed: int = 0) -> str:
    """Deterministic filler text of about ``n_tokens`` tokens (bundled tokenizer).

    Built from common one-token words, then trimmed word by word to the closest count.
    """
    from lens.workload.tokens import count_tokens

    if n_tokens <= 0:
        return ""
    rng = random.Random(f"lens-synthetic-{seed}")
    words = [rng.choice(_WORDS) for _ in range(n_tokens + 8)]

    def text(k: int) -> str:
        return " ".join(words[:k])

    # Binary search the word count whose token count is closest to n_tokens.
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi) // 2
        if count_tokens(text(mid)) < n_tokens:
            lo = mid + 1
        else:
            hi = mid
    best = min(
        (k for k in (lo - 1, lo) if k >= 1),
        key=lambda k: abs(count_tokens(text(k)) - n_tokens),
    )
    return text(best)


def apply_cache_mode(text: str, mode: str, *, nonce: str | None = None) -> str:
    """Return the text to send for a cache mode: default | bust | shared."""
    if mode == "bust":
        return f"[request {nonce or secrets.token_hex(8)}]\n{text}"
    if mode == "shared":
        return shared_prefix() + "\n\n" + text
    if mode == "default":
        return text
    raise ConfigError(
        f"unknown cache mode {mode!r}", field="cache", hint="use default, bust or shared"
    )


def shared_prefix() -> str:
    """The identical long prefix of the 'shared' cache mode."""
    return synthetic_text(SHARED_PREFIX_TOKENS, seed=1)


def prompt_hash(text: str) -> str:
    """sha256 of the text as sent, first 16 hex digits (the text itself is never stored)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
