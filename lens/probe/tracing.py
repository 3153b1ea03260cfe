"""aiohttp TraceConfig hooks that mark connection phases on a Measurement.

Pass the request's :class:`~lens.probe.measure.Measurement` as ``trace_request_ctx`` to
``session.request``; the hooks below mark:

- ``pool_wait_start``/``pool_wait_end``: waiting for a free connection in the client
  pool (client-side queueing, added to ``queue_ms``);
- ``dns_start``/``dns_end``: host resolution (absent for IP literals and cache hits);
- ``connect_start``/``connect_end``: a new TCP (+TLS) connection;
- ``conn_reused``: a pooled keep-alive connection was taken instead;
- ``sent``: the last of request headers / body chunks written.

Response headers (``headers``) are marked by the caller when ``session.request`` returns.
"""

from __future__ import annotations

from time import perf_counter_ns
from types import SimpleNamespace
from typing import Any

import aiohttp

from lens.probe.measure import Measurement


def _measurement(ctx: SimpleNamespace) -> Measurement | None:
    m = getattr(ctx, "trace_request_ctx", None)
    return m if isinstance(m, Measurement) else None


async def _queued_start(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("pool_wait_start", perf_counter_ns())


async def _queued_end(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("pool_wait_end", perf_counter_ns())


async def _dns_start(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("dns_start", perf_counter_ns())


async def _dns_end(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("dns_end", perf_counter_ns())


async def _create_start(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("connect_start", perf_counter_ns())


async def _create_end(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("connect_end", perf_counter_ns())
        m.conn_reused = False


async def _reuse(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.conn_reused = True


async def _sent(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
    if (m := _measurement(ctx)) is not None:
        m.mark("sent", perf_counter_ns())


def make_trace_config() -> aiohttp.TraceConfig:
    """A TraceConfig marking connection phases on the Measurement in trace_request_ctx."""
    tc = aiohttp.TraceConfig()
    tc.on_connection_queued_start.append(_queued_start)
    tc.on_connection_queued_end.append(_queued_end)
    tc.on_dns_resolvehost_start.append(_dns_start)
    tc.on_dns_resolvehost_end.append(_dns_end)
    tc.on_connection_create_start.append(_create_start)
    tc.on_connection_create_end.append(_create_end)
    tc.on_connection_reuseconn.append(_reuse)
    tc.on_request_headers_sent.append(_sent)
    tc.on_request_chunk_sent.append(_sent)
    return tc
