"""The engine against real servers' connection habits (issue #12), through lens's simulator.

Each burst hits one habit -- hang up after every response unannounced (llama.cpp), idle close
after a keep-alive timeout with and without the Keep-Alive header (uvicorn, which vLLM and
SGLang serve on), Connection: close, headers sent late -- at concurrency 1, 2 and 64, with
idle gaps longer than the keep-alive and back-to-back reuse. Every request must succeed,
reach the server exactly once, and be timed truthfully against the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

import pytest

from lens.probe.engine import run_burst, run_burst_sync
from lens.record import BurstResult
from lens.sim import SimServer, start_sim_in_thread
from lens.spec import spec_from_dict

FAST = {"header_ms": 0.0, "ttft_ms": 8.0, "itl_ms": 2.0, "itl_jitter": 0.0, "output_tokens": 6}


def _spec(url: str, load: dict[str, Any], **extra: Any) -> Any:
    return spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": url, "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 6, "load": load,
        "timeouts": {"first_token_s": 20, "total_s": 30}, **extra,
    }, source="test")  # fmt: skip


def _check(sim: Any, res: BurstResult, n: int) -> list[Any]:
    """Every request ok, each reached the server once, TTFT true to the server's write time."""
    bad = [(r.status, r.error, r.conn_reused, r.resent) for r in res.records if r.status != "ok"]
    assert not bad, bad
    assert len(res.records) == n
    truths = [sim.truth(r.server_request_id) for r in res.records]
    assert len({t.request_id for t in truths}) == n  # no request reached the server twice
    errs = []
    for r, t in zip(res.records, truths, strict=True):
        origin = res.origins_ns[r.request_id]
        first = next(e for e in t.events if e.kind == "text")
        err = r.ttft_ms - (first.write_start_ns - origin) / 1e6
        assert err >= 0, (r.ttft_ms, err)  # never before the server wrote it
        errs.append(err)
    assert statistics.median(errs) < 5.0, errs
    return truths


@pytest.mark.parametrize("concurrency", [1, 2, 64])
def test_a_server_that_hangs_up_after_every_response_loses_no_request(concurrency: int) -> None:
    n = max(8, 2 * concurrency)
    with start_sim_in_thread({"ll": {**FAST, "conn": "hangup"}}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "ll"),
                                   {"requests": n, "concurrency": concurrency}))
        truths = _check(sim, res, n)
    assert all(t.conn_seq == 1 for t in truths)  # the server served one request per connection
    # At most one request per worker met a dead pooled connection before lens learned the
    # habit; each says so, and the time it lost is the client's (queue_ms), not TTFT.
    resent = [r for r in res.records if r.resent]
    assert len(resent) <= concurrency
    assert all(r.conn_reused is False and r.connect_ms is not None for r in resent)


def test_llamacpp_preset_advertising_keep_alive_and_hanging_up() -> None:
    # llama-server says "Keep-Alive: timeout=5, max=100" and closes anyway.
    with start_sim_in_thread({"ll": {**FAST, "preset": "llamacpp"}}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "ll"),
                                   {"requests": 6, "concurrency": 1}))
        _check(sim, res, 6)


def test_keep_alive_header_retires_connections_before_the_server_does() -> None:
    # Keep-Alive: timeout=1 announced; a request every 0.85 s lands after the client's
    # retirement margin (0.75 s) but before the server's close: no request may be sent on a
    # connection the server is about to drop, so none needs a re-send.
    prof = {**FAST, "conn": {"mode": "keepalive", "idle_s": 1.0, "announce": True}}
    with start_sim_in_thread({"ka": prof}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "ka"),
                                   {"kind": "rate", "rate": 1 / 0.85, "requests": 4}))
        truths = _check(sim, res, 4)
    assert not any(r.resent for r in res.records)
    assert all(t.conn_seq == 1 for t in truths)


@pytest.mark.parametrize("concurrency", [1, 64])
def test_uvicorn_idle_close_with_gaps_longer_than_the_keep_alive(concurrency: int) -> None:
    # uvicorn closes idle connections (5 s by default; 0.4 s here) without a Keep-Alive header.
    prof = {**FAST, "conn": {"mode": "keepalive", "idle_s": 0.4, "announce": False}}

    async def main(url: str) -> list[BurstResult]:
        out = []
        for _ in range(3):  # back to back within a burst, then idle past the keep-alive
            out.append(await run_burst(_spec(url, {"requests": 2 * concurrency,
                                                   "concurrency": concurrency})))
            await asyncio.sleep(0.6)
        return out

    with start_sim_in_thread({"uv": prof}) as sim:
        results = asyncio.run(main(sim.base_url("openai_compat", "uv")))
        for res in results:
            _check(sim, res, 2 * concurrency)
        reused = [r for res in results for r in res.records if r.conn_reused]
    assert reused  # within a burst connections were reused


