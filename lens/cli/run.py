"""``lens run``: fire a burst from a spec file and/or flags, store it, print the summary.

Flags override the spec. With neither a spec nor ``--provider`` (or with ``--demo``) it
starts the simulated endpoint in-process and fires a demo burst at several simulated
providers. Failed requests are data: the exit code is non-zero only when the burst could
not run (bad spec or flags, missing key, unreachable store) -- 2 -- or was interrupted
with Ctrl-C -- 130, after storing and summarising what finished.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lens.api import new_run_id
from lens.errors import ConfigError, LensError, TargetError

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
    "prompts": "--prompt-set/--prompt-tokens",
    "max_tokens": "--max-tokens",
    "warmup": "--warmup",
    "provider": "--provider",
    "base_url": "--base-url",
    "model": "--model",
    "tags": "--tag",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="fire a profiling burst and store it",
        description="Fire a profiling burst (spec file and/or flags; flags win), store every "
        "request, print p50/p90/p99 per target. Without a spec or --provider: a demo burst "
        "at the built-in simulated endpoint.",
    )
    p.add_argument("spec", nargs="?", help="burst spec file (.yaml/.yml/.toml), see docs/spec.md")
    g = p.add_argument_group("target (replaces the spec's targets when --provider is given)")
    g.add_argument("--provider", help="provider name, e.g. openai, anthropic, gemini, sim")
    g.add_argument("--base-url", help="API base URL (applies to every target)")
    g.add_argument("--model", help="model id (applies to every target)")
    g = p.add_argument_group("load")
    g.add_argument("--requests", type=int, metavar="N", help="requests per target")
    g.add_argument("--concurrency", type=int, metavar="N", help="requests in flight per target")
    g.add_argument("--rate", type=float, metavar="RPS", help="open-loop arrivals per second")
    g.add_argument("--arrival", choices=("poisson", "constant"), help="arrival process for --rate")
    g.add_argument("--duration", type=float, metavar="S", help="stop starting requests after S s")
    g.add_argument("--warmup", type=int, metavar="N", help="warm-up requests (not summarised)")
    g.add_argument("--cold", action="store_true", help="a new connection for every request")
    g = p.add_argument_group("prompts")
    g.add_argument("--prompt-tokens", type=int, metavar="N", help="synthetic prompts of ~N tokens")
    g.add_argument("--prompt-set", metavar="NAME", help="named set under data/prompts/")
    g.add_argument("--max-tokens", type=int, metavar="N", help="max output tokens")
    g = p.add_argument_group("storing and output")
    g.add_argument(
        "--db",
        help="SQLite file or SQLAlchemy URL (default: $LENS_DB or ~/.local/share/lens/lens.db)",
    )
    g.add_argument("--run-id", help="id for the run (default: time + random)")
    g.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="tag the run (repeatable)"
    )
    g.add_argument(
        "--json", action="store_true", help="print the summary as JSON on stdout (nothing else)"
    )
    g.add_argument("--no-progress", action="store_true", help="no live progress bar")
    g.add_argument(
        "--demo", action="store_true", help="demo burst at the in-process simulated endpoint"
    )
    g = p.add_argument_group("fleet, exporters, budgets, repetition")
    g.add_argument("--regions", metavar="R1,R2", help="fire from these regions (lens.fleet)")
    g.add_argument(
        "--shards", type=int, metavar="N", help="split the burst into N shards (lens.fleet)"
    )
    g.add_argument("--prometheus", type=int, metavar="PORT", help="serve /metrics on PORT (0: any)")
    g.add_argument(
        "--pushgateway", metavar="URL", help="push metrics to a Pushgateway after each burst"
    )
    g.add_argument("--otlp", metavar="ENDPOINT", help="export one span per request (OTLP/HTTP)")
    g.add_argument("--budget-usd", metavar="USD", help="refuse a burst estimated above USD")
    g.add_argument(
        "--daily-budget-usd", metavar="USD", help="refuse when today's spend + estimate exceeds USD"
    )
    g.add_argument(
        "--rpm", type=float, metavar="N", help="client-side limit: requests per minute per provider key"
    )
    g.add_argument(
        "--tpm", type=float, metavar="N", help="client-side limit: tokens per minute per provider key"
    )
    g.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="fire the burst N times (0: forever)"
    )
    g.add_argument(
        "--interval", type=float, default=0.0, metavar="S", help="seconds between burst starts"
    )
    p.set_defaults(func=cmd_run)


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
    load = data.setdefault("load", {}) if isinstance(data.get("load", {}), dict) else None
    if load is not None:
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
    if args.prompt_tokens is not None and args.prompt_set:
        raise ConfigError(
            "give either --prompt-tokens or --prompt-set, not both", source="--prompt-set"
        )
    if args.prompt_tokens is not None:
        data["prompts"] = {"synthetic_tokens": args.prompt_tokens}
        touched.add("prompts.synthetic_tokens")
    if args.prompt_set:
        data["prompts"] = {"set": args.prompt_set}
        touched.add("prompts.set")
    if args.max_tokens is not None:
        data["max_tokens"] = args.max_tokens
        touched.add("max_tokens")
    if args.warmup is not None:
        data["warmup"] = args.warmup
        touched.add("warmup")
    if args.cold:
        data["connection"] = "cold"
    tags = parse_tags(args.tag)
    if tags:
        base = data.get("tags") if isinstance(data.get("tags"), dict) else {}
        data["tags"] = {**base, **tags}
        touched.add("tags")
    return data, touched


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
    from lens.config import read_mapping, spec_from_dict

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
        from lens.prompts import load_prompts

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
    """The simulated endpoint on a free 127.0.0.1 port, in a background thread."""
    try:
        from lens.sim import start_sim_in_thread
    except ImportError as exc:
        raise LensError(
            f"the simulated endpoint is not available in this installation ({exc})",
            hint="give a spec or --provider/--model to fire at a real API",
        ) from None
    with start_sim_in_thread() as sim:
        err.print(f"lens: started the simulated endpoint in-process at {sim.url}")
        yield sim


# sinks and progress ------------------------------------------------------------------------


@dataclass
class FanOut:
    """Passes each finished request to every sink (store first, so it is kept)."""

    sinks: list[Any]

    def add(self, record: Any, chunks: Sequence[Any]) -> None:
        for s in self.sinks:
            s.add(record, chunks)


class Progress:
    """A rich progress bar per target on stderr (no-op when disabled)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[errors]} errors"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.__exit__(None, None, None)
            self._bars = None

    def update(self, event: Any) -> None:
        if self._bars is None:
            return
        task = self._tasks.get(event.target)
        if task is None:
            task = self._bars.add_task(event.target, total=event.total, errors=0)
            self._tasks[event.target] = task
        self._bars.update(task, completed=event.done, total=event.total, errors=event.errors)


