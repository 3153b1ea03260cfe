"""A leaky gateway on aiohttp.web: it echoes the caller's credential back everywhere.

Seen in the wild (and in #17's review): gateways that put ``Authorization: Bearer sk-...``
into ``x-request-id``, rate-limit headers, error bodies and mid-stream error events. The
server takes the credential from ``Authorization``, ``x-api-key``, ``x-goog-api-key`` or a
``key=`` query parameter and answers according to the first path segment:

- ``/ok/...``     a normal stream (OpenAI Chat or Gemini shape), the key in the headers;
- ``/err/...``    HTTP 401, the key in the headers and in the JSON error message;
- ``/mid/...``    HTTP 200, one token, then an error event quoting the key;
- ``/odd/...``    a normal stream whose numeric headers are NaN, inf, negative, huge
  (``/odd429/...``: the same headers on an HTTP 429);
- ``/badusage/...`` a stream whose usage holds -5, Infinity and NaN token counts;
- ``/flood/N/...`` N tiny events (``data: {}``) then ``[DONE]``, written in large batches;
- ``/big/N/...``  one token, then N bytes of SSE comments, then ``[DONE]``.

``EchoServer.url`` is the root; e.g. ``f"{srv.url}/ok/v1"`` as an OpenAI base URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

LONG = 5000  # characters of padding in one echoed header (stored values are bounded)


def credential(request: web.Request) -> str:
    """Every credential the caller sent, as it arrived, joined by spaces."""
    found = [request.headers[n] for n in ("Authorization", "x-api-key", "x-goog-api-key", "api-key")
             if request.headers.get(n)]
    if request.query.get("key"):
        found.append(request.query["key"])
    return " ".join(found)


def leaky_headers(cred: str) -> dict[str, str]:
    return {
        "x-request-id": f"req_0001 {cred}",
        "x-ratelimit-limit-requests": cred,
        "x-ratelimit-remaining-tokens": f"{cred} " + "r" * LONG,
        "anthropic-ratelimit-requests-reset": cred,
        "openai-processing-ms": cred,
        "retry-after": cred,
    }


def _chat(text: str | None = None, *, usage: bool = False, done: bool = False) -> bytes:
    if done:
        return b"data: [DONE]\n\n"
    obj: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "model": "m",
                           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    if usage:
        obj = {"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _gemini(text: str) -> bytes:
    obj = {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                           "finishReason": "STOP"}],
           "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _error_event(gemini: bool, cred: str) -> bytes:
    msg = f"upstream rejected the key {cred}"
    obj = {"error": {"code": 401, "message": msg, "status": "UNAUTHENTICATED"}} if gemini \
        else {"error": {"message": msg, "type": "invalid_request_error"}}
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


async def _handle(request: web.Request) -> web.StreamResponse:
    parts = request.path.strip("/").split("/")
    mode = parts[0]
    gemini = ":streamGenerateContent" in request.path or ":generateContent" in request.path
    cred = credential(request)
    await request.read()
    headers = leaky_headers(cred)
    if mode == "err":
        body = {"error": {"message": f"Incorrect API key provided: {cred}", "type": "invalid_request_error",
                          "code": "invalid_api_key"}}
        return web.json_response(body, status=401, headers=headers)
    if mode.startswith("odd"):
        headers = {"x-request-id": "req_odd", "openai-processing-ms": "NaN", "retry-after": "-5",
                   "retry-after-ms": "1e400", "x-ratelimit-reset-requests": "inf"}
        if mode == "odd429":
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers=headers)
    elif mode in ("flood", "big"):
        headers = {"x-request-id": f"req_{mode}"}
    resp = web.StreamResponse(status=200, headers={**headers, "content-type": "text/event-stream"})
    await resp.prepare(request)
    try:
        await _stream(resp, mode, parts, gemini, cred)
    except ConnectionError:  # the client cut the response (a cap): expected here
        pass
    return resp


async def _stream(resp: web.StreamResponse, mode: str, parts: list[str], gemini: bool, cred: str) -> None:
    if mode == "flood":
        n = int(parts[1])
        batch = b"data: {}\n\n" * 10_000
        sent = 0
        while sent < n:
            k = min(10_000, n - sent)
            await resp.write(batch if k == 10_000 else b"data: {}\n\n" * k)
            sent += k
        await resp.write(_chat(done=True))
        return
    if mode == "big":
        n = int(parts[1])
        await resp.write(_chat("hello"))
        pad = b": " + b"p" * 65_530 + b"\n"
        sent = 0
        while sent < n:
            await resp.write(pad)
            sent += len(pad)
        await resp.write(_chat(done=True))
        return
    if gemini:
        await resp.write(_gemini("hello there"))
        if mode == "mid":
            await resp.write(_error_event(True, cred))
        return
    await resp.write(_chat("hello"))
    await asyncio.sleep(0.001)
    if mode == "badusage":  # counts no server should send: negative, Infinity, NaN
        await resp.write(_chat(" there"))
        await resp.write(b'data: {"id": "c", "choices": [], "usage": {"prompt_tokens": -5, '
                         b'"completion_tokens": Infinity, "completion_tokens_details": '
                         b'{"reasoning_tokens": NaN}}}\n\n')
        await resp.write(_chat(done=True))
        return
    if mode == "mid":
        await resp.write(_error_event(False, cred))
        return
    await resp.write(_chat(" there"))
    await resp.write(_chat(usage=True))
    await resp.write(_chat(done=True))
    return


@dataclass
class EchoServer:
    url: str
    loop: asyncio.AbstractEventLoop


@contextlib.contextmanager
def echo_server() -> Iterator[EchoServer]:
    """Run the leaky gateway on 127.0.0.1 in a thread with its own loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", _handle)
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield EchoServer(f"http://127.0.0.1:{port}", loop)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
