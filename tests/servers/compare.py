"""Lens's records next to the upstream's ground truth: matching, timing errors, the hop.

Records are matched to the upstream's truth by prompt digest: fire with ``cache: bust`` so
every prompt is unique (lens prefixes a random nonce), and the app hashes the last user
message exactly as lens's ``prompt_hash`` does. That survives gateways, which send their
own request ids upstream.

All differences are in ms on one host clock (perf_counter_ns, CLOCK_MONOTONIC):

- ``ttft_error_ms``: lens's TTFT minus the upstream's first-token write, both measured from
  lens's request origin. Direct to the server that is lens's whole measuring error (>= 0:
  a byte cannot arrive before it was written).
- Through a gateway the same difference is the gateway's response-side hop (plus lens's
  error); ``request_hop_ms`` is origin to the upstream having read the request body;
  ``total_hop_ms`` = lens TTFT minus the upstream's own TTFT = both hops together.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import Any

from lens.record import BurstResult, RequestRecord
from lens.spec import BurstSpec, spec_from_dict
from servers.uvicorn_proc import UpstreamTruth


def openai_compat_spec(
    base_url: str,
    load: dict[str, Any],
    *,
    model: str = "upstream-model",
    api_key_env: str | None = None,
    max_tokens: int = 64,
    **kw: Any,
) -> BurstSpec:
    """A burst at one ``provider: openai_compat`` target with unique prompts (cache bust)."""
    target: dict[str, Any] = {"name": "srv", "provider": "openai_compat", "base_url": base_url,
                              "model": model}  # fmt: skip
    if api_key_env:
        target["api_key_env"] = api_key_env
    return spec_from_dict({"targets": [target], "prompts": {"synthetic_tokens": 16},
                           "max_tokens": max_tokens, "cache": "bust", "load": load, **kw})  # fmt: skip


def describe_failures(result: BurstResult) -> str:
    """One line per failed request: status, HTTP status, conn_reused, e2e, error."""
    return "\n".join(
        f"{r.status} http={r.http_status} conn_reused={r.conn_reused} e2e_ms={r.e2e_ms} {r.error}"
        for r in result.records
        if r.status != "ok"
    )


@dataclass(frozen=True)
class Pair:
    """A lens record, its request origin (perf_counter_ns) and the upstream's truth."""

    record: RequestRecord
    origin_ns: int
    truth: UpstreamTruth

    @property
    def ttft_error_ms(self) -> float:
        assert self.record.ttft_ms is not None and self.truth.first_text_ns is not None
        return self.record.ttft_ms - (self.truth.first_text_ns - self.origin_ns) / 1e6

    @property
    def request_hop_ms(self) -> float:
        return (self.truth.received_ns - self.origin_ns) / 1e6

    @property
    def total_hop_ms(self) -> float:
        assert self.record.ttft_ms is not None and self.truth.first_text_ns is not None
        return self.record.ttft_ms - (self.truth.first_text_ns - self.truth.received_ns) / 1e6

    @property
    def truth_itl_p50_ms(self) -> float:
        """Median gap between the upstream's answer-text writes."""
        w = [c.write_start_ns for c in self.truth.text_chunks]
        return statistics.median((b - a) / 1e6 for a, b in itertools.pairwise(w))

    def chunk_errors_ms(self, result: BurstResult) -> list[float]:
        """Arrival minus write start of each answer-text chunk, in order."""
        got = [c.t_ms for c in result.chunks
               if c.request_id == self.record.request_id and c.kind == "text"]  # fmt: skip
        sent = [(c.write_start_ns - self.origin_ns) / 1e6 for c in self.truth.text_chunks]
        assert len(got) == len(sent), f"{len(got)} text chunks arrived, {len(sent)} were sent"
        return [g - s for g, s in zip(got, sent, strict=True)]


def pair_up(result: BurstResult, truths: list[UpstreamTruth]) -> list[Pair]:
    """Each successful record with the truth of the request it sent (by prompt digest)."""
    by_hash = {t.prompt_hash: t for t in truths}
    assert len(by_hash) == len(truths), "prompts were not unique: fire with cache: bust"
    pairs = []
    for r in result.records:
        if r.status != "ok":
            continue
        t = by_hash.get(r.prompt_hash or "")
        assert t is not None, f"request {r.request_id} never reached the upstream"
        pairs.append(Pair(r, result.origins_ns[r.request_id], t))
    return pairs


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def quantile(xs: list[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1) of a small sample."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]