# firing ------------------------------------------------------------------------------------


def _limiter(spec: Any, args: argparse.Namespace) -> Any:
    """Client-side rate limiter from --rpm/--tpm; its waits are counted in queue_ms."""
    if args.rpm is None and args.tpm is None:
        return None
    from lens.probe.ratelimit import ClientRateLimiter

    return ClientRateLimiter.for_spec(spec, rpm=args.rpm, tpm=args.tpm)


async def _fire_async(
    spec: Any, run_id: str, sink: Any, progress: Progress, err: Any, limiter: Any = None
) -> tuple[Any, bool]:
    """Run the burst; first Ctrl-C stops new requests, the second abandons in-flight ones."""
    from lens.probe.engine import run_burst

    stop = asyncio.Event()
    task = asyncio.ensure_future(
        run_burst(
            spec, run_id=run_id, sink=sink, on_progress=progress.update, stop=stop, limiter=limiter
        )
    )
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        if stop.is_set():
            task.cancel()
        else:
            stop.set()
            err.print("lens: stopping: no new requests; Ctrl-C again to abandon in-flight ones")

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        return await task, interrupted
    except asyncio.CancelledError:
        return None, True
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def fire_once(
    spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any], err: Any, run_id: str
) -> tuple[str, bool]:
    """Fire one burst into ``store``; returns (final status, interrupted)."""
    from lens.api import run_info

    store.start_run(run_info(spec, run_id))
    fan = FanOut([store, *sinks])
    show = not args.no_progress and sys.stderr.isatty()
    try:
        with Progress(show) as progress:
            with asyncio.Runner() as runner:
                result, interrupted = runner.run(
                    _fire_async(spec, run_id, fan, progress, err, _limiter(spec, args))
                )
    except BaseException:
        with contextlib.suppress(Exception):
            store.finish_run(run_id, status="failed")
        raise
    complete = result is not None and result.complete and not interrupted
    skipped = result.skipped if result is not None else 0
    status = "complete" if complete else "incomplete"
    store.finish_run(run_id, status=status, skipped=skipped)
    return status, interrupted


