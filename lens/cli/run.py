"""``lens run``: fire a burst from a spec file and/or flags, store it, print the summary.

Flags override the spec. With neither a spec nor ``--provider`` (or with ``--demo``) it
starts the simulated endpoint in-process and fires a demo burst at several simulated
providers. Failed requests are data: the exit code is non-zero only when the burst could
not run (bad spec or flags, missing key, unreachable store) -- 2 -- or was interrupted
with Ctrl-C -- 130, after storing and summarising what finished.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from typing import Any

from lens.cli.run_fire import exporter_sinks, fire
from lens.cli.run_spec import build_spec, demo_targets, embedded_sim, preflight, sim_base_url
from lens.cli.run_workload import add_flags as add_workload_flags
from lens.cli.run_workload import check_args as check_workload_args
from lens.errors import ConfigError
from lens.record import new_run_id


def register(sub: Any) -> None:
    """The ``lens run`` parser. Long because the flag table is (one ``add_argument`` per
    flag, in ``--help`` order), not because of logic; flags become spec fields in
    lens.cli.run_spec."""
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
    g.add_argument(
        "--workers", type=int, metavar="N",
        help="client processes to fire from (one clock, one store writer); default: one per "
        "256 streams, up to one core fewer than the machine has",
    )
    g.add_argument(
        "--ca-bundle", metavar="PEM",
        help="also trust these CA certificates (a private gateway, a TLS-inspecting proxy); "
        "the system store and SSL_CERT_FILE stay trusted",
    )
    g = p.add_argument_group("prompts")
    g.add_argument("--prompt-tokens", type=int, metavar="N", help="synthetic prompts of ~N tokens")
    g.add_argument("--prompt-set", metavar="NAME",
                   help="a bundled prompt set by name: short, medium, long (never a path)")
    g.add_argument("--prompt-file", metavar="PATH",
                   help="prompts from a file: .jsonl ({id, text} lines) or .txt (one per line)")
    g.add_argument("--max-tokens", type=int, metavar="N", help="max output tokens")
    g = p.add_argument_group("service-level objectives")
    g.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                   help="per-request SLO, e.g. ttft_ms<=500 (repeatable; sets the spec's slo); "
                   "the summary adds attainment and goodput")
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
        "--prices", metavar="FILE.toml",
        help="price overrides for budgets and the cost metric (see data/prices.toml)",
    )  # fmt: skip
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
    add_workload_flags(p)
    p.set_defaults(func=cmd_run)


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
    if args.prometheus is not None and not 0 <= args.prometheus <= 65535:
        raise ConfigError(
            f"port must be 0-65535, got {args.prometheus}",
            source="--prometheus",
            hint="give a free TCP port, or 0 to let the system pick one",
        )
    for flag in ("rpm", "tpm"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise ConfigError(f"must be a positive number, got {value:g}", source=f"--{flag}")
    check_workload_args(args)
    if args.demo and (args.spec or args.provider):
        raise ConfigError(
            "--demo fires at the built-in simulator; it cannot be combined with a spec or --provider",
            source="--demo",
        )


def cmd_run(args: argparse.Namespace) -> int:
    from lens.cli.render import esc, stderr_console
    from lens.store.paths import display_db, resolve_db
    from lens.store.sql import open_store

    err = stderr_console()
    _validate_args(args)
    demo = args.demo or (not args.spec and not args.provider)
    with contextlib.ExitStack() as stack:
        targets = None
        if demo:
            sim = stack.enter_context(embedded_sim(err))
            targets = demo_targets(sim)
            err.print("lens: demo burst: " + esc(", ".join(t["name"] for t in targets)))
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
        sinks = exporter_sinks(args)
        for s in sinks:
            if hasattr(s, "close"):
                stack.callback(s.close)
        if args.run_id and store.has_run(args.run_id):
            raise ConfigError(
                f"a run '{args.run_id}' already exists in {display_db(db)}",
                source="--run-id",
                hint="choose another id, or omit --run-id",
            )
        if args.cache_compare:
            return _cache_compare(spec, args, store, sinks, err, db)
        code = 0
        i = 0
        while args.repeat == 0 or i < args.repeat:
            i += 1
            t0 = time.monotonic()
            if args.run_id:
                run_id = args.run_id if args.repeat == 1 else f"{args.run_id}-{i}"
            else:
                run_id = new_run_id()
            _status, interrupted = fire(spec, args, store, sinks, err, run_id)
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
                except KeyboardInterrupt:  # Ctrl-C or SIGTERM: fewer runs than asked for
                    err.print("lens: interrupted between runs", markup=False)
                    code = 130
                    break
        return code


def _cache_compare(spec: Any, args: argparse.Namespace, store: Any, sinks: list[Any], err: Any,
                   db: str) -> int:
    """Fire the workload cold, then warm (lens.burst.cache_compare), and compare them."""
    from lens.burst.cache_compare import cold_warm_specs
    from lens.cli.run_workload import print_comparison

    ids = []
    for part, sub in zip(("cold", "warm"), cold_warm_specs(spec), strict=True):
        run_id = f"{args.run_id}-{part}" if args.run_id else new_run_id()
        err.print(f"lens: cache compare: firing the {part} run {run_id}", markup=False)
        _status, interrupted = fire(sub, args, store, sinks, err, run_id)
        if not args.json:
            _report(store, run_id, db, args, several=True)
        if interrupted:
            return 130
        ids.append(run_id)
    store.flush()
    print_comparison(store, ids[0], ids[1], as_json=args.json)
    return 0


def _report(store: Any, run_id: str, db: str, args: argparse.Namespace, *, several: bool) -> None:
    from lens.analysis.health import client_health
    from lens.analysis.summary import summarize
    from lens.cli.render import dump_json, print_summary, stderr_console, summary_json

    store.flush()
    run = store.get_run(run_id)
    from lens.cli.render_slo import run_objectives

    frame = store.requests_frame(run_id)
    summaries = summarize(frame, store.chunks_frame(run_id),
                          objectives=run_objectives(run.spec_json))
    health = client_health(frame, run.extra.get("client"))
    if health.flagged:  # on stderr too, so --json users see it
        stderr_console().print(f"lens: warning: {health.message('run ' + run_id)}",
                               markup=False, highlight=False)
    if args.json:
        dump_json(summary_json(run, summaries, db=db, health=health),
                  indent=None if several else 2)
    else:
        print_summary(run, summaries, db=db, health=health)
    from lens.cli.run_errors import error_lines

    for line in error_lines(frame):  # on stderr: --json users see them too
        stderr_console().print(f"lens: {line}", markup=False, highlight=False)
