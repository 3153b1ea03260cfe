"""One target of a burst: an API endpoint and a model (``TargetSpec``), checked before
anything is sent: provider and dialect known, base URL usable and free of credentials,
no credentials in plain headers, request options that would time several completions
refused."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lens.errors import TargetError
from lens.redact.secrets import scrub, url_without_secrets
from lens.spec.hosts import ascii_host
from lens.spec.multipliers import output_multipliers
from lens.spec.providers import DIALECTS, PROVIDERS
from lens.spec.strict import Strict as _Strict

_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "password", "cookie", "subscription")


def _url_example(v: str) -> str:
    """A corrected URL when ``v`` is one slip away from a URL ('localhost:8000/v1',
    'htp://host/v1'), else a generic example: never 'https://not a url'."""

    rest = v.split("://", 1)[1] if "://" in v else v.lstrip("/")
    if re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?(/\S*)?", rest):
        host = rest.split("/")[0].split(":")[0]
        if host == "localhost" or "." in host or re.fullmatch(r"[\d.]+", host):
            scheme = "http" if host in ("localhost", "127.0.0.1") else "https"
            return f"{scheme}://{rest}"
    return "https://api.example.com/v1"


class TargetSpec(_Strict):
    """One API endpoint + model to measure."""

    name: str | None = None
    provider: str
    dialect: str | None = None
    base_url: str | None = None
    model: str
    api_key_env: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    # Header name -> environment variable holding its (secret) value, e.g. a gateway's
    # Ocp-Apim-Subscription-Key. Values are read when firing, scrubbed, never stored.
    headers_env: dict[str, str] = Field(default_factory=dict)
    aws_region: str | None = None

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        if v not in PROVIDERS:
            raise ValueError(f"unknown provider {v!r}; known providers: {', '.join(sorted(PROVIDERS))}")
        return v

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, v: str | None) -> str | None:
        if v is not None and v not in DIALECTS:
            raise ValueError(f"unknown dialect {v!r}; known dialects: {', '.join(DIALECTS)}")
        return v

    @field_validator("base_url")
    @classmethod
    def _url_has_scheme(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        # Never echo user-info or a query: either may hold a credential.
        shown = url_without_secrets(v)
        if "@" in parts.netloc:
            # The client does not send URL credentials, and the spec is stored verbatim.
            raise ValueError(
                f"base URL '{shown}' carries credentials (user:password@); lens neither sends "
                "nor stores them: remove them and give the credential through api_key_env or headers_env"
            )
        if parts.query or parts.fragment:
            # Dialects append their path to base_url, so a query would break the URL, and
            # it is where gateways put keys (?key=, ?code=): the stored spec must not hold it.
            raise ValueError(
                f"base URL '{shown}' has a query or fragment ('?...'/'#...'); give only the API "
                "root (the dialect appends its path) and send keys through api_key_env or headers_env"
            )
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base URL '{shown}' needs a scheme and a host, e.g. '{_url_example(shown)}'"
            )
        ascii_host(parts.hostname or "")  # a bad internationalised name fails here, not mid-burst
        return v.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, v: dict[str, str]) -> dict[str, str]:
        # Plain header values end up in the stored spec; anything that looks like a
        # credential must come from the environment instead.
        bad = [k for k in v if any(w in k.lower() for w in _SECRET_HEADER_WORDS)]
        # A key-shaped value under an innocent name would be stored all the same.
        keyed = [k for k, val in v.items() if scrub(val) != val]
        if keyed and not bad:
            raise ValueError(
                f"the value of header {keyed[0]!r} looks like a key or token; put it in an "
                f"environment variable and name it in headers_env: {{{keyed[0]!r}: 'MY_VAR'}}"
            )
        if bad:
            raise ValueError(
                f"header {bad[0]!r} looks like it carries a secret; put its value in an "
                f"environment variable and name it in headers_env: {{{bad[0]!r}: 'MY_VAR'}} "
                "(or use api_key_env for the provider's own key header)"
            )
        return v

    @model_validator(mode="after")
    def _needs_base_url(self) -> TargetSpec:
        info = PROVIDERS[self.provider]
        if self.base_url is None and info.base_url is None and self.provider not in ("bedrock", "sim"):
            raise ValueError(f"provider {self.provider!r} has no default base_url; set base_url")
        return self

    @field_validator("extra_body")
    @classmethod
    def _one_completion_per_request(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # n=1000 would make one request cost 1000 x max_tokens and interleave 1000 streams
        # in one response: lens times one completion per request. (provider and dialect are
        # declared before extra_body, so they are validated already.)
        provider = info.data.get("provider")
        dialect = info.data.get("dialect") or (PROVIDERS[provider].dialect if provider in PROVIDERS else "")
        for path, value in output_multipliers(dialect, v):
            if value != 1 or isinstance(value, bool):
                raise ValueError(
                    f"{path}={str(value)[:40]} asks for more than one completion per request; "
                    f"lens times one completion per request: remove {path} (or set it to 1)"
                )
        return v

    @property
    def resolved_dialect(self) -> str:
        return self.dialect or PROVIDERS[self.provider].dialect

    @property
    def resolved_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        if self.provider == "bedrock":
            return f"https://bedrock-runtime.{self.aws_region or 'us-east-1'}.amazonaws.com"
        url = PROVIDERS[self.provider].base_url
        if url is None:
            hint = (
                "start the simulator (lens sim --port 8000) and set base_url to "
                "http://127.0.0.1:8000/v1, or fire with `lens run`, which starts one"
                if self.provider == "sim"
                else "set base_url to the server's API root, e.g. http://localhost:8000/v1"
            )
            raise TargetError(f"target '{self.label}' has no base_url", field="base_url", hint=hint)
        return url

    @property
    def label(self) -> str:
        return self.name or f"{self.provider}/{self.model}"

    @property
    def key_envs(self) -> tuple[str, ...]:
        return (self.api_key_env,) if self.api_key_env else PROVIDERS[self.provider].key_envs

    def resolve_secret_headers(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Header values from ``headers_env``; TargetError naming the variable when unset."""
        env = os.environ if env is None else env
        out: dict[str, str] = {}
        for header, var in self.headers_env.items():
            value = env.get(var)
            if not value:
                raise TargetError(
                    f"target {self.label!r} needs {var} for header {header!r}, but it is not set",
                    field=f"headers_env.{header}",
                    hint=f"export {var}=... (read from the environment and never stored)",
                )
            out[header] = value
        return out

    def resolve_api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """Return the API key from the environment, or None when the target needs none.

        Raises TargetError naming the variable (never a value) when a key is needed but unset.
        """
        env = os.environ if env is None else env
        names = self.key_envs
        if not names:
            return None
        for name in names:
            if env.get(name):
                return env[name]
        raise TargetError(
            f"target {self.label!r} needs an API key but {' or '.join(names)} is not set",
            field="api_key_env",
            hint=f"export {names[0]}=... (the key is read from the environment and never stored)",
        )