def fire_fleet(spec: Any, args: argparse.Namespace, store: Any, err: Any, run_id: str) -> str:
    """--regions/--shards: hand the burst to lens.fleet.fire; make sure its rows are stored."""
    try:
        import lens.fleet as fleet
    except ImportError:
        fleet = None  # type: ignore[assignment]
    fire = getattr(fleet, "fire", None)
    flag = "--regions" if args.regions else "--shards"
    if fire is None:
        raise ConfigError(
            "firing from several regions or shards needs lens.fleet.fire, which this installation lacks",
            source=flag,
            hint="drop --regions/--shards to fire locally",
        )
    regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    kw: dict[str, Any] = {"shards": args.shards or 1, "store": store, "run_id": run_id}
    if regions:
        kw["regions"] = regions

    def progress(region: str, state: str, info: Any = None) -> None:
        if not args.no_progress:
            err.print(f"lens: {region}: {state}" + (f" ({info})" if info else ""))

    try:
        result = fire(spec, progress=progress, **kw)
    except ValueError as exc:
        raise ConfigError(str(exc), source=flag) from None
    store.flush()
    _ensure_stored(spec, store, result, run_id)
    for region, reason in (getattr(result, "failures", None) or {}).items():
        err.print(f"lens: fleet: {region}: {reason}")
    _report_measuring_cost(result, err)
    return run_id


def _report_measuring_cost(result: Any, err: Any) -> None:
    """After a Lambda fleet run: what measuring cost (GB-seconds, invocations, S3 requests)."""
    frame = getattr(result, "frame", None)
    if frame is None or not len(frame) or "runner" not in frame.columns:
        return
    if not (frame["runner"].astype("object") == "lambda").any():
        return  # the local fleet costs nothing on AWS
    from lens.analysis.measuring_cost import actual_measuring_cost

    cost = actual_measuring_cost(frame)
    q = cost.quantities
    err.print(
        f"lens: measuring cost ${cost.total:.6f}: {q.get('invocations', 0):g} invocations, "
        f"{q.get('gb_seconds', 0):.1f} GB-s, {q.get('s3_puts', 0):g} S3 PUTs"
    )


def _ensure_stored(spec: Any, store: Any, result: Any, run_id: str) -> None:
    """Store fleet rows the fleet did not store itself (same run id, no duplicates)."""
    from lens.api import run_info

    if not store.has_run(run_id):
        info = run_info(spec, run_id)
        info.runner = "fleet"
        store.start_run(info)
    have = set(store.requests_frame(run_id)["request_id"].astype(str))
    missing = [r for r in result.records if r.request_id not in have]
    for r in missing:
        r.run_id = run_id
    if missing:
        want = {r.request_id for r in missing}
        store.add_many(missing, [c for c in result.chunks if c.request_id in want])
    if store.get_run(run_id).status == "running":
        failures = getattr(result, "failures", None) or []
        store.finish_run(run_id, status="incomplete" if failures else "complete")


def _exporter_sinks(args: argparse.Namespace) -> list[Any]:
    sinks: list[Any] = []
    if args.prometheus is not None or args.pushgateway:
        try:
            from lens.exporters.prometheus import PrometheusSink
        except ImportError as exc:
            raise ConfigError(
                f"Prometheus export is not available ({exc})", source="--prometheus",
                hint="pip install 'llm-latency-lens[prometheus]'",
            ) from None  # fmt: skip
        sink = PrometheusSink()
        if args.prometheus is not None:
            port = sink.serve(args.prometheus)
            print(
                f"lens: serving Prometheus metrics on http://127.0.0.1:{port}/metrics",
                file=sys.stderr,
            )
        sinks.append(sink)
    if args.otlp:
        try:
            from lens.exporters.otel import OtelSink
        except ImportError as exc:
            raise ConfigError(
                f"OpenTelemetry export is not available ({exc})", source="--otlp",
                hint="pip install 'llm-latency-lens[otel]'",
            ) from None  # fmt: skip
        sinks.append(OtelSink(args.otlp))
    return sinks


def _check_budget(spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any]) -> None:
    if args.budget_usd is None and args.daily_budget_usd is None:
        return
    try:
        from lens.budget import check_budget
    except ImportError as exc:
        raise ConfigError(
            f"budgets are not available in this installation ({exc})", source="--budget-usd"
        ) from None
    metrics = next((s for s in sinks if hasattr(s, "set_budget_ratio")), None)
    regions = [r.strip() for r in (args.regions or "").split(",") if r.strip()]
    fleet = args.regions is not None or args.shards is not None
    check_budget(
        spec, per_burst_usd=args.budget_usd, per_day_usd=args.daily_budget_usd, store=store,
        metrics=metrics, regions=regions, shards=args.shards or 1,
        on_lambda=fleet and _fleet_uses_lambda(),
    )  # fmt: skip


