"""The LiteLLM proxy in front of two upstreams we can read the truth of, as one unit.

    with start_gateway() as gw:
        gw.proxy.base_url        # the proxy: model "gw-model" -> the uvicorn app,
                                 #            model "sim-model" -> lens's simulator
        gw.upstream.truths()     # the uvicorn app's ground truth
        gw.sim.truths()          # the simulator's

Used by the session fixture ``gateway`` (tests/servers/conftest.py) and by
``python -m servers.measure_litellm``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from lens.sim import start_sim_in_thread
from lens.sim.thread import SimThread
from servers.litellm_proc import LiteLLMProxy, litellm_proxy
from servers.uvicorn_proc import UvicornServer, uvicorn_openai

# The proxy's keep-alive (whole seconds: LiteLLM's --keepalive_timeout is an int). Short,
# so a burst with idle gaps longer than it stays within a few seconds.
GATEWAY_KEEP_ALIVE_S = 1
# The simulator profile behind the gateway: exact timing, no jitter.
SIM_PROFILE = {"header_ms": 1, "ttft_ms": 30, "itl_ms": 5, "output_tokens": 8}


@dataclass
class Gateway:
    """The running proxy and what stands behind it."""

    proxy: LiteLLMProxy
    upstream: UvicornServer
    sim: SimThread

    @property
    def api_keys(self) -> dict[str, str]:
        """For ``run_burst_sync(api_keys=...)`` with ``api_key_env="GW_KEY"``."""
        return {"GW_KEY": self.proxy.master_key}


@contextlib.contextmanager
def start_gateway(
    keepalive_timeout: int | None = GATEWAY_KEEP_ALIVE_S, tokens: int = 8
) -> Iterator[Gateway]:
    """Start the uvicorn app, the simulator and the proxy; warm each model up once."""
    with contextlib.ExitStack() as stack:
        # The proxy's own upstream pool is not under test: a long upstream keep-alive keeps
        # its idle-connection races (uvicorn's default is 5 s) out of lens's results.
        upstream = stack.enter_context(uvicorn_openai(timeout_keep_alive=75, tokens=tokens))
        sim = stack.enter_context(start_sim_in_thread({"q": SIM_PROFILE}))
        proxy = stack.enter_context(
            litellm_proxy(
                {"gw-model": upstream.base_url, "sim-model": sim.base_url("openai_compat", "q")},
                keepalive_timeout=keepalive_timeout,
            )
        )
        for model in proxy.models:
            proxy.warm_up(model)
        yield Gateway(proxy, upstream, sim)
