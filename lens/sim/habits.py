"""How a simulated server handles its connections, when it sends headers, what timing it reports.

Real inference servers differ in ways that break clients which only ever met a polite
server (see docs/sim.md for what each real server does, with sources):

- ``Conn`` -- what happens to the TCP connection after a response:

  - ``default``: aiohttp.web's behaviour (keep-alive, idle close after 75 s, no
    ``Keep-Alive`` header);
  - ``keepalive``: keep-alive with an idle close after ``idle_s`` seconds (uvicorn: 5 s),
    optionally announced as ``Keep-Alive: timeout=N[, max=M]`` (``announce``);
  - ``close``: every response says ``Connection: close`` and the server closes after it;
  - ``hangup``: after each *streamed* response the server closes the connection without
    having said ``Connection: close`` (llama.cpp's llama-server; its headers even say
    ``Keep-Alive: timeout=5, max=100``, which ``announce`` reproduces).

  ``max_requests`` (any mode but ``close``) answers the Nth request on a connection with
  ``Connection: close`` and closes it (cpp-httplib, nginx, Apache do this).

- ``HEADER_MODES`` -- when the response headers of a stream go out:

  - ``early``: ``header_ms`` after the request arrived, before waiting for a capacity slot
    (servers whose framework sends headers at once: uvicorn/Starlette, aiohttp);
  - ``slot``: ``header_ms`` after the request got a capacity slot (llama.cpp since PR
    #23884, May 2026): queueing delays the headers;
  - ``first_token``: together with the first token event (llama.cpp before that PR;
    gateways that buffer until the model produces output).

- ``SERVER_TIMINGS`` -- what the server reports about its own time:

  - ``none``;
  - ``llamacpp``: a ``timings`` object in the last chunk of an openai_chat stream (and in
    the non-streamed body), with llama.cpp's field names;
  - ``openai``: an ``openai-processing-ms`` response header.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lens.errors import ConfigError

CONN_MODES: tuple[str, ...] = ("default", "keepalive", "close", "hangup")
HEADER_MODES: tuple[str, ...] = ("early", "slot", "first_token")
SERVER_TIMINGS: tuple[str, ...] = ("none", "llamacpp", "openai")
# aiohttp.web.AppRunner's keepalive_timeout default: what "default" connections get.
AIOHTTP_IDLE_S = 75.0


@dataclass(frozen=True)
class Conn:
    """Connection habit of a simulated server (see the module docstring).

    ``idle_s`` is the keep-alive idle timeout in seconds of ``keepalive`` and ``hangup``
    (a hanging-up server still keeps non-streamed responses' connections, as llama.cpp
    does); ``default`` keeps aiohttp's 75 s. With ``announce`` the idle timeout is also the
    advertised ``timeout=`` (fractions kept, for tests). ``max_requests`` = 0: unlimited.
    """

    mode: str = "default"
    idle_s: float = 5.0
    max_requests: int = 0
    announce: bool = False

    def __post_init__(self) -> None:
        if self.mode not in CONN_MODES:
            raise ConfigError(
                f"unknown connection mode {self.mode!r}", field="conn.mode",
                hint=f"use one of {', '.join(CONN_MODES)}",
            )
        if not (self.idle_s > 0 and math.isfinite(self.idle_s)):
            raise ConfigError(f"must be a positive number of seconds, got {self.idle_s}", field="conn.idle_s")
        if self.max_requests < 0:
            raise ConfigError(f"must be >= 0 (0 = unlimited), got {self.max_requests}", field="conn.max_requests")

    @property
    def idle_timeout_s(self) -> float:
        """Seconds an idle keep-alive connection stays open on this server."""
        return AIOHTTP_IDLE_S if self.mode == "default" else self.idle_s

    def keep_alive_header(self) -> str | None:
        """The ``Keep-Alive`` header value to send on a kept-alive response, or None."""
        if not self.announce or self.mode == "close":
            return None
        value = f"timeout={self.idle_timeout_s:g}"
        return value + (f", max={self.max_requests}" if self.max_requests else "")

    @classmethod
    def parse(cls, value: Conn | str | Mapping[str, Any], *, source: str = "profile") -> Conn:
        """A Conn from itself, a mapping of its fields, or a short string.

        Strings: ``default``, ``close``, ``hangup``, ``keepalive`` (5 s, announced) or
        ``keepalive:N`` (N seconds, announced).
        """
        if isinstance(value, Conn):
            return value
        if isinstance(value, str):
            mode, _, arg = value.strip().partition(":")
            if mode == "keepalive":
                try:
                    idle = float(arg) if arg else 5.0
                except ValueError:
                    raise ConfigError(
                        f"bad keep-alive timeout {arg!r}", source=source, field="conn",
                        hint='write "keepalive:SECONDS", e.g. "keepalive:0.3"',
                    ) from None
                return cls(mode="keepalive", idle_s=idle, announce=True)
            if arg:
                raise ConfigError(f"{mode!r} takes no argument, got {value!r}", source=source, field="conn",
                                  hint='only "keepalive:SECONDS" has one')
            return cls(mode=mode)
        if not isinstance(value, Mapping):
            raise ConfigError("conn must be a string or an object", source=source, field="conn")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ConfigError(f"unknown conn field(s) {', '.join(unknown)}", source=source, field="conn",
                              hint=f"known: {', '.join(sorted(known))}")
        try:
            return cls(**dict(value))
        except TypeError as exc:
            raise ConfigError(str(exc), source=source, field="conn") from exc


def check_choice(value: str, choices: tuple[str, ...], field: str) -> None:
    """Raise a ConfigError naming ``field`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"unknown value {value!r}", field=field, hint=f"use one of {', '.join(choices)}")
