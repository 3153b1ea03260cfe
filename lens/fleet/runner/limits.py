"""How hard a runner event may push: load, sizes, timeouts and per-response caps.

Load and sizes above the limits are refused (:func:`check_load`, :func:`check_sizes`): the
event asked for something the operator did not allow. Timeouts and response caps are
lowered to the runner's maxima (:func:`apply_maxima`): they bound what the runner spends
on one request, and the burst is still meaningful under them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lens.errors import SecurityError
from lens.fleet.runner.settings import Settings
from lens.spec import BurstSpec

# Request-body keys (any dialect, compared lower-case without '_') that set the output length.
_OUTPUT_KEYS = frozenset({"maxtokens", "maxcompletiontokens", "maxoutputtokens", "maxnewtokens", "numpredict"})
# Characters per prompt token the size caps assume (English averages about four).
_CHARS_PER_TOKEN = 4


def check_load(spec: BurstSpec, settings: Settings) -> None:
    """Refuse more requests in flight at once, or in total, than the runner allows.

    The engine runs every target at once, so the peak in flight is the per-target peak
    times the number of targets: concurrency (the largest sweep level) for closed loops,
    ``max_in_flight`` for rate/poisson arrivals.
    """
    load = spec.load
    n_targets = len(spec.targets)
    levels = load.levels if load.kind == "sweep" and load.levels else [load.concurrency]
    if load.kind in ("rate", "poisson"):
        name, per_target = "load.max_in_flight", load.max_in_flight
    elif load.kind == "sweep":
        name, per_target = "max(load.levels)", max(levels)
    else:
        name, per_target = "load.concurrency", load.concurrency
    in_flight = per_target * n_targets
    if in_flight > settings.max_concurrency:
        what = f"{name}={per_target}"
        if n_targets > 1:
            what += f" x {n_targets} targets = {in_flight} requests in flight"
        raise SecurityError(
            f"{what} exceeds the runner limit LENS_MAX_CONCURRENCY={settings.max_concurrency}",
            hint=f"keep {name} x targets <= {settings.max_concurrency}, "
            "or split the burst into more shards",
        )
    if load.requests is None:
        raise SecurityError(
            "load.requests must be set in a runner event (a duration alone is unbounded)",
            hint=f"set load.requests <= {settings.max_requests}",
        )
    turns = spec.sessions.turns if spec.sessions is not None else 1  # requests per session
    total = (load.requests * len(levels) + spec.warmup) * n_targets * turns
    if total > settings.max_requests:
        raise SecurityError(
            f"the event asks for up to {total} requests ((requests x levels + warmup) x targets"
            f"{' x sessions.turns' if turns > 1 else ''}), "
            f"above the runner limit LENS_MAX_REQUESTS={settings.max_requests}",
            hint="lower load.requests, or split the burst into more shards",
        )


def check_sizes(spec: BurstSpec, settings: Settings) -> None:
    """Refuse outputs above LENS_MAX_OUTPUT_TOKENS and prompts above LENS_MAX_PROMPT_TOKENS."""
    max_out, max_in = settings.max_output_tokens, settings.max_prompt_tokens
    if spec.max_tokens > max_out:
        raise SecurityError(
            f"max_tokens={spec.max_tokens} exceeds the runner limit LENS_MAX_OUTPUT_TOKENS={max_out}",
            hint=f"set max_tokens <= {max_out}",
        )
    prompts = spec.prompts
    if prompts.synthetic_tokens is not None and prompts.synthetic_tokens > max_in:
        raise SecurityError(
            f"prompts.synthetic_tokens={prompts.synthetic_tokens} exceeds the runner limit "
            f"LENS_MAX_PROMPT_TOKENS={max_in}",
            hint=f"set prompts.synthetic_tokens <= {max_in}",
        )
    char_budget = max_in * 2 * _CHARS_PER_TOKEN
    if prompts.inline:
        _check_inline(prompts.inline, max_in, char_budget)
    if spec.sessions is not None and spec.sessions.turns > 1:
        # A session's last turn resends every earlier prompt and answer.
        t = spec.sessions.turns
        one = prompts.synthetic_tokens or max(
            (-(-len(x) // _CHARS_PER_TOKEN) for x in prompts.inline or ()), default=0)
        last = t * one + (t - 1) * spec.max_tokens
        if last > max_in:
            raise SecurityError(
                f"a session's last turn sends up to {last} prompt tokens (sessions.turns={t} "
                f"prompts and {t - 1} answers of max_tokens), above the runner limit "
                f"LENS_MAX_PROMPT_TOKENS={max_in}",
                hint="use fewer turns, shorter prompts or a lower max_tokens",
            )
    for i, target in enumerate(spec.targets):
        # extra_body is merged into every request body: it could carry a prompt or an output length.
        size = len(json.dumps(target.extra_body, default=str))
        if size > char_budget:
            raise SecurityError(
                f"spec.targets[{i}].extra_body is {size} characters of JSON, above the runner limit "
                f"LENS_MAX_PROMPT_TOKENS*8={char_budget}",
                hint="keep extra_body to request options; put prompts under prompts",
            )
        for path, value in _output_settings(target.extra_body, f"spec.targets[{i}].extra_body"):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= max_out
            if not ok:
                raise SecurityError(
                    f"{path}={value!r} is not within the runner limit LENS_MAX_OUTPUT_TOKENS={max_out}",
                    hint=f"remove it (max_tokens sets the length) or set it to 1..{max_out}",
                )


def _check_inline(texts: list[str], max_in: int, char_budget: int) -> None:
    for j, text in enumerate(texts):
        est = -(-len(text) // _CHARS_PER_TOKEN)
        if est > max_in:
            raise SecurityError(
                f"prompts.inline[{j}] is about {est} tokens ({len(text)} characters), above the "
                f"runner limit LENS_MAX_PROMPT_TOKENS={max_in}",
                hint=f"keep each inline prompt under {max_in * _CHARS_PER_TOKEN} characters",
            )
    total_chars = sum(len(t) for t in texts)
    if total_chars > char_budget:
        raise SecurityError(
            f"prompts.inline totals {total_chars} characters, above the runner limit "
            f"LENS_MAX_PROMPT_TOKENS*8={char_budget}",
            hint="send fewer or shorter inline prompts, or use prompts.synthetic_tokens",
        )


def _output_settings(obj: Any, path: str) -> list[tuple[str, Any]]:
    """(dotted path, value) of every output-length key nested in ``obj``."""
    out: list[tuple[str, Any]] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            here = f"{path}.{k}"
            if str(k).lower().replace("_", "") in _OUTPUT_KEYS:
                out.append((here, v))
            out.extend(_output_settings(v, here))
    elif isinstance(obj, list):
        for j, v in enumerate(obj):
            out.extend(_output_settings(v, f"{path}[{j}]"))
    return out


# spec field -> (Settings field, environment variable) of the runner's maximum for it
_TIMEOUT_MAX = ("max_timeout_s", "LENS_MAX_TIMEOUT_S")
_CAP_MAX: dict[str, tuple[str, str]] = {
    "max_events": ("max_events", "LENS_MAX_EVENTS"),
    "max_bytes": ("max_response_bytes", "LENS_MAX_RESPONSE_BYTES"),
    "max_chunk_rows": ("max_chunk_rows", "LENS_MAX_CHUNK_ROWS"),
}


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def apply_maxima(spec: BurstSpec, settings: Settings) -> tuple[BurstSpec, list[str]]:
    """``spec`` with every timeout and response cap lowered to the runner's maximum.

    Returns the new spec and, for each value the *event* set above a maximum, a line such
    as ``"timeouts.total_s 900 -> 300 (LENS_MAX_TIMEOUT_S)"`` for the response. (Defaults
    above a maximum are lowered silently: the event did not ask for them.)
    """
    adjusted: list[str] = []

    def lower(block: Any, name: str, limit: float, var: str, prefix: str) -> Any:
        value = getattr(block, name)
        if value <= limit:
            return value
        if name in block.model_fields_set:
            adjusted.append(f"{prefix}.{name} {_num(value)} -> {_num(limit)} ({var})")
        return type(value)(limit)

    t, c = spec.timeouts, spec.caps
    field, var = _TIMEOUT_MAX
    limit = getattr(settings, field)
    timeouts = {n: lower(t, n, limit, var, "timeouts") for n in type(t).model_fields}
    caps = {n: lower(c, n, getattr(settings, f), v, "caps") for n, (f, v) in _CAP_MAX.items()}
    new = spec.model_copy(update={
        "timeouts": t.model_copy(update=timeouts), "caps": c.model_copy(update=caps),
    })  # fmt: skip
    return new, adjusted
