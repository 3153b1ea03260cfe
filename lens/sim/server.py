"""The simulated LLM endpoint: an aiohttp.web server speaking every provider's wire format.

Routes (also under ``/p/{profile}/...`` to pick a latency profile; the root uses the
profile named "default"):

  POST /v1/chat/completions                          openai_chat / openai_compat
  POST /v1/responses                                 openai_responses
  POST /v1/messages                                  anthropic
  POST /v1beta/models/{model}:streamGenerateContent  gemini (SSE; ?alt=sse)
  POST /v1beta/models/{model}:generateContent        gemini, non-streaming
  POST /v1/models/{model}:(stream)GenerateContent    gemini (google-genai with a base_url)
  POST /model/{modelId}/converse-stream              bedrock (AWS event-stream)
  POST /model/{modelId}/converse                     bedrock, non-streaming
  GET  /_sim/health, /_sim/truth, /_sim/truth/{id}, /_sim/profiles

Per request: parse the body (max tokens, prompt text), draw a fault, build an absolute
plan (lens.sim.latency), send headers after ``header_ms`` (or once a capacity slot is
held, or with the first token: ``Profile.headers``), wait for a capacity slot, then write
each event at ``t0 + offset`` with one write, recording write times as ground truth.
``x-sim-fault: <kind>`` forces a fault (``none`` forces none); ``x-sim-fault-after: N``
places a mid-stream fault before token event N. The profile's connection habit
(lens.sim.conn) and server-reported timing (lens.sim.reported) apply to every response.
Given an ``ssl_context`` the server speaks HTTPS; write times are then when the bytes
were handed to the TLS transport (which encrypts and sends them in the same call).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from lens.sim.conn import ConnTracker
from lens.sim.habits import AIOHTTP_IDLE_S
from lens.sim.latency import (
    PrefixCache,
)
from lens.sim.profiles import PRESETS, Profile, coerce_profile
from lens.sim.serving import Serving
from lens.sim.truth import SimTruth, TruthStore

_now = time.perf_counter_ns

# (path, dialect, stream) ; stream None = from the request body
ROUTES: tuple[tuple[str, str, bool | None], ...] = (
    ("/v1/chat/completions", "openai_chat", None),
    ("/v1/responses", "openai_responses", None),
    ("/v1/messages", "anthropic", None),
    ("/v1beta/models/{model:[^/:]+}:streamGenerateContent", "gemini", True),
    ("/v1beta/models/{model:[^/:]+}:generateContent", "gemini", False),
    # google-genai uses api version v1 when given a custom base_url.
    ("/v1/models/{model:[^/:]+}:streamGenerateContent", "gemini", True),
    ("/v1/models/{model:[^/:]+}:generateContent", "gemini", False),
    ("/model/{model}/converse-stream", "bedrock", True),
    ("/model/{model}/converse", "bedrock", False),
)


def base_url_for(url: str, dialect: str, profile: str | None = None) -> str:
    """The TargetSpec base_url for ``dialect`` on a sim at ``url`` (SDK conventions)."""
    prefix = url.rstrip("/") + (f"/p/{profile}" if profile else "")
    if dialect in ("openai_chat", "openai_compat", "openai_responses"):
        return prefix + "/v1"
    if dialect in ("anthropic", "gemini", "bedrock"):
        return prefix
    raise ValueError(f"unknown dialect {dialect!r}")


async def _sleep_until(target_ns: int) -> None:
    delay = target_ns - _now()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


class SimServer(Serving):
    """The simulated endpoint. Use as ``async with SimServer(...) as sim: sim.url``.

    ``profiles`` maps profile names to a Profile, a preset name, or a dict (see
    Profile.from_dict). ``/p/{name}/`` resolves a name from ``profiles``, then from the
    presets. The root routes use ``profiles["default"]`` (else the "default" preset).
    ``seed`` makes latency draws and faults reproducible (seed + per-request counter).
    ``ssl_context`` (a server SSLContext, e.g. from lens.sim.tls) serves HTTPS.
    """

    def __init__(
        self,
        profiles: Mapping[str, Profile | str | Mapping[str, Any]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        max_truths: int = 100_000,
        shutdown_timeout: float = 2.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.profiles: dict[str, Profile] = {
            name: coerce_profile(p, source=f"profile {name!r}") for name, p in (profiles or {}).items()
        }
        self.host = host
        self.seed = seed
        self._port = port
        self._shutdown_timeout = shutdown_timeout
        self._truths = TruthStore(max_truths)
        self._counter = itertools.count(1)
        self._token = os.urandom(3).hex()
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._caches: dict[str, PrefixCache] = {}
        self._runner: web.AppRunner | None = None
        self._created = int(time.time())
        self.ssl_context = ssl_context
        # aiohttp's own idle timer must not close a connection before a profile's longer
        # keep-alive does; shorter ones are timers of ConnTracker's.
        idle = [p.conn.idle_timeout_s for p in (*self.profiles.values(), *PRESETS.values())]
        self.conns = ConnTracker(max([AIOHTTP_IDLE_S, *idle]))
        self.active = 0
        self.queued = 0
        self.served = 0

    # ---- lifecycle -------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("", "/p/{profile}"):
            for path, dialect, stream in ROUTES:
                app.router.add_post(prefix + path, self._route(dialect, stream))
        app.router.add_get("/_sim/health", self._health)
        app.router.add_get("/_sim/profiles", self._profiles)
        app.router.add_get("/_sim/truth", self._truth_all)
        app.router.add_get("/_sim/truth/{id}", self._truth_one)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=self._shutdown_timeout,
            keepalive_timeout=self.conns.runner_idle_s,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port, backlog=4096, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self._port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- addresses and truth -----------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self._port}"

    def base_url(self, dialect: str, profile: str | None = None) -> str:
        """base_url for a TargetSpec of ``dialect`` (``profile`` selects /p/{profile})."""
        return base_url_for(self.url, dialect, profile)

    def truth(self, request_id: str) -> SimTruth:
        """Ground truth of one request (KeyError if unknown or evicted)."""
        return self._truths.get(request_id)

    def truths(self) -> list[SimTruth]:
        """All kept truths, oldest first."""
        return self._truths.all()

    def clear_truths(self) -> None:
        self._truths.clear()

    def clear_caches(self) -> None:
        """Forget every prompt prefix seen (profiles with ``cache_prefix``): a cold cache."""
        self._caches.clear()

    def profile(self, name: str) -> Profile | None:
        if name in self.profiles:
            return self.profiles[name]
        return PRESETS.get(name)

    # ---- HTTP handlers -----------------------------------------------------------------
    def _route(self, dialect: str, stream: bool | None) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, dialect, stream)

        return handler

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "ok": True, "requests": len(self._truths), "served": self.served, "active": self.active,
            "queued": self.queued, "profiles": sorted(set(self.profiles) | set(PRESETS)), "seed": self.seed,
            "tls": self.ssl_context is not None, "idle_closed": self.conns.idle_closed, "hung_up": self.conns.hung_up,
        })

    async def _profiles(self, request: web.Request) -> web.Response:
        names = sorted(set(self.profiles) | set(PRESETS))
        return web.json_response({n: p.to_dict() for n in names if (p := self.profile(n)) is not None})

    async def _truth_one(self, request: web.Request) -> web.Response:
        try:
            truth = self._truths.get(request.match_info["id"])
        except KeyError as exc:
            return web.json_response({"error": str(exc.args[0])}, status=404)
        return web.json_response(truth.to_dict())

    async def _truth_all(self, request: web.Request) -> web.Response:
        items = self._truths.all()
        limit = request.query.get("limit")
        if limit and limit.isdigit():
            items = items[-int(limit) :] if int(limit) else []
        return web.json_response({"truths": [t.to_dict() for t in items]})
