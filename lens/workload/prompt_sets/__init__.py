"""The registry of named prompt sets: the sets bundled in this package, by name.

A spec names a set (``prompts: {set: short}``, ``lens run --prompt-set short``); it never
gives a path. Names are looked up in a mapping built by listing the sets that exist, so no
name can reach a file outside them (``../../etc/x`` or ``/abs/x.jsonl`` are refused when
the spec is validated, by lens.spec.PromptSpec). A file of one's own goes through
``prompts.file`` (``lens run --prompt-file``), which a Lambda runner refuses.

The bundled sets are package data (``short``, ``medium``, ``long``; see README.md here),
so a pip-installed lens and the runner's zip have them. ``$LENS_DATA_DIR``, when set,
replaces them with the ``<name>.jsonl`` files in ``$LENS_DATA_DIR/prompts/`` (an
operator's choice, read from the environment, never from a spec).
"""

from __future__ import annotations

import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from lens.spec.models import PROMPT_SET_NAME

_NAME = re.compile(PROMPT_SET_NAME)


def _sets_dir() -> Traversable:
    env = os.environ.get("LENS_DATA_DIR")
    if env:
        return Path(env) / "prompts"
    return resources.files(__name__)


def registry() -> dict[str, Traversable]:
    """Every known set: name -> its ``.jsonl`` resource (bundled, or $LENS_DATA_DIR's)."""
    root = _sets_dir()
    if not root.is_dir():
        return {}
    out: dict[str, Traversable] = {}
    for item in root.iterdir():
        stem, dot, ext = item.name.rpartition(".")
        if dot and ext == "jsonl" and _NAME.fullmatch(stem) and item.is_file():
            out[stem] = item
    return dict(sorted(out.items()))


def names() -> list[str]:
    """Names of the known sets, sorted."""
    return list(registry())


def where() -> str:
    """Where the sets are looked up, for error messages."""
    env = os.environ.get("LENS_DATA_DIR")
    return f"{env}/prompts" if env else "the sets bundled with lens"
