"""``lens capacity``: the highest concurrency (or request rate) whose SLO attainment stays
at or above a target, found by lens.burst.capacity (sweep, then bisect).

Exit codes: 0 an answer was found, 1 no level met the target, 2 the search could not run
(spec or flag error, store), 130 stopped with Ctrl-C (the levels fired so far are kept and
summarised).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from lens.errors import ConfigError

# SearchSpec field -> the flag that sets it, to name flags in validation errors.
_SEARCH_FLAGS: dict[str, str] = {
    "mode": "--mode", "levels": "--levels", "attainment": "--attainment",
    "requests": "--requests", "rounds": "--rounds", "max_levels": "--max-levels",
    "arrival": "--arrival",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "capacity", help="find the highest load that still meets the SLOs",
        description="Sweep load levels upwards, then bisect, to find the highest concurrency "
        "(or request rate) whose SLO attainment stays at or above --attainment. Each level "
        "is stored as a run (tag capacity_search). See docs/spec.md#search.")
    p.add_argument("spec", nargs="?", help="burst spec file (its slo: and search: blocks apply)")
    g = p.add_argument_group("target")
    g.add_argument("--provider", help="provider name (replaces the spec's targets)")
    g.add_argument("--model", help="model id")
    g.add_argument("--base-url", help="API base URL")
    g.add_argument("--target", metavar="NAME", help="which of the spec's targets to search")
    g.add_argument("--sim-profile", metavar="PRESET",
                   help="for provider sim without --base-url: the embedded simulator's profile")
    g = p.add_argument_group("prompts")
    g.add_argument("--prompt-tokens", type=int, metavar="N")
    g.add_argument("--prompt-set", metavar="NAME")
    g.add_argument("--prompt-file", metavar="PATH")
    g.add_argument("--max-tokens", type=int, metavar="N")
    g.add_argument("--warmup", type=int, metavar="N", help="warm-up requests per level")
    g = p.add_argument_group("SLOs and search")
    g.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                   help="per-request SLO, e.g. ttft_ms<=500 (repeatable)")
    g.add_argument("--attainment", type=float, metavar="FRACTION",
                   help="attainment a level must reach (default 0.95)")
    g.add_argument("--mode", choices=("concurrency", "rate"), help="what to search (default concurrency)")
    g.add_argument("--levels", metavar="L1,L2,...", help="the sweep grid, ascending")
    g.add_argument("--requests", type=int, metavar="N", help="requests per level at least")
    g.add_argument("--rounds", type=int, metavar="N", help="concurrency: >= N x level requests")
    g.add_argument("--max-levels", type=int, metavar="N", help="fire at most N levels")
    g.add_argument("--arrival", choices=("poisson", "constant"), help="rate mode arrivals")
    g = p.add_argument_group("storing and output")
    g.add_argument("--db", help="SQLite file or SQLAlchemy URL (default: $LENS_DB or ~/.local/share/lens/lens.db)")
    g.add_argument("--tag", action="append", default=[], metavar="K=V", help="tag every level's run")
    g.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g.add_argument("--chart", metavar="FILE", help="write the evidence chart (.svg, .png, .json or .html)")
    p.set_defaults(func=cmd_capacity, concurrency=None, duration=None, rate=None, cold=False)


def _search_overrides(args: argparse.Namespace, spec: Any) -> Any:
    from pydantic import ValidationError

    from lens.spec import SearchSpec

    data = spec.search.model_dump(exclude_unset=True) if spec.search else {}
    given = {"mode": args.mode, "attainment": args.attainment, "requests": args.requests,
             "rounds": args.rounds, "max_levels": args.max_levels, "arrival": args.arrival}
    if args.levels:
        try:
            given["levels"] = [float(x) for x in args.levels.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"cannot read {args.levels!r}", source="--levels",
                              hint="give numbers separated by commas, e.g. 1,2,4,8") from None
    data.update({k: v for k, v in given.items() if v is not None})
    try:
        return SearchSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "levels"
        flag = _SEARCH_FLAGS.get(name) if given.get(name) is not None else None
        raise ConfigError(err["msg"].removeprefix("Value error, "),
                          source=flag or args.spec or "flags", field=f"search.{name}",
                          hint="see docs/spec.md#search") from None


def cmd_capacity(args: argparse.Namespace) -> int:
    from lens.burst.capacity import search_capacity
    from lens.burst.stop import StopSignal
    from lens.cli.render import stderr_console
    from lens.cli.run_spec import build_spec, embedded_sim, preflight, sim_base_url
    from lens.store.paths import resolve_db
    from lens.store.sql import open_store

    err = stderr_console()
    if not args.spec and not args.provider:
        raise ConfigError("no target", source="flags",
                          hint="give a spec file, or --provider and --model")
    from lens.analysis.charts.files import CHART_FORMATS

    if args.chart and not args.chart.lower().endswith(CHART_FORMATS):
        raise ConfigError(f"unknown chart format: {args.chart!r}", source="--chart",
                          hint="write .svg, .png, .json or .html")
    if args.sim_profile is not None:
        from lens.sim import PRESETS

        if args.sim_profile not in PRESETS:
            raise ConfigError(f"unknown sim profile {args.sim_profile!r}", source="--sim-profile",
                              hint=f"presets: {', '.join(sorted(PRESETS))}")
    args.arrival, arrival = None, args.arrival  # --arrival is the search's, not the load's
    spec, touched, source = build_spec(args)
    args.arrival = arrival
    plan = _search_overrides(args, spec)
    preflight(spec, touched, source)
    stop = StopSignal()
    with contextlib.ExitStack() as stack:
        if any(t.provider == "sim" and not t.base_url for t in spec.targets):
            sim = stack.enter_context(embedded_sim(err))
            for t in spec.targets:
                if t.provider == "sim" and not t.base_url:
                    t.base_url = sim_base_url(sim, t.resolved_dialect, args.sim_profile)
        store = open_store(resolve_db(args.db))
        stack.callback(store.close)

        def on_level(r: Any) -> None:
            err.print(f"lens: {r.phase} level {r.level:g}: attainment {r.attainment:.1%} of "
                      f"{r.n}, {r.throughput_rps:.3g} ok req/s, p95 TTFT {r.ttft_p95:.0f} ms: "
                      f"{r.verdict}", markup=False, highlight=False, soft_wrap=True)

        result = search_capacity(spec, search=plan, store=store, target=args.target,
                                 on_level=on_level, stop=stop, source=source)
    if args.chart:
        _save_chart(result, args.chart)
    if args.json:
        from lens.cli.render import dump_json

        dump_json(result.to_dict())
    else:
        _print(result)
    if result.stop_reason == "stopped":
        return 130
    return 0 if result.answer is not None else 1


def _print(result: Any) -> None:
    from rich.table import Table

    from lens.cli.render import plain, stdout_console

    unit = "concurrency" if result.mode == "concurrency" else "req/s"
    t = Table(title=plain(f"capacity search {result.search_id} ({result.target_name})"),
              title_justify="left", header_style="bold")
    for col in (unit, "phase", "n", "attainment [95% CI]", "ok req/s", "goodput req/s",
                "TTFT p50 / p95 ms", "wait p50 ms", "verdict"):
        t.add_column(col, justify="left" if col in ("phase", "verdict") else "right")
    for r in result.results:
        t.add_row(f"{r.level:g}", r.phase, str(r.n),
                  f"{r.attainment:.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]",
                  f"{r.throughput_rps:.3g}", f"{r.goodput_rps:.3g}",
                  f"{r.ttft_p50:.0f} / {r.ttft_p95:.0f}", f"{r.wait_p50:.0f}", r.verdict)
    console = stdout_console()
    console.print(t)
    console.print(plain(result.explain()), soft_wrap=True)
    knee = result.knee
    if knee is not None:
        console.print(plain(f"knee of p95 TTFT vs {unit}: {knee:g}"))


def _save_chart(result: Any, path: str) -> None:
    from lens.analysis.charts.files import save_chart

    out = save_chart(result.chart(), path, source="--chart")
    print(f"wrote {out}", file=sys.stderr)
