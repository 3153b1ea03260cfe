"""Burst specs: what to fire, at what, how hard. pydantic at the edge, ``extra="forbid"``.

A BurstSpec comes from YAML/TOML files, CLI flags, Python, a widget or a Lambda event;
all of them end up here and are validated the same way. ``load_spec`` turns validation
failures into a ConfigError naming the file, the field path and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lens.errors import ConfigError, TargetError


@dataclass(frozen=True)
class ProviderInfo:
    dialect: str
    base_url: str | None
    key_envs: tuple[str, ...]


# base_url follows each official SDK's convention: the dialect appends its own path.
PROVIDERS: dict[str, ProviderInfo] = {
    "openai": ProviderInfo("openai_chat", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "openai_responses": ProviderInfo("openai_responses", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "anthropic": ProviderInfo("anthropic", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",)),
    "gemini": ProviderInfo(
        "gemini", "https://generativelanguage.googleapis.com", ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    ),
    "bedrock": ProviderInfo("bedrock", None, ()),
    "openai_compat": ProviderInfo("openai_compat", None, ()),
    "vllm": ProviderInfo("openai_compat", None, ()),
    "llamacpp": ProviderInfo("openai_compat", None, ()),
    "ollama": ProviderInfo("openai_compat", "http://localhost:11434/v1", ()),
    "groq": ProviderInfo("openai_compat", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "openrouter": ProviderInfo("openai_compat", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)),
    "azure": ProviderInfo("openai_compat", None, ("AZURE_OPENAI_API_KEY",)),
    "sim": ProviderInfo("openai_chat", None, ()),
}
# lens provider name -> genai-prices provider id (others are matched by endpoint URL, if at
# all). Used by the cost model and by budget estimates.
PRICE_PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "openai_responses": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "bedrock": "aws",
    "groq": "groq",
    "openrouter": "openrouter",
    "azure": "azure",
}
DIALECTS: tuple[str, ...] = (
    "openai_chat",
    "openai_responses",
    "anthropic",
    "gemini",
    "openai_compat",
    "bedrock",
)


_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "password", "cookie", "subscription")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base URL {v!r} needs a scheme and a host, e.g. 'https://{v.lstrip('/')}'"
            )
        return v.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, v: dict[str, str]) -> dict[str, str]:
        # Plain header values end up in the stored spec; anything that looks like a
        # credential must come from the environment instead.
        bad = [k for k in v if any(w in k.lower() for w in _SECRET_HEADER_WORDS)]
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
            raise TargetError(f"target {self.label!r} has no base_url", field="base_url")
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


class PromptSpec(_Strict):
    """Where prompts come from: exactly one of a named set, a file, inline texts, or synthetic."""

    set: str | None = None
    file: str | None = None
    inline: list[str] | None = None
    synthetic_tokens: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptSpec:
        given = [k for k in ("set", "file", "inline", "synthetic_tokens") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of set, file, inline, synthetic_tokens "
                f"(got {', '.join(given) or 'none'})"
            )
        return self


class LoadShape(_Strict):
    """How requests are scheduled.

    - concurrency: ``concurrency`` workers until ``requests`` are sent or ``duration_s`` ends.
    - rate: constant arrivals at ``rate`` req/s; poisson: exponential gaps (seeded).
    - sweep: the concurrency shape once per level in ``levels`` (``requests`` per level).
    """

    kind: Literal["concurrency", "rate", "poisson", "sweep"] = "concurrency"
    requests: int | None = Field(default=10, gt=0)
    duration_s: float | None = Field(default=None, gt=0)
    concurrency: int = Field(default=1, gt=0)
    rate: float | None = Field(default=None, gt=0)
    levels: list[int] | None = None
    max_in_flight: int = Field(default=256, gt=0)
    seed: int = 0

    @model_validator(mode="after")
    def _coherent(self) -> LoadShape:
        if self.kind in ("rate", "poisson") and self.rate is None:
            raise ValueError(f"load kind {self.kind!r} needs rate (requests per second)")
        if self.kind == "sweep":
            if not self.levels or any(lv <= 0 for lv in self.levels):
                raise ValueError("load kind 'sweep' needs levels: a list of positive concurrencies")
        if self.requests is None and self.duration_s is None:
            raise ValueError("give requests, duration_s, or both")
        return self


class Timeouts(_Strict):
    connect_s: float = Field(default=10.0, gt=0)
    first_token_s: float = Field(default=60.0, gt=0)
    idle_s: float = Field(default=30.0, gt=0)
    total_s: float = Field(default=300.0, gt=0)


class BurstSpec(_Strict):
    """A profiling burst: targets x prompts under a load shape."""

    name: str = "burst"
    scenario: str = "default"
    targets: list[TargetSpec] = Field(min_length=1)
    prompts: PromptSpec = Field(default_factory=lambda: PromptSpec(synthetic_tokens=128))
    max_tokens: int = Field(default=128, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    load: LoadShape = Field(default_factory=LoadShape)
    warmup: int = Field(default=0, ge=0)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    connection: Literal["warm", "cold"] = "warm"
    cache: Literal["default", "bust", "shared"] = "default"
    tags: dict[str, str] = Field(default_factory=dict)
    region: str = "local"
    runner: str = "local"

    @model_validator(mode="after")
    def _unique_target_names(self) -> BurstSpec:
        labels = [t.label for t in self.targets]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(f"targets share the label {sorted(dup)[0]!r}; give each a distinct name")
        return self


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last element of ``loc`` (for key suggestions)."""
    model: type[BaseModel] = BurstSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        ann = info.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        nxt = next((a for a in inner if issubclass(a, BaseModel)), None)
        if nxt is None:
            return None
        model = nxt
    return model


