"""A tiny OpenAI-compatible streaming server as a plain ASGI app, with ground truth.

Run by :mod:`servers.uvicorn_proc` as ``python openai_asgi.py --http h11 ...`` (it needs
only the standard library and uvicorn, so it can run under any interpreter that has
uvicorn). Routes:

- ``POST /v1/chat/completions``: with ``stream: true`` an SSE stream of
  ``chat.completion.chunk`` objects: the first token ``ttft_ms`` after the request body
  was read, then one token every ``itl_ms``, a ``finish_reason`` chunk, a usage chunk when
  ``stream_options.include_usage`` is set, and ``data: [DONE]``. Without ``stream`` the
  same answer as one JSON body (after the same total time).
- ``GET /v1/models``, ``GET /health``: what gateways and readiness checks ask for.
- ``GET /_truth``: every recorded request; ``POST /_truth/clear`` forgets them.

Timing is planned on absolute deadlines from the moment the body was read, so one late
wake-up does not shift the tokens after it. Ground truth per request (keyed by the
client's ``x-request-id`` header, or a generated id; the id is returned in
``x-request-id``): ``time.perf_counter_ns()`` when the body was read, when the response
head was sent, and immediately before and after each chunk was handed to uvicorn.
perf_counter is CLOCK_MONOTONIC on Linux: one system-wide clock, so these times compare
with a client's perf_counter_ns in another process on the same host.

Also recorded: the client's address (``peer``: a new port means a new TCP connection)
and the sha256 prefix of the last user message (``prompt_hash``, as lens computes it),
which identifies a request that reached us through a gateway that drops our id.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Timing:
    """What every stream does: first token after ``ttft_ms``, then one per ``itl_ms``."""

    ttft_ms: float = 50.0
    itl_ms: float = 10.0
    tokens: int = 16  # answer length unless the request's max_tokens is smaller


def prompt_hash(text: str) -> str:
    """sha256 of the text, first 16 hex digits (the same digest lens records)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class OpenAIStreamApp:
    """The ASGI app. ``truth`` maps request id to what happened, in arrival order."""

    def __init__(self, timing: Timing | None = None, model: str = "upstream-model") -> None:
        self.timing = timing or Timing()
        self.model = model
        self.truth: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path in (CHAT_PATH, "/chat/completions"):
            await self._chat(scope, receive, send)
        elif method == "GET" and path == "/_truth":
            await _json(send, 200, {"requests": list(self.truth.values())})
        elif method == "POST" and path == "/_truth/clear":
            self.truth.clear()
            await _json(send, 200, {"cleared": True})
        elif method == "GET" and path in ("/health", "/v1/models"):
            await _json(send, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]})
        else:
            await _json(send, 404, {"error": {"message": f"no route {method} {path}", "type": "not_found"}})

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        received_ns = time.perf_counter_ns()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            req = json.loads(body)
            messages = req["messages"]
        except (ValueError, KeyError, TypeError):
            await _json(send, 400, {"error": {"message": "body must be JSON with messages", "type": "invalid_request_error"}})
            return
        rid = headers.get("x-request-id") or f"up-{next(self._ids)}"
        user = [m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last = user[-1] if user and isinstance(user[-1], str) else ""
        n = self.timing.tokens
        cap = req.get("max_tokens") or req.get("max_completion_tokens")
        if isinstance(cap, int) and cap > 0:
            n = min(n, cap)
        stream = bool(req.get("stream"))
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        client = scope.get("client")
        truth: dict[str, Any] = {
            "request_id": rid,
            "received_ns": received_ns,
            "headers_ns": None,
            "finished_ns": None,
            "peer": f"{client[0]}:{client[1]}" if client else None,
            "prompt_hash": prompt_hash(last),
            "model": req.get("model"),
            "stream": stream,
            "include_usage": include_usage,
            "tokens": n,
            "chunks": [],
            "disconnected": False,
        }
        self.truth[rid] = truth
        usage = {"prompt_tokens": len(last.split()), "completion_tokens": n,
                 "total_tokens": len(last.split()) + n}  # fmt: skip
        t = self.timing
        due = [received_ns + int((t.ttft_ms + i * t.itl_ms) * 1e6) for i in range(n)]
        if not stream:
            await _sleep_until(due[-1] if due else received_ns)
            text = "".join(_token(i) for i in range(n))
            await _json(send, 200, _completion(rid, self.model, text, usage), {"x-request-id": rid})
            truth["finished_ns"] = time.perf_counter_ns()
            return
        await send({
            "type": "http.response.start", "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
                        (b"x-request-id", rid.encode())],
        })  # fmt: skip
        truth["headers_ns"] = time.perf_counter_ns()
        chunks: list[tuple[str, str, dict[str, Any] | str]] = []
        for i in range(n):
            delta: dict[str, Any] = {"content": _token(i)}
            if i == 0:
                delta = {"role": "assistant", **delta}
            chunks.append(("text", delta["content"], _chunk(rid, self.model, delta, None)))
        chunks.append(("finish", "", _chunk(rid, self.model, {}, "stop")))
        if include_usage:
            chunks.append(("usage", "", {**_chunk(rid, self.model, None, None), "usage": usage}))
        chunks.append(("done", "", "[DONE]"))
        # uvicorn's send() silently drops writes once the client has gone; its receive()
        # answers http.disconnect at that moment, so a pending receive() tells us.
        gone = asyncio.ensure_future(receive())
        try:
            for k, (kind, text, obj) in enumerate(chunks):
                if k < len(due):
                    await _sleep_until(due[k])
                if gone.done():
                    truth["disconnected"] = True
                    break
                data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
                start = time.perf_counter_ns()
                rec = {"kind": kind, "text": text, "write_start_ns": start, "write_end_ns": start}
                truth["chunks"].append(rec)  # before the write: a client that has it finds it
                await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(),
                            "more_body": True})  # fmt: skip
                rec["write_end_ns"] = time.perf_counter_ns()
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()
            truth["finished_ns"] = time.perf_counter_ns()


