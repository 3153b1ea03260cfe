"""``lens run``, part one: a BurstSpec from a spec file and flags (flags win), the demo
targets on the embedded simulated endpoint, and pre-flight checks naming the flag."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from lens.cli.run_workload import FLAG_FIELDS as _WORKLOAD_FLAGS
from lens.cli.run_workload import apply_flags as apply_workload_flags
from lens.errors import ConfigError, TargetError

DEMO_TARGETS: tuple[tuple[str, str, str, str], ...] = (
    # (target name, dialect, sim profile, model)
    ("sim-fast", "openai_chat", "fast", "sim-fast-1"),
    ("sim-steady", "anthropic", "steady", "sim-steady-1"),
    ("sim-slow", "gemini", "slow", "sim-slow-1"),
)

# Spec field path (prefix) -> the flag that set it, to name flags in validation errors.
_FLAG_FIELDS: dict[str, str] = {
    "load.requests": "--requests",
    "load.concurrency": "--concurrency",
    "load.rate": "--rate",
    "load.kind": "--arrival",
    "load.duration_s": "--duration",
    "load": "--rate/--arrival",
    "prompts.synthetic_tokens": "--prompt-tokens",
    "prompts.set": "--prompt-set",
    "prompts.file": "--prompt-file",
    "prompts": "--prompt-set/--prompt-file/--prompt-tokens",
    "max_tokens": "--max-tokens",
    "warmup": "--warmup",
    "provider": "--provider",
    "base_url": "--base-url",
    "model": "--model",
    "tags": "--tag",
    "ca_bundle": "--ca-bundle",
    "workers": "--workers",
    "slo": "--slo",
}
_FLAG_FIELDS.update(_WORKLOAD_FLAGS)


# spec building ---------------------------------------------------------------------------


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"tag {v!r} is not KEY=VALUE", source="--tag", hint="write e.g. --tag env=staging"
            )
        tags[key.strip()] = val.strip()
    return tags


def _flag_for(field_path: str | None) -> str | None:
    if not field_path:
        return None
    tail = field_path.split(".", 1)[1] if field_path.startswith("targets[") else field_path
    for prefix in sorted(_FLAG_FIELDS, key=len, reverse=True):
        if tail == prefix or tail.startswith(prefix + ".") or tail.startswith(prefix + "["):
            return _FLAG_FIELDS[prefix]
    return None


def apply_flags(data: dict[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any], set[str]]:
    """Overlay flag values on a spec mapping; returns it and the field paths flags set."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    touched: set[str] = set()
    _target_flags(data, args, touched)
    _load_flags(data, args, touched)
    _prompt_flags(data, args, touched)
    for flag, key in (("max_tokens", "max_tokens"), ("warmup", "warmup"), ("workers", "workers")):
        if getattr(args, flag, None) is not None:
            data[key] = getattr(args, flag)
            touched.add(key)
    if args.cold:
        data["connection"] = "cold"
    if getattr(args, "ca_bundle", None):
        data["ca_bundle"] = args.ca_bundle
        touched.add("ca_bundle")
    slo_flags = getattr(args, "slo", None)
    if slo_flags:
        from lens.spec.slo import objectives_mapping, parse_objective

        given_slo = data.get("slo")
        base_slo: dict[str, Any] = given_slo if isinstance(given_slo, dict) else {}
        data["slo"] = {**base_slo, **objectives_mapping(parse_objective(t) for t in slo_flags)}
        touched.add("slo")
    tags = parse_tags(args.tag)
    if tags:
        given = data.get("tags")
        base: dict[str, Any] = given if isinstance(given, dict) else {}
        data["tags"] = {**base, **tags}
        touched.add("tags")
    apply_workload_flags(data, args, touched)
    return data, touched


def _target_flags(data: dict[str, Any], args: argparse.Namespace, touched: set[str]) -> None:
    if args.provider:
        target: dict[str, Any] = {"provider": args.provider}
        if not args.model:
            raise ConfigError(
                f"--provider {args.provider} needs --model",
                source="--model",
                hint="add --model MODEL_ID (the id the API expects)",
            )
        data["targets"] = [target]
        touched.add("provider")
    targets = data.get("targets")
    if isinstance(targets, list):
        for t in targets:
            if not isinstance(t, dict):
                continue
            if args.base_url:
                t["base_url"] = args.base_url
                touched.add("base_url")
            if args.model:
                t["model"] = args.model
                touched.add("model")


def _load_flags(data: dict[str, Any], args: argparse.Namespace, touched: set[str]) -> None:
    load = data.setdefault("load", {}) if isinstance(data.get("load", {}), dict) else None
    if load is None:
        return
    for flag, key in (
        ("requests", "requests"),
        ("concurrency", "concurrency"),
        ("duration", "duration_s"),
    ):
        v = getattr(args, flag)
        if v is not None:
            load[key] = v
            touched.add(f"load.{key}")
    if args.duration is not None and args.requests is None and "requests" not in load:
        load["requests"] = None  # a duration alone bounds the burst
    if args.rate is not None:
        load["rate"] = args.rate
        load["kind"] = "poisson" if args.arrival == "poisson" else "rate"
        touched.update(("load.rate", "load.kind"))
    elif args.arrival is not None:
        load["kind"] = "poisson" if args.arrival == "poisson" else "rate"
        touched.add("load.kind")


