"""Reading burst specs: YAML/JSON/TOML files and mappings into a validated BurstSpec.

Validation failures become a ConfigError naming the file, the field path and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lens.errors import ConfigError
from lens.spec.models import BurstSpec
from lens.spec.paths import not_a_file
from lens.spec.providers import PROVIDERS
from lens.spec.safe_yaml import MAX_SPEC_BYTES, check_size, load_yaml, toml_error


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
    "cancel": "give cancel.after_tokens and/or cancel.after_ms (see docs/spec.md#cancellation)",
    "sessions": "see docs/spec.md#multi-turn-sessions",
    "trace": "see docs/spec.md#trace-replay",
    "slo": "write a number (the worst acceptable value) or a string like '<=500' (docs/spec.md#slo)",
    "search": "see docs/spec.md#search for the search fields",
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
        if "internationalised domain name" in msg:
            return "correct the host name in base_url, or give its ASCII (xn--) form"
        if "carries credentials" in msg or "query or fragment" in msg:
            return "give base_url as scheme://host[:port]/path only; credentials go in api_key_env or headers_env"
        if "completion per request" in msg:
            return "remove that option from extra_body: lens times one completion per request"
        if "not a prompt set name" in msg:
            return "name a bundled set (short, medium, long) or read a file with prompts.file"
        for key in reversed(names):
            if key in _VALUE_FIXES:
                return _VALUE_FIXES[key]
    return "see docs/spec.md for the field's format"


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<spec>") -> BurstSpec:
    """Validate a mapping into a BurstSpec; ConfigError names source, field path and fix.

    A mapping holding more than MAX_SPEC_BYTES of text is refused before validation."""
    check_size(data, source)
    try:
        return BurstSpec.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field_path = _format_loc(tuple(first["loc"])) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(msg + more, source=source, field=field_path, hint=_fix_for(dict(first))) from None


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML, JSON or TOML file into a dict, with errors naming the file.

    Untrusted files are safe to read: size, alias expansion and duplicate keys are
    checked (lens.spec.safe_yaml); every failure is a ConfigError naming the file.
    """
    p = Path(path)
    why = not_a_file(p)
    if why is not None:
        raise ConfigError("file not found" if why == "does not exist" else f"the file {why}",
                          source=str(p), hint="check the path")
    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise ConfigError(
                f"the file is {size / (1024 * 1024):.1f} MiB; a spec file may be at most "
                f"{MAX_SPEC_BYTES // (1024 * 1024)} MiB",
                source=str(p),
                hint="keep prompts in a file of their own (prompts.file, lens run --prompt-file)",
            )
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})",
            source=str(p),
            hint="save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(p), hint="check permissions") from None
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(
            f"unknown spec format {p.suffix!r}", source=str(p), hint="use .yaml, .yml, .json or .toml"
        )
    try:
        if suffix == ".toml":
            import tomllib

            try:
                data: Any = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"cannot parse: {toml_error(exc, text)}", source=str(p),
                                  hint="fix the syntax") from None
        else:
            data = load_yaml(text, str(p))  # JSON is YAML
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError("cannot parse: values are nested too deeply", source=str(p),
                          hint="a spec needs only a few levels; fix the file") from None
    except MemoryError:
        raise ConfigError("cannot parse: the file needs more memory than this process has",
                          source=str(p), hint="check the file; a spec is small") from None
    except Exception as exc:  # yaml.YAMLError carries line numbers
        raise ConfigError(f"cannot parse: {exc}", source=str(p), hint="fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping", source=str(p))
    return _dates_as_text(data)


def _dates_as_text(data: dict[str, Any]) -> dict[str, Any]:
    """YAML and TOML read ``name: 2026-01-01`` as a date; a spec holds none, so keep the
    text the user wrote (a date object broke the CLI's JSON copy with a TypeError)."""
    import datetime as dt

    stack: list[Any] = [data]
    while stack:
        v = stack.pop()
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, x in list(items):
            if isinstance(x, dt.date | dt.time):
                v[k] = x.isoformat()
            elif isinstance(x, dict | list):
                stack.append(x)
    return data


def load_spec(path: str | os.PathLike[str]) -> BurstSpec:
    """Load and validate a BurstSpec from a YAML or TOML file."""
    return spec_from_dict(read_mapping(path), source=str(path))
