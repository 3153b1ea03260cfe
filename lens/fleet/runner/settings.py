"""Runner settings from the Lambda environment (Terraform sets these; see ENV_VARS).

Everything a Lambda event must not be able to choose lives here: where results go,
which base URLs may be called (SSRF allow-list), how hard a burst may push (limits, the
per-request timeout and response caps an event cannot raise), which ``extra_body`` keys
an event may set, and where API keys come from. ``Settings.from_env`` validates the
environment with pydantic and names the variable and the fix on error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lens.fleet.runner.urls import UrlPrefix, parse_prefix, url_allowed
from lens.spec import PROVIDERS

__all__ = ["ENV_VARS", "Settings", "SettingsError", "UrlPrefix", "parse_prefix", "url_allowed"]

# The environment contract with terraform/modules/runner (its contract test reads this).
ENV_VARS: tuple[str, ...] = (
    "LENS_RESULTS_BUCKET",
    "LENS_RESULTS_PREFIX",
    "LENS_GLUE_DATABASE",
    "LENS_GLUE_TABLE_REQUESTS",
    "LENS_GLUE_TABLE_CHUNKS",
    "LENS_ALLOWED_BASE_URLS",
    "LENS_MAX_CONCURRENCY",
    "LENS_MAX_REQUESTS",
    "LENS_API_KEY_SECRETS",
    "LENS_API_KEY_PARAMS",
    "LENS_REGION_LABEL",
    "LENS_DEADLINE_MARGIN_MS",
    # Region of the results bucket and its Glue catalog, when runners sit in other regions.
    "LENS_RESULTS_REGION",
    # Create the Glue database/tables when missing. Off on AWS (Terraform owns the schema
    # and the role may not create it); on for the local fleet and tests against moto.
    "LENS_GLUE_CREATE_TABLES",
    # Per-request size caps an event cannot exceed (unset: 8192 output / 32768 prompt tokens).
    "LENS_MAX_OUTPUT_TOKENS",
    "LENS_MAX_PROMPT_TOKENS",
    # JSON: key env name -> URL prefixes that key may be sent to, beyond its provider's own API.
    "LENS_API_KEY_URLS",
    # Upper bound on every spec timeout (s); an event asking for more gets this (#17 item 1).
    "LENS_MAX_TIMEOUT_S",
    # Per-response caps an event cannot raise (spec.caps is lowered to them; #17 item 8).
    "LENS_MAX_EVENTS",
    "LENS_MAX_RESPONSE_BYTES",
    "LENS_MAX_CHUNK_ROWS",
    # Comma-separated extra_body keys allowed beyond the built-in list (#17 item 7).
    "LENS_EXTRA_BODY_KEYS",
    # Comma-separated Bedrock VPC endpoint URLs a Bedrock target may use besides
    # https://bedrock-runtime.<region>.amazonaws.com (#17 item 6).
    "LENS_BEDROCK_ENDPOINT_URLS",
)

# env var -> Settings field
_FIELDS: dict[str, str] = {
    "LENS_RESULTS_BUCKET": "results_bucket",
    "LENS_RESULTS_PREFIX": "results_prefix",
    "LENS_GLUE_DATABASE": "glue_database",
    "LENS_GLUE_TABLE_REQUESTS": "glue_table_requests",
    "LENS_GLUE_TABLE_CHUNKS": "glue_table_chunks",
    "LENS_ALLOWED_BASE_URLS": "allowed_base_urls",
    "LENS_MAX_CONCURRENCY": "max_concurrency",
    "LENS_MAX_REQUESTS": "max_requests",
    "LENS_API_KEY_SECRETS": "api_key_secrets",
    "LENS_API_KEY_PARAMS": "api_key_params",
    "LENS_REGION_LABEL": "region_label",
    "LENS_DEADLINE_MARGIN_MS": "deadline_margin_ms",
    "LENS_RESULTS_REGION": "results_region",
    "LENS_GLUE_CREATE_TABLES": "glue_create_tables",
    "LENS_MAX_OUTPUT_TOKENS": "max_output_tokens",
    "LENS_MAX_PROMPT_TOKENS": "max_prompt_tokens",
    "LENS_API_KEY_URLS": "api_key_urls",
    "LENS_MAX_TIMEOUT_S": "max_timeout_s",
    "LENS_MAX_EVENTS": "max_events",
    "LENS_MAX_RESPONSE_BYTES": "max_response_bytes",
    "LENS_MAX_CHUNK_ROWS": "max_chunk_rows",
    "LENS_EXTRA_BODY_KEYS": "extra_body_keys",
    "LENS_BEDROCK_ENDPOINT_URLS": "bedrock_endpoint_urls",
}


def _json_env(text: str) -> Any:
    """A JSON environment value; blank means an empty object."""
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None


def _csv(v: Any) -> Any:
    if isinstance(v, str):
        return tuple(p.strip() for p in v.split(",") if p.strip())
    return v


class SettingsError(ValueError):
    """The runner's environment is invalid; the message names the variable and the fix."""


