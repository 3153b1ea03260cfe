"""``lens sim``: serve the simulated LLM endpoint until Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from lens.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free port, printed)")
    parser.add_argument(
        "--profile", action="append", default=[], metavar="NAME=SPEC",
        help="serve a profile under /p/NAME/: SPEC is a preset name or JSON, e.g. "
        'slow2={"preset":"slow","ttft_ms":800}; NAME "default" sets the root profile',
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for latency draws and faults")
    parser.add_argument("--max-truths", type=int, default=100_000, help="ground-truth records kept")
    parser.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
        help="event loop: uvloop cuts the sim's CPU per event (auto = uvloop when installed)",
    )
    parser.set_defaults(func=run)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim", help="serve the simulated LLM endpoint",
        description="Serve a simulated LLM API (OpenAI, Anthropic, Gemini, Bedrock wire formats) "
        "with latency profiles, fault injection and ground-truth timings at /_sim/truth.",
    )
    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lens.sim.profiles import PRESETS, parse_profile_arg

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port {args.port} out of range", source="--port", hint="use 0..65535 (0 = any free port)")
    profiles = dict(parse_profile_arg(p) for p in args.profile)
    coro = _serve(args.host, args.port, args.seed, args.max_truths, profiles, sorted(set(PRESETS) | set(profiles)))
    loop = getattr(args, "loop", "asyncio")
    uvloop = None
    if loop in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                coro.close()
                raise ConfigError("uvloop is not installed", source="--loop", hint="pip install uvloop") from None
    if uvloop is not None:
        uvloop.run(coro)
    else:
        asyncio.run(coro)
    return 0


async def _serve(host: str, port: int, seed: int, max_truths: int, profiles: dict[str, Any], names: list[str]) -> None:
    from lens.sim.server import SimServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        sim = SimServer(profiles, host=host, port=port, seed=seed, max_truths=max_truths)
    except OSError as exc:
        raise ConfigError(f"cannot bind {host}:{port}: {exc}", source="--port") from exc
    try:
        await sim.start()
    except OSError as exc:
        raise ConfigError(f"cannot bind {host}:{port}: {exc}", source="--port", hint="pick a free port or 0") from exc
    try:
        loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(f"lens sim serving on {sim.url} (seed {seed}, loop {loop_name})", flush=True)
        for dialect in ("openai_chat", "openai_responses", "anthropic", "gemini", "bedrock"):
            print(f"  {dialect:17} base_url {sim.base_url(dialect)}", flush=True)
        print(f"  profiles under {sim.url}/p/NAME/...: {', '.join(names)}", flush=True)
        print(f"  ground truth: {sim.url}/_sim/truth/{{x-request-id}}   Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        print("lens sim stopped", file=sys.stderr, flush=True)
