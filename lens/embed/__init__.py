"""Embedded profiling: time a service's own production LLM calls the way a burst does.

One line opts a client in::

    import lens.embed
    client = openai.OpenAI()
    prof = lens.embed.instrument(client, store="postgresql://lens@db/lens", sample=0.1)

``instrument`` accepts ``openai.OpenAI``/``AsyncOpenAI``, ``anthropic.Anthropic``/
``AsyncAnthropic``, ``google.genai.Client`` (its httpx clients), a bare ``httpx.Client``/
``AsyncClient``, or an ``aiohttp.ClientSession``. It wraps the client's httpx transport
in place (:class:`LensTransport`), so the application reads streams exactly as before.
Alternatively pass the transport yourself::

    sink = lens.embed.EmbedSink(store="lens.db")
    client = openai.OpenAI(http_client=httpx.Client(transport=lens.embed.LensTransport(sink=sink)))

Records go through a bounded queue to a background thread (:class:`EmbedSink`): when it
is full they are dropped and counted, never blocking the app; no prompt or response text
is stored unless ``keep_text=True`` (then redacted). See docs/embed.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lens.embed.core import Call, Profiler
from lens.embed.sampling import Sampler, SampleRule
from lens.embed.sink import EmbedSink, TextSample
from lens.record import RecordSink, RequestRecord
from lens.spec import Caps

__all__ = [
    "AsyncLensTransport",
    "Call",
    "EmbedSink",
    "LensTransport",
    "Profiler",
    "SampleRule",
    "Sampler",
    "TextSample",
    "instrument",
    "instrument_aiohttp",
]


def __getattr__(name: str) -> Any:
    # httpx / aiohttp are imported only when their wrapper is used.
    if name in ("LensTransport", "AsyncLensTransport"):
        from lens.embed import httpx_transport

        return getattr(httpx_transport, name)
    if name == "instrument_aiohttp":
        from lens.embed.aiohttp_wrapper import instrument_session

        return instrument_session
    raise AttributeError(name)


def _wrap_httpx_client(client: Any, prof: Profiler) -> int:
    """Wrap an httpx Client/AsyncClient's transport (and proxy mounts) in place; 1 if it was one."""
    import importlib

    from lens.embed.httpx_transport import transports_for

    cls: Any = None
    for base in type(client).__mro__:  # httpx.Client or the httpx2 fork's, sync or async
        mod_name = base.__module__.split(".")[0]
        if mod_name in ("httpx", "httpx2") and base.__name__ in ("Client", "AsyncClient"):
            sync_cls, async_cls = transports_for(importlib.import_module(mod_name))
            cls = async_cls if base.__name__ == "AsyncClient" else sync_cls
            break
    if cls is None:
        return 0
    if not isinstance(client._transport, cls):  # instrumenting twice keeps one wrapper
        client._transport = cls(client._transport, sink=prof)
    mounts = getattr(client, "_mounts", None)
    if isinstance(mounts, dict):
        for key, tr in list(mounts.items()):
            if tr is not None and not isinstance(tr, cls):
                mounts[key] = cls(tr, sink=prof)
    return 1


def _http_clients(client: Any) -> list[Any]:
    """The httpx clients inside an SDK client object (or the client itself)."""
    found: list[Any] = [client]
    inner = getattr(client, "_client", None)  # openai / anthropic
    if inner is not None:
        found.append(inner)
    api = getattr(client, "_api_client", None)  # google.genai.Client
    if api is not None:
        found += [getattr(api, "_httpx_client", None), getattr(api, "_async_httpx_client", None)]
    return [c for c in found if c is not None]


def instrument(
    client: Any,
    *,
    sink: EmbedSink | None = None,
    store: Any = None,
    sinks: Sequence[RecordSink] = (),
    callback: Callable[[RequestRecord], object] | None = None,
    sample: Sampler | float | None = None,
    keep_text: bool = False,
    maxsize: int = 10_000,
    provider: str | None = None,
    scenario: str = "embedded",
    region: str = "local",
    target: str | None = None,
    caps: Caps | None = None,
) -> Profiler:
    """Time every LLM call ``client`` makes from now on; returns the Profiler.

    Give an existing ``sink`` (shared by several clients), or let one be created from
    ``store`` (a lens Store, a SQLite path, or an SQLAlchemy URL such as
    ``postgresql://...``), ``sinks`` (PrometheusSink, OtelSink, ...), ``callback``
    (called with each record on the writer thread), ``keep_text`` and ``maxsize``.
    ``sample``: a rate in [0, 1] or a :class:`Sampler` with route/model rules.
    ``provider``/``scenario``/``region``/``target`` label the records. ``caps``
    (lens.spec.Caps: events, bytes, chunk rows per response) bound what lens holds for one
    response; past a cap lens stops timing it (status ``truncated``), the app reads on.

    Call ``prof.close()`` at shutdown (or ``prof.flush()``) to deliver queued records.
    Raises TypeError when ``client`` has no httpx client lens can wrap (a configuration
    mistake at start-up, not on the request path).
    """
    if sink is None:
        sink = EmbedSink(store=store, sinks=sinks, callback=callback, keep_text=keep_text,
                         maxsize=maxsize, region=region)  # fmt: skip
    prof = Profiler(sink, sample=sample, provider=provider, scenario=scenario, region=region,
                    target=target, caps=caps)  # fmt: skip
    if type(client).__module__.startswith("aiohttp"):
        from lens.embed.aiohttp_wrapper import instrument_session

        instrument_session(client, sink=prof)
        return prof
    wrapped = sum(_wrap_httpx_client(c, prof) for c in _http_clients(client))
    if not wrapped:
        sink.close()
        raise TypeError(
            f"lens.embed.instrument: no httpx client found in {type(client).__name__}; pass "
            "http_client=httpx.Client(transport=lens.embed.LensTransport(sink=...)) instead"
        )
    return prof