def _prompt_flags(data: dict[str, Any], args: argparse.Namespace, touched: set[str]) -> None:
    prompt_file = getattr(args, "prompt_file", None)
    if args.prompt_tokens is not None and args.prompt_set:
        raise ConfigError(
            "give either --prompt-tokens or --prompt-set, not both", source="--prompt-set"
        )
    if prompt_file and (args.prompt_set or args.prompt_tokens is not None):
        raise ConfigError(
            "give one of --prompt-file, --prompt-set, --prompt-tokens", source="--prompt-file"
        )
    if args.prompt_tokens is not None:
        data["prompts"] = {"synthetic_tokens": args.prompt_tokens}
        touched.add("prompts.synthetic_tokens")
    if args.prompt_set:
        data["prompts"] = {"set": args.prompt_set}
        touched.add("prompts.set")
    if prompt_file:
        data["prompts"] = {"file": prompt_file}
        touched.add("prompts.file")


def _bare(err: ConfigError) -> str:
    """The message of a ConfigError without its 'source: field: ' prefix."""
    text = err.message
    for part in (err.source, err.field):
        if part and text.startswith(f"{part}: "):
            text = text[len(part) + 2 :]
    return text


def remap_to_flag(err: ConfigError, touched: set[str]) -> ConfigError:
    """Name the flag when the field at fault was set by a flag (else return ``err``)."""
    field_path = err.field or ""
    tail = (
        field_path.split(".", 1)[1]
        if field_path.startswith("targets[") and "." in field_path
        else field_path
    )
    if field_path.startswith("targets[") and "." not in field_path:
        tail = "provider"
    for t in sorted(touched, key=lambda x: (len(x), x), reverse=True):
        if tail == t or tail.startswith((t + ".", t + "[")) or t.startswith(tail + "."):
            flag = _flag_for(t)
            if flag:
                return type(err)(_bare(err), source=flag, field=field_path, hint=err.hint)
    return err


def build_spec(
    args: argparse.Namespace, *, demo_targets: list[dict[str, Any]] | None = None
) -> tuple[Any, set[str], str]:
    """(BurstSpec, field paths set by flags, source name); errors name the file or flag."""
    from lens.spec import read_mapping, spec_from_dict

    if args.spec:
        data = read_mapping(args.spec)
        source = args.spec
    elif demo_targets is not None:
        data = demo_spec_data(demo_targets)
        source = "--demo"
    else:
        data = {}
        source = "flags"
    data, touched = apply_flags(data, args)
    if "targets" not in data and not args.provider:
        raise ConfigError(
            "no targets", source=source, hint="give a spec file, or --provider and --model"
        )
    try:
        return spec_from_dict(data, source=source), touched, source
    except ConfigError as err:
        raise remap_to_flag(err, touched) from None


def preflight(spec: Any, touched: set[str], source: str) -> None:
    """Fail before anything is stored: prompts resolvable, API keys present."""
    try:
        from lens.workload.prompts import load_prompts

        load_prompts(spec.prompts)
    except ImportError:
        pass
    except ConfigError as err:
        if err.source:
            raise
        raise remap_to_flag(
            ConfigError(_bare(err), source=source, field=err.field, hint=err.hint), touched
        ) from None
    for i, t in enumerate(spec.targets):
        try:
            t.resolve_api_key()
        except TargetError as err:
            src = "--provider" if "provider" in touched else source
            raise TargetError(
                _bare(err), source=src, field=f"targets[{i}].api_key_env", hint=err.hint
            ) from None


def demo_spec_data(targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "demo",
        "scenario": "demo",
        "targets": targets,
        "prompts": {"set": "short"},
        "max_tokens": 48,
        "load": {"kind": "concurrency", "requests": 16, "concurrency": 4},
        "warmup": 1,
        "tags": {"demo": "true"},
    }


def demo_targets(sim: Any) -> list[dict[str, Any]]:
    """Demo targets: the sim's latency profiles as distinct providers and dialects."""
    return [
        {
            "name": name,
            "provider": "sim",
            "dialect": dialect,
            "base_url": sim_base_url(sim, dialect, profile),
            "model": model,
        }
        for name, dialect, profile, model in DEMO_TARGETS
    ]


def sim_base_url(sim: Any, dialect: str, profile: str | None = None) -> str:
    """Base URL of the simulated endpoint for a dialect (SDK conventions; /p/{profile})."""
    if callable(getattr(sim, "base_url", None)):
        return str(sim.base_url(dialect, profile))
    root = str(sim.url).rstrip("/") + (f"/p/{profile}" if profile else "")
    return root + "/v1" if dialect.startswith("openai") else root


@contextlib.contextmanager
def embedded_sim(err: Any) -> Iterator[Any]:
    """The simulated endpoint on a free 127.0.0.1 port, in its own process: in this one it
    would share the client's core and GIL, and their delays would show up as latency."""
    from lens.sim.process import SimProcess

    with SimProcess() as sim:
        err.print(f"lens: started the simulated endpoint at {sim.url} (its own process)",
                  markup=False)
        yield sim