# Fix hints for value errors, by the last named element of the field path.
_VALUE_FIXES: dict[str, str] = {
    "base_url": "write the full URL with its scheme, e.g. https://api.example.com/v1",
    "provider": "use one of the known providers listed (or provider: openai_compat with a base_url)",
    "dialect": "use one of the known dialects listed, or drop dialect to use the provider's",
    "headers": "remove the header and set api_key_env to the variable that holds the key",
    "prompts": "keep exactly one of set, file, inline or synthetic_tokens under prompts",
    "load": "see docs/spec.md#load for the fields each load kind needs",
    "targets": "give each target a distinct name: field",
}


def _fix_for(err: dict[str, Any]) -> str:
    """One-sentence fix for a pydantic error, specific to its type and field."""
    import difflib

    kind = err.get("type", "")
    loc = tuple(err.get("loc", ()))
    names = [str(p) for p in loc if not isinstance(p, int)]
    last = names[-1] if names else ""
    if kind == "extra_forbidden":
        model = _model_at(loc)
        if model is not None:
            allowed = sorted(model.model_fields)
            close = difflib.get_close_matches(last, allowed, n=1)
            if close:
                return f"did you mean {close[0]!r}? (allowed here: {', '.join(allowed)})"
            return f"remove this key; allowed here: {', '.join(allowed)}"
        return "remove this key or check its spelling against docs/spec.md"
    if kind == "missing":
        return "add this field" + (" (at least one target with provider and model)" if last == "targets" else "")
    if kind == "greater_than_equal":
        return f"use a number >= {err.get('ctx', {}).get('ge', 0):g}"
    if kind == "greater_than":
        return f"use a number greater than {err.get('ctx', {}).get('gt', 0):g}"
    if kind.startswith("less_than"):
        return "use a smaller number"
    if kind == "too_short":
        return "add at least one entry" + (" (a target with provider and model)" if last == "targets" else "")
    if kind == "literal_error":
        return f"use one of the values listed ({err.get('ctx', {}).get('expected', '')})"
    if kind.endswith(("_type", "_parsing")):
        return f"give a value of the expected type ({err.get('msg', '')})"
    if kind == "value_error":
        msg = str(err.get("msg", ""))
        if last == "provider":
            got = str(err.get("input", ""))
            close = difflib.get_close_matches(got, sorted(PROVIDERS), n=1)
            if close:
                return f"did you mean {close[0]!r}? " + _VALUE_FIXES["provider"]
        if "no default base_url" in msg:
            return "add base_url: the server's API root, e.g. http://localhost:8000/v1"
        if "share the label" in msg:
            return _VALUE_FIXES["targets"]
        for key in reversed(names):
            if key in _VALUE_FIXES:
                return _VALUE_FIXES[key]
    return "see docs/spec.md for the field's format"


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<spec>") -> BurstSpec:
    """Validate a mapping into a BurstSpec; ConfigError names source, field path and fix."""
    try:
        return BurstSpec.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field_path = _format_loc(tuple(first["loc"])) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(msg + more, source=source, field=field_path, hint=_fix_for(first)) from None


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML or TOML file into a dict, with errors naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file not found", source=str(p), hint="check the path")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})",
            source=str(p),
            hint="save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(p), hint="check permissions") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml", ".json"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(
                f"unknown spec format {p.suffix!r}", source=str(p), hint="use .yaml, .yml or .toml"
            )
    except ConfigError:
        raise
    except Exception as exc:  # yaml.YAMLError / tomllib.TOMLDecodeError carry line numbers
        raise ConfigError(f"cannot parse: {exc}", source=str(p), hint="fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping", source=str(p))
    return data


def load_spec(path: str | os.PathLike[str]) -> BurstSpec:
    """Load and validate a BurstSpec from a YAML or TOML file."""
    return spec_from_dict(read_mapping(path), source=str(path))
