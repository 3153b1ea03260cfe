"""What every timed call of an instrumented client shares (a :class:`Call` is one call).

:class:`Profiler` holds what every call of an instrumented client shares (sink, sampler,
labels, in-flight count). ``Profiler.begin`` returns a :class:`Call` for an LLM request
lens should time (None otherwise). The HTTP wrappers then report what happened:
``phase`` (connection phases), ``on_headers``, ``on_bytes`` for every chunk the
application consumes, and one of ``on_end`` / ``on_error`` / ``on_close``. The Call feeds
the dialect's framer and a :class:`lens.probe.measure.Measurement` -- exactly what the
burst engine does -- and hands the finished record to the sink.

Every method is exception-safe: a failure inside lens disables timing for that call,
is counted in ``Profiler.internal_errors`` (logged once), and never reaches the app.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from lens.embed.call import Call
from lens.embed.sampling import Sampler
from lens.embed.sink import EmbedSink
from lens.embed.wire import detect_dialect, request_info
from lens.redact.secrets import secret_values
from lens.spec import Caps

log = logging.getLogger(__name__)

__all__ = ["Call", "Profiler"]

_QUERY_KEYS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})
# Request ids: a random per-process prefix + a counter (uuid4 per call costs a getrandom()
# syscall, ~100+ us on some VMs); 32 hex digits like uuid4().hex, unique across processes.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


class Profiler:
    """Shared state of one instrumented client (or transport)."""

    def __init__(
        self,
        sink: EmbedSink,
        *,
        sample: Sampler | float | None = None,
        provider: str | None = None,
        scenario: str = "embedded",
        region: str = "local",
        target: str | None = None,
        caps: Caps | None = None,
    ) -> None:
        self.sink = sink
        # What one response may cost lens (not the app): past a cap lens stops timing it.
        self.caps = caps or Caps()
        self.sampler = Sampler.coerce(sample)
        self.provider = provider
        self.scenario = scenario
        self.region = region
        self.target = target
        self.inflight = 0
        self.internal_errors = 0
        self.sampled_out = 0
        self._logged = False

    @property
    def dropped(self) -> int:
        """Records dropped because the sink's queue was full."""
        return self.sink.dropped

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until queued records are delivered (not for the request path)."""
        return self.sink.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Deliver queued records and stop the sink's thread (at application shutdown)."""
        self.sink.close(timeout)

    def internal_error(self, where: str, exc: BaseException) -> None:
        """Count (and log once) a failure inside lens; the app's call continues untimed."""
        self.internal_errors += 1
        if not self._logged:
            self._logged = True
            log.warning("lens embed: %s failed (%s: %s); that call is not timed, the app is "
                        "unaffected; later failures are only counted", where, type(exc).__name__, exc)  # fmt: skip

    def begin(
        self, method: str, url: str, body: bytes | None, t_ns: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Call | None:
        """A Call for an LLM request lens times (None: not one, sampled out, or lens failed).

        ``headers`` are the request's: their credential values (and key query parameters of
        ``url``) are scrubbed from everything the record keeps, and an SDK's
        ``x-stainless-retry-count`` makes the record say which attempt this was.
        """
        try:
            if method.upper() != "POST":
                return None
            parts = urlsplit(url)
            dialect = detect_dialect(parts.path)
            if dialect is None:
                return None
            request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"
            model, prompt = request_info(parts.path, body or b"")
            if not self.sampler.keep(request_id, dialect=dialect, path=parts.path, model=model):
                self.sampled_out += 1
                return None
            call = Call(self, dialect, parts, request_id, model, prompt, t_ns)
            call.secrets = _request_secrets(parts, headers)
            call.m.secrets = call.secrets
            call.m.record.attempt = _attempt(headers)
            return call
        except Exception as exc:
            self.internal_error("starting a record", exc)
            return None


def _request_secrets(parts: Any, headers: Mapping[str, str] | None) -> tuple[str, ...]:
    """Credential values of a request: secret headers and key-like query parameters."""
    from urllib.parse import parse_qsl

    query = [v for k, v in parse_qsl(parts.query or "") if k.lower() in _QUERY_KEYS]
    return secret_values(headers or {}, extra=query)


def _attempt(headers: Mapping[str, str] | None) -> int | None:
    """1 for a first attempt; 2+ for an SDK's retry (OpenAI/Anthropic SDKs say so)."""
    if headers is None:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    raw = lower.get("x-stainless-retry-count")
    try:
        return int(raw) + 1 if raw is not None else 1
    except ValueError:
        return None
