"""``lens run``, workload flags: trace replay, sessions, shared prefixes, cancellation, and
``--cache-compare`` (the same workload fired cold, then warm, and compared)."""

from __future__ import annotations

import argparse
from typing import Any

from lens.errors import ConfigError

# Spec field path -> flag, merged into lens.cli.run_spec's table so errors name the flag.
FLAG_FIELDS: dict[str, str] = {
    "load.trace.file": "--trace",
    "load.trace.format": "--trace-format",
    "load.trace.speedup": "--speedup",
    "load.trace": "--trace",
    "sessions.turns": "--turns",
    "sessions.think_s": "--think-time",
    "sessions.think": "--think",
    "sessions": "--turns",
    "prompts.shared_prefix_ratio": "--shared-prefix",
    "prompts.prefix_pool": "--prefix-pool",
    "cache": "--cache",
    "cancel.after_tokens": "--cancel-after-tokens",
    "cancel.after_ms": "--cancel-after-ms",
    "cancel.fraction": "--cancel-fraction",
    "cancel": "--cancel-after-tokens/--cancel-after-ms",
}


def add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("workloads (docs/spec.md#workloads)")
    g.add_argument("--trace", metavar="FILE",
                   help="replay a recorded trace on its own timestamps (Mooncake .jsonl, BurstGPT .csv)")
    g.add_argument("--trace-format", metavar="NAME",
                   help="trace format when the file name does not say: mooncake, burstgpt")
    g.add_argument("--speedup", type=float, metavar="X",
                   help="replay the trace X times faster (2: half the gaps)")
    g.add_argument("--turns", type=int, metavar="N",
                   help="multi-turn sessions of N turns (the load shape then counts sessions)")
    g.add_argument("--think-time", type=float, metavar="S", help="seconds between a session's turns")
    g.add_argument("--think", choices=("fixed", "exponential"), help="think time distribution")
    g.add_argument("--shared-prefix", type=float, metavar="R",
                   help="share R (0..1) of each synthetic prompt as a prefix from a pool")
    g.add_argument("--prefix-pool", type=int, metavar="N", help="distinct shared prefixes (default 1)")
    g.add_argument("--cache", choices=("default", "bust", "shared"),
                   help="provider prompt caching: bust makes every prompt miss")
    g.add_argument("--cancel-after-tokens", type=int, metavar="K",
                   help="the client abandons each stream after K tokens (status cancelled)")
    g.add_argument("--cancel-after-ms", type=float, metavar="T",
                   help="the client abandons each request after T ms (status cancelled)")
    g.add_argument("--cancel-fraction", type=float, metavar="F",
                   help="cancel only this share of requests (seeded; default 1)")
    g.add_argument("--cache-compare", action="store_true",
                   help="fire the workload cold (cache: bust), then warm, and compare TTFT")


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    cur = data.get(key)
    if not isinstance(cur, dict):
        cur = {}
        data[key] = cur
    return cur


def apply_flags(data: dict[str, Any], given: argparse.Namespace, touched: set[str]) -> None:
    """Overlay the workload flags on a spec mapping (in place), noting the fields set."""
    args = argparse.Namespace(**{k: getattr(given, k, None) for k in (
        "trace", "trace_format", "speedup", "turns", "think_time", "think", "shared_prefix",
        "prefix_pool", "cache", "cancel_after_tokens", "cancel_after_ms", "cancel_fraction",
        "requests")})  # fmt: skip
    if args.trace is None and (args.trace_format or args.speedup is not None):
        if not isinstance((data.get("load") or {}).get("trace"), dict):
            raise ConfigError("--trace-format and --speedup need a trace", source="--speedup",
                              hint="add --trace FILE (or load.trace in the spec)")
    if args.trace:
        load = _section(data, "load")
        load["kind"] = "trace"
        # A trace names its own length: only --requests caps it, not the spec's count.
        load["requests"] = args.requests
        load["trace"] = {"file": args.trace}
        touched.update(("load.trace.file", "load.kind"))
    if args.trace_format or args.speedup is not None:
        trace = _section(_section(data, "load"), "trace")
        if args.trace_format:
            trace["format"] = args.trace_format
            touched.add("load.trace.format")
        if args.speedup is not None:
            trace["speedup"] = args.speedup
            touched.add("load.trace.speedup")
    for flag, key in (("turns", "turns"), ("think_time", "think_s"), ("think", "think")):
        value = getattr(args, flag)
        if value is not None:
            _section(data, "sessions")[key] = value
            touched.add(f"sessions.{key}")
    for flag, key in (("shared_prefix", "shared_prefix_ratio"), ("prefix_pool", "prefix_pool")):
        value = getattr(args, flag)
        if value is not None:
            _section(data, "prompts")[key] = value
            touched.add(f"prompts.{key}")
    if args.cache is not None:
        data["cache"] = args.cache
        touched.add("cache")
    for flag, key in (("cancel_after_tokens", "after_tokens"), ("cancel_after_ms", "after_ms"),
                      ("cancel_fraction", "fraction")):  # fmt: skip
        value = getattr(args, flag)
        if value is not None:
            _section(data, "cancel")[key] = value
            touched.add(f"cancel.{key}")


def check_args(args: argparse.Namespace) -> None:
    if args.cache_compare and (args.repeat != 1 or args.regions is not None or args.shards):
        raise ConfigError(
            "--cache-compare fires two runs locally; it cannot be combined with "
            "--repeat, --regions or --shards", source="--cache-compare",
        )  # fmt: skip


def print_comparison(store: Any, cold_id: str, warm_id: str, *, as_json: bool) -> None:
    """The cold-vs-warm table (lens.analysis.cache.cold_warm) for two stored runs."""
    from lens.analysis.cache import cold_warm
    from lens.cli.render import dump_json, plain, stdout_console

    table = cold_warm(store.requests_frame(cold_id), store.requests_frame(warm_id))
    cols = ["target", "stat", "base", "cand", "ratio", "ratio_low", "ratio_high", "verdict",
            "hit_rate_cold", "hit_rate_warm"]  # fmt: skip
    table = table[[c for c in cols if c in table.columns]]
    if as_json:
        dump_json({"cold_run_id": cold_id, "warm_run_id": warm_id,
                   "comparison": table.to_dict(orient="records")})  # fmt: skip
        return
    from rich.table import Table

    out = Table(title=plain(f"TTFT cold ({cold_id}) vs warm ({warm_id})"), title_justify="left",
                header_style="bold")  # fmt: skip
    for name in ("target", "stat", "cold ms", "warm ms", "warm/cold [95% CI]", "verdict",
                 "cache hit cold", "cache hit warm"):  # fmt: skip
        out.add_column(name)

    def pct(v: Any) -> str:
        return "-" if v is None or v != v else f"{v:.0%}"

    for r in table.itertuples(index=False):
        out.add_row(plain(r.target), r.stat, f"{r.base:.1f}", f"{r.cand:.1f}",
                    f"{r.ratio:.3f} [{r.ratio_low:.3f}, {r.ratio_high:.3f}]", r.verdict,
                    pct(r.hit_rate_cold), pct(r.hit_rate_warm))  # fmt: skip
    stdout_console().print(out)