def _fleet_uses_lambda() -> bool:
    try:
        from lens.fleet import uses_lambda
    except ImportError:
        return False
    return uses_lambda()


def _apply_retention(store: Any, err: Any) -> None:
    """Honour the store's retention setting (``lens prune --set-retention``) before writing."""
    from lens.store.retention import apply_retention

    pruned = apply_retention(store)
    if pruned is not None and pruned.runs:
        err.print(f"lens: retention: pruned {len(pruned.runs)} run(s) older than the store's setting")


def _validate_args(args: argparse.Namespace) -> None:
    if args.repeat < 0:
        raise ConfigError(f"must be 0 (forever) or more, got {args.repeat}", source="--repeat")
    if args.interval < 0:
        raise ConfigError(f"must be >= 0 seconds, got {args.interval}", source="--interval")
    if args.regions is not None and not [r for r in args.regions.split(",") if r.strip()]:
        raise ConfigError(
            "no region given", source="--regions", hint="e.g. --regions us-east-1,eu-west-1"
        )
    if args.shards is not None and args.shards <= 0:
        raise ConfigError(f"must be a positive integer, got {args.shards}", source="--shards")
    for flag in ("rpm", "tpm"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise ConfigError(f"must be a positive number, got {value:g}", source=f"--{flag}")
    if args.demo and (args.spec or args.provider):
        raise ConfigError(
            "--demo fires at the built-in simulator; it cannot be combined with a spec or --provider",
            source="--demo",
        )


def cmd_run(args: argparse.Namespace) -> int:
    from lens.cli.render import stderr_console
    from lens.store.paths import resolve_db
    from lens.store.sqlite import open_store

    err = stderr_console()
    _validate_args(args)
    demo = args.demo or (not args.spec and not args.provider)
    with contextlib.ExitStack() as stack:
        targets = None
        if demo:
            sim = stack.enter_context(embedded_sim(err))
            targets = demo_targets(sim)
            err.print("lens: demo burst: " + ", ".join(t["name"] for t in targets))
        spec, touched, source = build_spec(args, demo_targets=targets)
        preflight(spec, touched, source)
        if any(t.provider == "sim" and not t.base_url for t in spec.targets):
            sim = stack.enter_context(embedded_sim(err))
            for t in spec.targets:
                if t.provider == "sim" and not t.base_url:
                    t.base_url = sim_base_url(sim, t.resolved_dialect)
        db = resolve_db(args.db)
        store = open_store(db)
        stack.callback(store.close)
        _apply_retention(store, err)
        sinks = _exporter_sinks(args)
        for s in sinks:
            if hasattr(s, "close"):
                stack.callback(s.close)
        if args.run_id and store.has_run(args.run_id):
            raise ConfigError(
                f"a run {args.run_id!r} already exists in {db}",
                source="--run-id",
                hint="choose another id, or omit --run-id",
            )
        code = 0
        i = 0
        while args.repeat == 0 or i < args.repeat:
            i += 1
            t0 = time.monotonic()
            _check_budget(spec, args, store, sinks)
            if args.run_id:
                run_id = args.run_id if args.repeat == 1 else f"{args.run_id}-{i}"
            else:
                run_id = new_run_id()
            if args.regions is not None or args.shards is not None:
                run_id = fire_fleet(spec, args, store, err, run_id)
                interrupted = False
            else:
                _status, interrupted = fire_once(spec, args, store, sinks, err, run_id)
            _report(store, run_id, db, args, several=args.repeat != 1)
            for s in sinks:
                if args.pushgateway and hasattr(s, "push"):
                    s.push(args.pushgateway, job="lens")
            if interrupted:
                code = 130
                break
            if args.repeat == 0 or i < args.repeat:
                try:
                    time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
                except KeyboardInterrupt:
                    break
        return code


def _report(store: Any, run_id: str, db: str, args: argparse.Namespace, *, several: bool) -> None:
    from lens.analysis.summary import summarize
    from lens.cli.render import dump_json, print_summary, summary_json

    store.flush()
    run = store.get_run(run_id)
    summaries = summarize(store.requests_frame(run_id), store.chunks_frame(run_id))
    if args.json:
        dump_json(summary_json(run, summaries, db=db), indent=None if several else 2)
    else:
        print_summary(run, summaries, db=db)
