"""Where a request was served: a small allow-list of routing headers, kept per request.

When latency shifts, "what else changed at the same time" is often the path, not the
model: another CDN point of presence, another cloud region, another backend pool. These
response headers say so, and none of them carries a credential or a user's data:

- ``cf-ray`` (Cloudflare, in front of OpenAI, Anthropic and many gateways):
  ``<ray id>-<IATA code>``; only the data-centre code is kept (``SJC``);
- ``x-served-by`` (Fastly): ``cache-<dc><node>-<DC>[, ...]``; only the DC codes;
- ``x-amz-cf-pop`` (AWS CloudFront): the edge location (``SFO5-C1``);
- ``x-ms-region`` (Azure OpenAI): the region that answered (``West US``);
- ``azureml-model-session`` (Azure OpenAI): the model backend session;
- ``x-gemini-service-tier`` (Gemini API): the tier applied (standard, priority, flex);
- ``server`` (any HTTP server): ``cloudflare``, ``envoy``, ``uvicorn``, ...

Request ids (also ``cf-ray``'s ray id), organisation/project headers and cookies are
never kept. Values are scrubbed (lens.redact.secrets) and bounded like every header value
lens stores. ``x-ms-served-model`` (Azure's Responses API names the snapshot there, not in
the body) goes to the record's ``server_model`` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

from lens.redact.secrets import scrub

__all__ = ["ROUTING_HEADERS", "routing_json", "served_model"]

_VALUE_LIMIT = 64
_IATA = re.compile(r"-([A-Z]{3})$")
_FASTLY_DC = re.compile(r"-([A-Z]{3})\s*(?:,|$)")


def _cf_pop(value: str) -> str | None:
    m = _IATA.search(value.strip())
    return m.group(1) if m else None


def _fastly_pops(value: str) -> str | None:
    pops = _FASTLY_DC.findall(value.strip())
    return ",".join(pops) if pops else None


def _as_sent(value: str) -> str | None:
    return value.strip() or None


ROUTING_HEADERS: dict[str, Callable[[str], str | None]] = {
    "cf-ray": _cf_pop,
    "x-served-by": _fastly_pops,
    "x-amz-cf-pop": _as_sent,
    "x-ms-region": _as_sent,
    "azureml-model-session": _as_sent,
    "x-gemini-service-tier": _as_sent,
    "server": _as_sent,
}


def routing_json(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> str | None:
    """The allow-listed routing headers of a response as compact JSON, or None.

    ``headers`` must look names up case-insensitively (lens's and httpx's header maps do).
    """
    kept: dict[str, str] = {}
    for name, extract in ROUTING_HEADERS.items():
        raw = headers.get(name)
        if not raw:
            continue
        value = extract(raw)
        if value:
            kept[name] = scrub(value, secrets, limit=_VALUE_LIMIT) or ""
    return json.dumps(kept, separators=(",", ":"), sort_keys=True) if kept else None


def served_model(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> str | None:
    """The model snapshot a gateway names in a header (Azure ``x-ms-served-model``)."""
    value = headers.get("x-ms-served-model")
    return scrub(value.strip(), secrets, limit=200) if value and value.strip() else None
