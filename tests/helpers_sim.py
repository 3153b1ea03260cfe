"""Helpers for the simulated-endpoint tests: request bodies per dialect and a tiny client.

The SSE split here is deliberately minimal (blank-line framing, ``event:``/``data:``
fields) so these tests do not depend on the real parser in lens/probe/sse.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

DIALECT_PATHS = {
    "openai_chat": "/chat/completions",
    "openai_responses": "/responses",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gemini-sim:streamGenerateContent?alt=sse",
    "bedrock": "/model/sim.model-v1%3A0/converse-stream",
}


def request_for(dialect: str, prompt: str = "Say hello.", max_tokens: int | None = None) -> dict[str, Any]:
    """A minimal streaming request body for ``dialect``."""
    if dialect == "openai_chat":
        body: dict[str, Any] = {"model": "gpt-sim", "stream": True, "stream_options": {"include_usage": True},
                                "messages": [{"role": "user", "content": prompt}]}
        if max_tokens is not None:
            body["max_completion_tokens"] = max_tokens
    elif dialect == "openai_responses":
        body = {"model": "gpt-sim", "stream": True, "input": prompt}
        if max_tokens is not None:
            body["max_output_tokens"] = max_tokens
    elif dialect == "anthropic":
        body = {"model": "claude-sim", "stream": True, "max_tokens": max_tokens or 1024,
                "messages": [{"role": "user", "content": prompt}]}
    elif dialect == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if max_tokens is not None:
            body["generationConfig"] = {"maxOutputTokens": max_tokens}
    elif dialect == "bedrock":
        body = {"messages": [{"role": "user", "content": [{"text": prompt}]}]}
        if max_tokens is not None:
            body["inferenceConfig"] = {"maxTokens": max_tokens}
    else:
        raise ValueError(dialect)
    return body


def url_for(sim: Any, dialect: str, profile: str | None = None) -> str:
    return sim.base_url(dialect, profile) + DIALECT_PATHS[dialect]


@dataclass
class Received:
    status: int
    headers: dict[str, str]
    raw: bytes
    frames: list[tuple[int, bytes]]  # (arrival perf_counter_ns, frame bytes)
    error: str | None = None

    @property
    def request_id(self) -> str:
        return self.headers["x-request-id"]

    def sse(self) -> list[tuple[str | None, str]]:
        """(event name, data) per SSE frame."""
        out = []
        for _, frame in self.frames:
            event = None
            data = []
            for line in frame.decode().replace("\r\n", "\n").split("\n"):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
            out.append((event, "\n".join(data)))
        return out

    def json_data(self) -> list[Any]:
        return [json.loads(d) for _, d in self.sse() if d and d != "[DONE]"]


async def fetch(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                headers: dict[str, str] | None = None, binary: bool = False) -> Received:
    """POST and read the whole response, timestamping each complete frame on arrival."""
    frames: list[tuple[int, bytes]] = []
    raw = b""
    error = None
    async with session.post(url, json=body, headers=headers or {}) as resp:
        buf = b""
        try:
            async for data in resp.content.iter_any():
                now = time.perf_counter_ns()
                raw += data
                buf += data
                if binary:
                    while len(buf) >= 4 and len(buf) >= int.from_bytes(buf[:4], "big"):
                        n = int.from_bytes(buf[:4], "big")
                        frames.append((now, buf[:n]))
                        buf = buf[n:]
                else:
                    buf = buf.replace(b"\r\n", b"\n")
                    while b"\n\n" in buf:
                        frame, buf = buf.split(b"\n\n", 1)
                        frames.append((now, frame))
        except aiohttp.ClientPayloadError as exc:
            error = f"payload: {exc}"
        return Received(resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw, frames, error)