class Settings(BaseModel):
    """Validated runner configuration. Build it with :meth:`from_env`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results_bucket: str | None = None
    results_prefix: str = "lens"
    glue_database: str | None = None
    glue_table_requests: str = "requests"
    glue_table_chunks: str = "chunks"
    allowed_base_urls: tuple[str, ...] = ()
    max_concurrency: int = Field(default=16, gt=0)
    max_requests: int = Field(default=200, gt=0)
    api_key_secrets: dict[str, str] = Field(default_factory=dict)
    api_key_params: dict[str, str] = Field(default_factory=dict)
    region_label: str = "local"
    deadline_margin_ms: int = Field(default=5000, ge=0)
    results_region: str | None = None  # None: the runner's own region
    glue_create_tables: bool = False
    max_output_tokens: int = Field(default=8192, gt=0)
    max_prompt_tokens: int = Field(default=32768, gt=0)
    # Where each fetched key may go besides its provider's default base URL (see key_allowed).
    api_key_urls: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Every spec timeout is lowered to this; the Lambda timeout must exceed it plus the
    # deadline margin (terraform/modules/runner checks that), though the deadline cut holds either way.
    max_timeout_s: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    max_events: int = Field(default=100_000, gt=0)
    max_response_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_chunk_rows: int = Field(default=10_000, gt=0)
    extra_body_keys: tuple[str, ...] = ()
    bedrock_endpoint_urls: tuple[str, ...] = ()

    @field_validator("allowed_base_urls", "extra_body_keys", "bedrock_endpoint_urls", mode="before")
    @classmethod
    def _split_urls(cls, v: Any) -> Any:
        return _csv(v)

    @field_validator("allowed_base_urls", "bedrock_endpoint_urls")
    @classmethod
    def _urls_parse(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in v:
            parse_prefix(prefix)  # raises ValueError naming the prefix
        return v

    @field_validator("api_key_secrets", "api_key_params", mode="before")
    @classmethod
    def _json_object(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = _json_env(v)
            if not isinstance(v, dict) or not all(
                isinstance(k, str) and isinstance(x, str) for k, x in v.items()
            ):
                raise ValueError('must be a JSON object of strings: {"OPENAI_API_KEY": "arn:..."}')
        return v

    @field_validator("api_key_urls", mode="before")
    @classmethod
    def _key_urls_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = _json_env(v)
        if not isinstance(v, dict) or not all(
            isinstance(k, str) and isinstance(x, list | tuple) and all(isinstance(u, str) for u in x)
            for k, x in v.items()
        ):
            raise ValueError(
                'must be a JSON object of URL-prefix lists: {"OPENAI_API_KEY": ["https://llm.internal/v1"]}'
            )
        return {k: tuple(u.strip() for u in x if u.strip()) for k, x in v.items()}

    @field_validator("api_key_urls")
    @classmethod
    def _key_urls_parse(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for prefixes in v.values():
            for prefix in prefixes:
                parse_prefix(prefix)  # raises ValueError naming the prefix
        return v

    @property
    def api_key_names(self) -> frozenset[str]:
        """Names of the keys the runner fetches (Secrets Manager and SSM)."""
        return frozenset(self.api_key_secrets) | frozenset(self.api_key_params)

    def key_allowed(self, env_name: str, url: str, provider: str) -> bool:
        """True when the key fetched for ``env_name`` may be sent to ``url`` for ``provider``.

        Allowed: the provider's own default base URL when ``env_name`` is one of its
        default key variables, or a prefix listed for ``env_name`` in LENS_API_KEY_URLS.
        Anything else would let an event pick which allowed host receives which secret.
        """
        info = PROVIDERS.get(provider)
        if info is not None and info.base_url and env_name in info.key_envs:
            if url_allowed(url, (info.base_url,)):
                return True
        return url_allowed(url, self.api_key_urls.get(env_name, ()))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the LENS_* variables (unset or empty means the default)."""
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        for var, name in _FIELDS.items():
            value = env.get(var)
            if value is not None and value.strip() != "":
                data[name] = value.strip()
        if "region_label" not in data:
            data["region_label"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "local"
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            var = next((k for k, v in _FIELDS.items() if v == field), field)
            msg = first["msg"].removeprefix("Value error, ")
            raise SettingsError(f"environment variable {var}: {msg}") from None
