"""What a runner event may ask for: the runner's security policy, as plain functions.

:func:`check_spec` raises SecurityError (plain words: the field, the limit, the fix) for

- a target whose base URL is not under ``LENS_ALLOWED_BASE_URLS`` (SSRF allow-list), or
  that overrides ``Host``;
- a Bedrock target (signed with the runner role's AWS credentials) whose endpoint is not
  ``https://bedrock-runtime.<region>.amazonaws.com`` or a VPC endpoint listed in
  ``LENS_BEDROCK_ENDPOINT_URLS``: refused before anything is signed;
- ``prompts.file`` (it would read the container's files; ``prompts.set`` is a name from
  the registry of bundled sets, which lens.spec enforces for every spec), and ``ca_bundle``
  (a file path too: the runner trusts the system store only);
- a fetched API key headed for a host it is not bound to (:func:`check_keys`);
- load, output and prompt sizes above the limits (lens.fleet.runner.limits);
- ``extra_body`` keys outside the allow-list (:data:`EXTRA_BODY_KEYS` plus
  ``LENS_EXTRA_BODY_KEYS``).

Limits are refused, not clamped. What *is* lowered to the runner's maxima -- timeouts and
per-response caps -- is done by :func:`lens.fleet.runner.limits.apply_maxima`.
"""

from __future__ import annotations

from lens.errors import LensError, SecurityError
from lens.fleet.runner.limits import check_load, check_sizes
from lens.fleet.runner.settings import Settings
from lens.fleet.runner.urls import is_bedrock_runtime, url_allowed
from lens.spec import BurstSpec, TargetSpec

__all__ = ["EXTRA_BODY_KEYS", "check_extra_body", "check_keys", "check_spec", "check_targets"]

# Top-level extra_body keys an event may set: sampling, output length (held to
# LENS_MAX_OUTPUT_TOKENS), stream options, reasoning, and the providers' option blocks.
# Not here: anything carrying a prompt (messages, input, contents, system) or multiplying
# output (n, best_of). Operators add keys with LENS_EXTRA_BODY_KEYS.
EXTRA_BODY_KEYS: frozenset[str] = frozenset({
    "temperature", "top_p", "top_k", "min_p", "seed", "stop", "stop_sequences",
    "presence_penalty", "frequency_penalty", "repetition_penalty",
    "max_tokens", "max_completion_tokens", "max_output_tokens",
    "stream_options", "service_tier", "reasoning_effort", "reasoning", "thinking",
    "generationConfig", "inferenceConfig", "additionalModelRequestFields", "options",
})  # fmt: skip


def check_spec(spec: BurstSpec, settings: Settings) -> None:
    """Refuse anything the runner does not allow; see the module docstring for the rules."""
    check_targets(spec, settings)
    if spec.prompts.file is not None:
        # A file path from an event would read the container's files (e.g. /proc/self/environ).
        raise SecurityError(
            "spec.prompts.file is not allowed in a runner event",
            hint="use prompts.set (a bundled set's name), prompts.inline or prompts.synthetic_tokens",
        )
    if spec.ca_bundle is not None:
        raise SecurityError(
            "spec.ca_bundle is not allowed in a runner event (it names a file in the container)",
            hint="hosted providers use public certificates; drop ca_bundle",
        )
    if spec.load.trace is not None:
        # The same for a trace file: parse errors would quote bits of whatever it names.
        raise SecurityError(
            "spec.load.trace is not allowed in a runner event (a file on the runner)",
            hint="replay traces locally (lens run --trace), or use a rate/poisson load shape",
        )
    check_keys(spec, settings)
    check_load(spec, settings)
    check_sizes(spec, settings)
    check_extra_body(spec, settings)


def check_targets(spec: BurstSpec, settings: Settings) -> None:
    """Every target on the allow-list, no Host override, Bedrock only to AWS's endpoints."""
    if not settings.allowed_base_urls:
        raise SecurityError(
            "no base URL is allowed", hint="set LENS_ALLOWED_BASE_URLS on the function"
        )
    for i, target in enumerate(spec.targets):
        try:
            url = target.resolved_base_url
        except LensError:
            raise SecurityError(f"spec.targets[{i}] has no base_url", hint="set base_url") from None
        if not url_allowed(url, settings.allowed_base_urls):
            raise SecurityError(
                f"spec.targets[{i}].base_url {url!r} is not on the runner's allow-list",
                hint="call one of LENS_ALLOWED_BASE_URLS, or add the URL prefix there (Terraform)",
            )
        if any(h.lower() == "host" for h in target.headers):
            raise SecurityError(f"spec.targets[{i}].headers may not override Host")
        check_bedrock(i, target, url, settings)


def check_bedrock(i: int, target: TargetSpec, url: str, settings: Settings) -> None:
    """A Bedrock request carries a SigV4 signature of the runner role's credentials (access
    key id, session token): it may only go to AWS's Bedrock runtime or a listed VPC endpoint."""
    if target.resolved_dialect != "bedrock":
        return
    if is_bedrock_runtime(url) or url_allowed(url, settings.bedrock_endpoint_urls):
        return
    raise SecurityError(
        f"spec.targets[{i}] is a Bedrock target, signed with the runner's AWS credentials, but "
        f"{url!r} is not a Bedrock runtime endpoint",
        hint="leave base_url unset and set aws_region (https://bedrock-runtime.<region>.amazonaws.com), "
        "or list the VPC endpoint in LENS_BEDROCK_ENDPOINT_URLS (Terraform: bedrock_endpoint_urls)",
    )


def check_keys(spec: BurstSpec, settings: Settings) -> None:
    """Refuse a target that would carry a fetched key to a host the key is not bound to.

    The allow-list says which hosts may be called, not which secret each may receive: without
    this, ``{provider: openai, base_url: <another allowed host>}`` would send the OpenAI key there.
    A target whose key variables name no fetched key sends none and is not affected.
    """
    fetched = settings.api_key_names
    for i, target in enumerate(spec.targets):
        url = target.resolved_base_url
        # Every fetched candidate, not just the first: the engine skips an empty value.
        # headers_env values come from the same fetched secrets: bound the same way.
        names = (*target.key_envs, *target.headers_env.values())
        for name in (n for n in names if n in fetched):
            if not settings.key_allowed(name, url, target.provider):
                raise SecurityError(
                    f"spec.targets[{i}]: key {name} may not be sent to {url}; allow it in LENS_API_KEY_URLS",
                    hint=f'set LENS_API_KEY_URLS to {{"{name}": ["<URL prefix>"]}} on the function '
                    "(Terraform), or call the provider's own API",
                )


def check_extra_body(spec: BurstSpec, settings: Settings) -> None:
    """Only allow-listed top-level ``extra_body`` keys (it is merged into every request body)."""
    allowed = EXTRA_BODY_KEYS | set(settings.extra_body_keys)
    for i, target in enumerate(spec.targets):
        bad = sorted(k for k in target.extra_body if k not in allowed)
        if bad:
            raise SecurityError(
                f"spec.targets[{i}].extra_body.{bad[0][:64]} is not an option a runner event may set",
                hint=f"remove it, or have the operator add it to LENS_EXTRA_BODY_KEYS (allowed: "
                f"{', '.join(sorted(allowed))})",
            )
