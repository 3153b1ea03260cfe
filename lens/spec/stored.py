"""The spec as lens keeps it (``runs.spec_json``, exported ``.meta.json``): no prompt text.

No prompt text is stored by default (docs/security.md), but a spec may carry its prompts
inline. :func:`stored_spec_json` keeps each inline prompt as its id, a hash and its size,
the same ``prompt_hash`` the request rows carry::

    "prompts": {"inline_stored": [{"id": "inline-0", "prompt_hash": "9f86d0818...", "chars": 42}]}

With ``keep_text=True`` (opted in, like the embedded sink's ``keep_text``) the texts are
kept under ``prompts.inline_redacted`` after PII redaction (lens.redact.pii.redact).
A stored spec never has ``prompts.inline``: where one does, it was stored before this rule.
:func:`hide_prompt_text` does the same to a spec mapping already stored (an export of a
run recorded before this rule).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from lens.redact.pii import prompt_hash, redact
from lens.spec.models import BurstSpec

__all__ = ["hide_prompt_text", "stored_spec_json"]


def hide_prompt_text(data: Mapping[str, Any], *, keep_text: bool = False) -> dict[str, Any]:
    """A copy of a spec mapping with ``prompts.inline`` as hashes and sizes (or, with
    ``keep_text``, redacted texts). Anything that is not a spec passes through."""
    out = copy.deepcopy(dict(data))
    prompts = out.get("prompts")
    if not isinstance(prompts, dict) or not isinstance(prompts.get("inline"), list):
        return out
    texts = [t if isinstance(t, str) else json.dumps(t) for t in prompts["inline"]]
    del prompts["inline"]
    if keep_text:
        prompts["inline_redacted"] = [redact(t) for t in texts]
        return out
    prompts["inline_stored"] = [
        {"id": f"inline-{i}", "prompt_hash": prompt_hash(t), "chars": len(t)} for i, t in enumerate(texts)
    ]
    return out


def stored_spec_json(spec: BurstSpec, *, keep_text: bool = False) -> str:
    """The JSON kept for a burst's spec: see the module docstring."""
    data = spec.model_dump(mode="json", exclude_none=True)
    return json.dumps(hide_prompt_text(data, keep_text=keep_text), separators=(",", ":"))