def _token(i: int) -> str:
    return f"t{i} "


def _chunk(rid: str, model: str, delta: dict[str, Any] | None, finish: str | None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": f"chatcmpl-{rid}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": choices}  # fmt: skip


def _completion(rid: str, model: str, text: str, usage: dict[str, int]) -> dict[str, Any]:
    return {"id": f"chatcmpl-{rid}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "usage": usage,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}]}  # fmt: skip


async def _sleep_until(due_ns: int) -> None:
    delay = (due_ns - time.perf_counter_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


async def _json(send: Send, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(obj).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *extra]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def main(argv: list[str] | None = None) -> None:
    """Serve on 127.0.0.1 with uvicorn; print ``PORT <n>`` once the socket listens."""
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port, printed on stdout")
    p.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    p.add_argument("--timeout-keep-alive", type=float, default=None,
                   help="seconds; default: uvicorn's own default (5)")  # fmt: skip
    p.add_argument("--ttft-ms", type=float, default=Timing.ttft_ms)
    p.add_argument("--itl-ms", type=float, default=Timing.itl_ms)
    p.add_argument("--tokens", type=int, default=Timing.tokens)
    p.add_argument("--model", default="upstream-model")
    a = p.parse_args(argv)
    app = OpenAIStreamApp(Timing(a.ttft_ms, a.itl_ms, a.tokens), model=a.model)
    kw: dict[str, Any] = {}
    if a.timeout_keep_alive is not None:  # only when asked: otherwise uvicorn's default holds
        kw["timeout_keep_alive"] = a.timeout_keep_alive
    config = uvicorn.Config(app, http=a.http, lifespan="on", log_level="warning",
                            access_log=False, **kw)  # fmt: skip
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((a.host, a.port))
    sock.listen(2048)  # connections queue in the backlog until uvicorn starts accepting
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