def test_poisson_gaps_around_the_idle_close_in_one_burst() -> None:
    # Exponential gaps (mean 0.25 s) around the server's idle close (0.3 s): some requests
    # follow at once on a warm connection, some after it was closed -- or is closing.
    prof = {**FAST, "conn": {"mode": "keepalive", "idle_s": 0.3, "announce": False}}
    with start_sim_in_thread({"uv": prof}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "uv"),
                                   {"kind": "poisson", "rate": 4.0, "requests": 16, "seed": 7}))
        _check(sim, res, 16)
    assert any(r.conn_reused for r in res.records)
    assert any(r.conn_reused is False for r in res.records[1:])


def test_connection_close_is_honoured_without_resends() -> None:
    with start_sim_in_thread({"c": {**FAST, "conn": "close"}}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "c"),
                                   {"requests": 6, "concurrency": 2}))
        _check(sim, res, 6)
    assert not any(r.conn_reused or r.resent for r in res.records)


def test_slow_headers_put_the_wait_in_headers_ms_not_after_it() -> None:
    # Headers only with the first token (many servers): TTFB ~ TTFT, both true to the server.
    prof = {**FAST, "header_ms": 0.0, "ttft_ms": 60.0, "headers": "first_token"}
    with start_sim_in_thread({"h": prof}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "h"), {"requests": 4}))
        _check(sim, res, 4)
    for r in res.records:
        assert r.headers_ms is not None and r.ttft_ms is not None
        assert r.headers_ms > 50 and r.ttft_ms - r.headers_ms < 5


def test_cold_connections_time_tcp_and_no_tls_over_plain_http() -> None:
    with start_sim_in_thread({"p": FAST}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "p"), {"requests": 3},
                                   connection="cold"))
        _check(sim, res, 3)
    for r in res.records:
        assert r.conn_reused is False and r.tcp_ms is not None and r.tls_ms is None
        assert r.connect_ms == pytest.approx(r.tcp_ms)


def test_server_reported_timing_is_kept_and_matches_the_server() -> None:
    prof = {**FAST, "ttft_ms": 40.0, "server_timing": "llamacpp"}
    with start_sim_in_thread({"ll": prof, "oa": {**FAST, "server_timing": "openai"}}) as sim:
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "ll"), {"requests": 3}))
        oa = run_burst_sync(_spec(sim.base_url("openai_compat", "oa"), {"requests": 2}))
        for r in res.records:
            timings = sim.truth(r.server_request_id).server_timing["timings"]
            assert r.server_prefill_ms == pytest.approx(timings["prompt_ms"])
            assert r.server_decode_ms == pytest.approx(timings["predicted_ms"])
            # what the network and the client add to the server's own prefill
            assert 0 <= r.ttft_ms - r.server_prefill_ms < 20
        for r in oa.records:
            sent = sim.truth(r.server_request_id).server_timing["openai-processing-ms"]
            assert r.server_processing_ms == pytest.approx(float(sent))


async def test_observer_errors_keep_their_identity_inside_an_except_block() -> None:
    # A regression: the engine once ran inside an except block, so a cap's exception reached
    # the record as that unrelated exception ("no running event loop") via __context__.
    async with SimServer({"flood": {"ttft_ms": 1.0, "itl_ms": 0.0, "output_tokens": 400}}) as sim:
        try:
            raise RuntimeError("unrelated")
        except RuntimeError:
            res = await run_burst(_spec(sim.base_url("openai_compat", "flood"), {"requests": 1},
                                        max_tokens=400, caps={"max_events": 20}))
    (r,) = res.records
    assert r.status == "truncated" and "more than 20 events" in (r.error or "")


def test_the_report_shows_ttft_beside_the_servers_own_time(tmp_path: Any) -> None:
    from lens.analysis.report import build_report
    from lens.analysis.server_time import server_split
    from lens.record.frames import records_to_frame

    prof = {**FAST, "ttft_ms": 40.0, "server_timing": "llamacpp"}
    with start_sim_in_thread({"ll": prof, "plain": FAST}) as sim:
        a = run_burst_sync(_spec(sim.base_url("openai_compat", "ll"), {"requests": 4}))
        b = run_burst_sync(_spec(sim.base_url("openai_compat", "plain"), {"requests": 3}))
    for r in a.records:
        r.target = "llama"
    frame = records_to_frame([*a.records, *b.records])
    split = server_split(frame)
    assert list(split["target"]) == ["llama"]  # the server that says nothing is left out
    row = split.iloc[0]
    assert row["requests"] == 4 and "llama.cpp" in row["kind"]
    assert row["server_p50_ms"] == pytest.approx(40.0, abs=5)
    assert 0 <= row["outside_p50_ms"] < 20
    assert row["ttft_p50_ms"] == pytest.approx(row["server_p50_ms"] + row["outside_p50_ms"], abs=3)
    report = build_report(frame)
    section = report.section("server-time")
    assert section is not None and "network, queue and client p50" in section.blocks[0].columns
