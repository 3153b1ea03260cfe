"""Measure the LiteLLM proxy: start-up time and the hop it adds to TTFT, at concurrency 1 and 8.

    PYTHONPATH=.:tests python -m servers.measure_litellm [--starts 3] [--requests 32]

Start-up: spawn to the first healthy ``/health/readiness`` answer, over ``--starts`` fresh
proxies (offline switches on, no database). Hop: the same bursts (unique prompts, warm
connections) straight at the uvicorn app and through the proxy in front of it; per
request, from the app's ground truth (see servers.compare):

- request hop: lens's send to the app having read the request;
- response hop: the app's first-token write to lens's TTFT;
- total hop: lens's TTFT minus the app's own TTFT (the two hops together).

Prints one line per figure; all figures depend on the machine's load (the proxy is
CPU-bound Python), so read them as this machine's, at this moment.
"""

from __future__ import annotations

import argparse
import statistics

from lens.probe.engine import run_burst_sync
from servers.compare import describe_failures, openai_compat_spec, pair_up, quantile
from servers.gateway import start_gateway
from servers.litellm_proc import litellm_proxy
from servers.uvicorn_proc import uvicorn_openai


def _row(name: str, xs: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(xs):7.2f}  p90 {quantile(xs, 0.9):7.2f}  "
            f"max {max(xs):7.2f} ms  (n={len(xs)})")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--starts", type=int, default=3, help="fresh proxies to time the start of")
    p.add_argument("--requests", type=int, default=32, help="requests per burst")
    a = p.parse_args(argv)

    startups = []
    with uvicorn_openai(tokens=8) as up:
        for _ in range(a.starts):
            with litellm_proxy({"gw-model": up.base_url}) as gw:
                startups.append(gw.startup_s)
    print(f"{'proxy start-up (spawn to ready)':<34} " + "  ".join(f"{s:.2f}" for s in startups)
          + f" s  (median {statistics.median(startups):.2f} s)")  # fmt: skip

    with start_gateway(keepalive_timeout=None) as gw:
        for c in (1, 8):
            load = {"requests": a.requests, "concurrency": c}
            direct = openai_compat_spec(gw.upstream.base_url, load)
            proxied = openai_compat_spec(gw.proxy.base_url, load, model="gw-model",
                                         api_key_env="GW_KEY")  # fmt: skip
            for via, spec in (("direct", direct), ("proxy", proxied)):
                gw.upstream.clear()
                res = run_burst_sync(spec, api_keys=gw.api_keys)
                bad = describe_failures(res)
                if bad:
                    print(f"c={c} {via}: failures:\n{bad}")
                pairs = pair_up(res, gw.upstream.truths())
                # timed: requests on a warm connection (each worker's first one connects)
                pairs = [pr for pr in pairs if pr.record.conn_reused]
                print(_row(f"c={c} {via}: lens TTFT", [pr.record.ttft_ms or 0.0 for pr in pairs]))
                print(_row(f"c={c} {via}: request hop", [pr.request_hop_ms for pr in pairs]))
                print(_row(f"c={c} {via}: response hop", [pr.ttft_error_ms for pr in pairs]))
                print(_row(f"c={c} {via}: total hop", [pr.total_hop_ms for pr in pairs]))


if __name__ == "__main__":
    main()
