"""The engine's per-target state, and the hooks a burst reports through.

Every target of a spec is resolved once, before the first request (:func:`resolve_targets`):
its API key and secret headers from the environment, its dialect, and one preflight
request build, so a missing key or unusable credentials fail the burst up front instead of
becoming N identical failed records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lens.probe.dialects import get_dialect
from lens.probe.outcome import endpoint_host
from lens.probe.preflight import check_wire
from lens.record import RequestRecord
from lens.redact.secrets import secret_values
from lens.spec import BurstSpec, TargetSpec

if TYPE_CHECKING:
    from lens.probe.dialects.base import Dialect
    from lens.probe.http import HttpClient

__all__ = ["BurstTarget", "ProgressEvent", "RateLimiter", "resolve_targets"]


class RateLimiter(Protocol):
    """Client-side limiter hook (lens.probe.ratelimit implements it).

    ``acquire`` is awaited before each send and returns the seconds it waited (that wait is
    inside the record's ``queue_ms``); ``observe`` sees every finished record.
    """

    async def acquire(self, target_label: str, est_tokens: int) -> float: ...

    def observe(self, record: RequestRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Passed to ``on_progress`` after each finished request of a target."""

    target: str
    done: int
    total: int | None  # None when only a duration bounds the burst
    errors: int
    last_status: str


@dataclass(slots=True)
class BurstTarget:
    """One target of a running burst: resolved credentials, dialect, client, counters."""

    spec: TargetSpec
    label: str
    dialect: Dialect
    api_key: str | None
    secrets: tuple[str, ...]
    host: str
    secret_headers: dict[str, str] = field(default_factory=dict)
    client: HttpClient | None = None
    sem: asyncio.Semaphore | None = None
    planned: int | None = 0
    started: int = 0
    done: int = 0
    errors: int = 0
    est_tokens: dict[str, int] = field(default_factory=dict)


def _proxy_secrets(url: str) -> tuple[str, ...]:
    """The Proxy-Authorization the client will send for ``url`` (from ``*_PROXY``), and its
    base64 credential: a proxy or server echoing it must not get it stored."""
    from urllib.parse import urlsplit

    from lens.probe.http.errors import ProxyError
    from lens.probe.http.proxy import proxy_from_env

    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        proxy = proxy_from_env(parts.scheme, parts.hostname or "", port)
    except (ProxyError, ValueError):
        return ()  # the client says what is wrong with it, when it connects
    auth = proxy.authorization if proxy is not None else None
    return (auth, auth.split(None, 1)[1]) if auth else ()


def resolve_targets(
    spec: BurstSpec, env: Mapping[str, str], dialects: Callable[..., Dialect] = get_dialect
) -> list[BurstTarget]:
    """Every target's key, secret headers and dialect (``dialects(name, **kw)`` makes
    one); raises before any request is sent."""
    out: list[BurstTarget] = []
    for t in spec.targets:
        key = t.resolve_api_key(env)
        secret_headers = t.resolve_secret_headers(env)
        kw: dict[str, Any] = (
            {"region": t.aws_region} if t.resolved_dialect == "bedrock" and t.aws_region else {}
        )
        dialect = dialects(t.resolved_dialect, **kw)
        # Build one request now so signing/credential problems (Bedrock) surface as an
        # error before the burst, not as N identical failures inside it.
        pre = dialect.build_request(
            t, "preflight", max_tokens=spec.max_tokens, temperature=spec.temperature, api_key=key
        )
        check_wire(t, pre, secret_headers)  # a key with a line break, an unusable proxy
        out.append(
            BurstTarget(
                spec=t,
                label=t.label,
                dialect=dialect,
                api_key=key,
                secrets=secret_values(extra=(key, *secret_headers.values(), *_proxy_secrets(t.resolved_base_url))),
                host=endpoint_host(t.resolved_base_url),
                secret_headers=secret_headers,
            )
        )
    return out
