"""Start the LiteLLM proxy in front of the uvicorn app, stream once, report as JSON.

Meant to run inside a network namespace that has only loopback
(``unshare -rn sh -c 'ip link set lo up && python -m servers.offline_check'``): any
attempt to reach another host fails there. On top of that every download URL LiteLLM
reads from the environment points at a local trap that records each hit, so a fetch that
LiteLLM would swallow (it falls back to bundled copies with a warning) still shows.
Prints ``{"streamed": bool, "trap_hits": [...], "startup_s": float, "log": str}``.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from servers.litellm_proc import litellm_proxy
from servers.uvicorn_proc import uvicorn_openai

# LiteLLM's download URLs that can be overridden by environment variable (1.108).
URL_ENV = ("LITELLM_MODEL_COST_MAP_URL", "LITELLM_ANTHROPIC_BETA_HEADERS_URL",
           "LITELLM_AUTOROUTER_PRESETS_URL", "LITELLM_BLOG_POSTS_URL")  # fmt: skip


def _trap() -> tuple[ThreadingHTTPServer, list[str]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def main() -> None:
    trap, hits = _trap()
    for name in URL_ENV:
        os.environ[name] = f"http://127.0.0.1:{trap.server_address[1]}/{name}"
    out: dict[str, Any] = {}
    with uvicorn_openai(tokens=4) as up, litellm_proxy({"gw-model": up.base_url}) as gw:
        body = gw.warm_up("gw-model")
        out["streamed"] = body.rstrip().endswith(b"data: [DONE]") and b"t3 " in body
        out["startup_s"] = gw.startup_s
        out["log"] = gw.log()
    trap.shutdown()
    out["trap_hits"] = hits
    print(json.dumps(out))


if __name__ == "__main__":
    main()
