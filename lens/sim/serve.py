"""Serve the simulated endpoint from a command line (``lens sim`` and ``python -m lens.sim``)
until Ctrl-C (SIGINT) or SIGTERM: flags, TLS set-up, the event loop, the banner."""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
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
    parser.add_argument(
        "--tls", action="store_true",
        help="serve HTTPS; without --cert/--key with a certificate from a throwaway test CA "
        "(needs the trustme package), whose CA file is printed for clients to trust",
    )
    parser.add_argument("--cert", metavar="PATH", help="PEM certificate (chain) to serve HTTPS with (implies --tls)")
    parser.add_argument("--key", metavar="PATH", help="PEM private key of --cert")
    parser.add_argument("--ca-out", metavar="PATH", help="where to write the test CA certificate (default: a temp file)")


def run(args: argparse.Namespace) -> int:
    """Serve with the flags of :func:`add_arguments` until stopped; 0 when stopped cleanly."""
    from lens.sim.profiles import PRESETS, parse_profile_arg

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port {args.port} out of range", source="--port", hint="use 0..65535 (0 = any free port)")
    profiles = dict(parse_profile_arg(p) for p in args.profile)
    ctx, notes, cleanup = _tls(args)
    try:
        _run_loop(args, _serve(args.host, args.port, args.seed, args.max_truths, profiles,
                               sorted(set(PRESETS) | set(profiles)), ctx, notes))
    finally:
        cleanup()
    return 0


def _tls(args: argparse.Namespace) -> tuple[ssl.SSLContext | None, list[str], Any]:
    """The server SSLContext from the TLS flags, lines to print, and a cleanup function."""
    cert, key = getattr(args, "cert", None), getattr(args, "key", None)
    if (cert is None) != (key is None):
        given, missing = ("--cert", "--key") if key is None else ("--key", "--cert")
        raise ConfigError(f"{given} needs {missing}", source=given,
                          hint="give both PEM files, or neither (with --tls) for a test certificate")
    if cert is not None and key is not None:
        from lens.sim.tls import server_context

        return server_context(cert, key), [f"  TLS certificate {cert}"], lambda: None
    if not getattr(args, "tls", False):
        if getattr(args, "ca_out", None):
            raise ConfigError("--ca-out needs --tls", source="--ca-out", hint="add --tls")
        return None, [], lambda: None
    from lens.sim.tls import TestCA

    hosts = ["127.0.0.1", "localhost", "::1"]
    if args.host not in ("0.0.0.0", "::", ""):
        hosts.append(args.host)
    ca = TestCA(hosts, ca_file=args.ca_out)
    notes = [f"  TLS test CA {ca.ca_path} (certificate for {', '.join(ca.hosts)})",
             f"  trust it: SSL_CERT_FILE={ca.ca_path}  or  curl --cacert {ca.ca_path}"]
    return ca.server_context(), notes, ca.cleanup


def _run_loop(args: argparse.Namespace, coro: Any) -> None:
    loop = getattr(args, "loop", "asyncio")
    uvloop: Any = None
    if loop in ("auto", "uvloop"):
        try:
            import uvloop as _uvloop

            uvloop = _uvloop
        except ImportError:
            if loop == "uvloop":
                coro.close()
                raise ConfigError("uvloop is not installed", source="--loop", hint="pip install uvloop") from None
    if uvloop is not None:
        uvloop.run(coro)
    else:
        asyncio.run(coro)


async def _serve(host: str, port: int, seed: int, max_truths: int, profiles: dict[str, Any], names: list[str],
                 ssl_context: ssl.SSLContext | None = None, notes: list[str] | None = None) -> None:
    from lens.sim.server import SimServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        sim = SimServer(profiles, host=host, port=port, seed=seed, max_truths=max_truths, ssl_context=ssl_context)
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
        for line in notes or []:
            print(line, flush=True)
        print(f"  ground truth: {sim.url}/_sim/truth/{{x-request-id}}   Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        await sim.stop()
        print("lens sim stopped", file=sys.stderr, flush=True)
