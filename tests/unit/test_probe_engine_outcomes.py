"""Engine outcomes against a scripted local server and a fake dialect: one record per
request, the right status, partial timings, scrubbed errors, and the burst continuing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers_probe import FakeDialect, fake_target, script_server

import lens.probe.engine as engine
from lens.errors import TargetError
from lens.probe.engine import ProgressEvent, run_burst
from lens.redact.secrets import ERROR_TEXT_LIMIT
from lens.spec import spec_from_dict


@pytest.fixture(autouse=True)
def _fake_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "get_dialect", lambda name, **kw: FakeDialect())


def _spec(targets: list[dict[str, Any]], n: int = 1, **kw: Any) -> Any:
    d: dict[str, Any] = {
        "targets": targets,
        "prompts": {"inline": ["hello there"]},
        "load": {"kind": "concurrency", "concurrency": 1, "requests": n},
        **kw,
    }
    return spec_from_dict(d)


async def test_ok_stream_fields_and_ground_truth() -> None:
    async with script_server() as srv:
        res = await run_burst(_spec([fake_target(srv.url, "ok")], n=3), run_id="run1")
    assert res.complete and res.skipped == 0 and len(res.records) == 3
    for r in res.records:
        assert r.status == "ok" and r.http_status == 200 and r.error is None
        assert r.run_id == "run1" and r.target == "openai_compat/fake-1" and r.model == "fake-1"
        assert r.endpoint_host == srv.url.removeprefix("http://") and r.dialect == "openai_compat"
        assert r.prompt_id == "inline-0" and r.prompt_hash and len(r.prompt_hash) == 16
        assert r.n_chunks == 3 and r.output_tokens == 3 and r.input_tokens == 3
        assert 0 < r.sent_ms <= r.headers_ms <= r.ttft_ms < r.last_token_ms <= r.e2e_ms  # type: ignore[operator]
        truth = srv.truth[r.server_request_id]  # type: ignore[index]
        origin = res.origins_ns[r.request_id]
        chunks = [c for c in res.chunks if c.request_id == r.request_id]
        assert [c.kind for c in chunks] == ["text", "text", "text", "usage", "other"]
        for c, t_ns in zip(chunks, truth, strict=True):
            err_ms = c.t_ms - (t_ns - origin) / 1e6
            assert 0 <= err_ms < 20  # arrival after the server's write, and soon after
    warm = [r.conn_reused for r in res.records]
    assert warm[0] is False and warm[1:] == [True, True]
    assert res.records[0].connect_ms is not None and res.records[1].connect_ms is None


async def test_reasoning_and_non_token_events() -> None:
    async with script_server() as srv:
        res = await run_burst(
            _spec(
                [
                    fake_target(srv.url, "reasoning", name="r"),
                    fake_target(srv.url, "noisy", name="n"),
                ]
            )
        )
    by = {r.target: r for r in res.records}
    r = by["r"]
    assert r.first_reasoning_ms is not None and r.ttft_ms is not None
    assert r.first_reasoning_ms < r.ttft_ms and r.n_chunks == 3
    n = by["n"]
    # The empty text event and the usage-only event do not count toward TTFT.
    nchunks = [c for c in res.chunks if c.request_id == n.request_id]
    assert [c.kind for c in nchunks] == ["other", "usage", "text", "text", "usage", "other"]
    assert n.ttft_ms == nchunks[2].t_ms and n.n_chunks == 2 and n.output_tokens == 2


@pytest.mark.parametrize(
    ("scenario", "status", "http_status"),
    [
        ("r429", "rate_limited", 429),
        ("r529", "overloaded", 529),
        ("r500", "http_error", 500),
        ("midstream", "stream_error", 200),
        ("overloaded_event", "overloaded", 200),
        ("truncated", "truncated", 200),
        ("reset", "network", 200),
    ],
)
async def test_failures_become_one_record_and_burst_continues(
    scenario: str, status: str, http_status: int
) -> None:
    seen: list[ProgressEvent] = []
    async with script_server() as srv:
        spec = _spec(
            [fake_target(srv.url, scenario, name="bad"), fake_target(srv.url, "ok", name="good")],
            n=2,
        )
        res = await run_burst(spec, on_progress=seen.append)
    bad = [r for r in res.records if r.target == "bad"]
    good = [r for r in res.records if r.target == "good"]
    assert len(bad) == 2 and len(good) == 2 and res.complete
    assert all(r.status == "ok" for r in good)
    for r in bad:
        assert r.status == status and r.http_status == http_status and r.error
        assert r.e2e_ms is not None and r.headers_ms is not None
    if scenario in ("midstream", "overloaded_event", "truncated", "reset"):
        assert all(r.ttft_ms is not None and r.n_chunks >= 1 for r in bad)  # partial timings kept
    last_bad = [e for e in seen if e.target == "bad"][-1]
    assert (last_bad.done, last_bad.total, last_bad.errors, last_bad.last_status) == (
        2,
        2,
        2,
        status,
    )


async def test_429_keeps_retry_after_and_ratelimit_headers_and_scrubs_keys() -> None:
    key = "sk-test-SECRETSECRETSECRET1234"
    async with script_server() as srv:
        spec = _spec([fake_target(srv.url, "r429", api_key_env="MY_KEY")])
        res = await run_burst(spec, api_keys={"MY_KEY": key})
    (r,) = res.records
    assert r.retry_after_s == 7.0
    assert json.loads(r.ratelimit or "") == {
        "retry-after": "7",
        "x-ratelimit-remaining-requests": "0",
    }
    assert r.error is not None and r.error.startswith("HTTP 429")
    assert (
        "Rate limit reached" in r.error and "sk-live-abc" not in r.error and "[REDACTED]" in r.error
    )
    assert key not in json.dumps(r.to_dict(), default=str)
    assert srv.bodies and b"SECRET" not in srv.bodies[0]


async def test_long_error_text_truncated() -> None:
    async with script_server() as srv:
        res = await run_burst(_spec([fake_target(srv.url, "r500")]))
    (r,) = res.records
    assert r.error is not None and len(r.error) <= ERROR_TEXT_LIMIT
    assert r.error.startswith("HTTP 500 Internal Server Error: upstream exploded")


async def test_missing_key_is_a_target_error_before_any_request() -> None:
    async with script_server() as srv:
        spec = _spec(
            [
                fake_target(srv.url, "ok", name="a"),
                fake_target(srv.url, "ok", name="b", api_key_env="NOPE_KEY"),
            ]
        )
        with pytest.raises(TargetError, match="NOPE_KEY"):
            await run_burst(spec, api_keys={})
        assert srv.bodies == []


async def test_idle_first_token_and_total_timeouts() -> None:
    async with script_server() as srv:
        spec = _spec(
            [
                fake_target(srv.url, "stall", name="stall"),
                fake_target(srv.url, "pings", name="first"),
            ],
            timeouts={"idle_s": 0.3, "first_token_s": 0.4, "total_s": 5},
        )
        res = await run_burst(spec)
        by = {r.target: r for r in res.records}
        st = by["stall"]
        assert st.status == "timeout" and "idle" in (st.error or "")
        assert st.ttft_ms is not None and st.n_chunks == 1  # partial timings
        assert 300 <= st.e2e_ms - st.ttft_ms < 1500  # type: ignore[operator]
        ft = by["first"]
        assert ft.status == "timeout" and "first-token" in (ft.error or "") and ft.ttft_ms is None
        assert (
            ft.n_chunks == 0 and len([c for c in res.chunks if c.request_id == ft.request_id]) >= 4
        )
        assert 400 <= ft.e2e_ms < 1500  # type: ignore[operator]

        # first token after ~50 ms, stream ~650 ms: the total deadline fires mid-stream
        spec = _spec(
            [fake_target(srv.url, "long")], timeouts={"total_s": 0.3, "first_token_s": 0.25}
        )
        (r,) = (await run_burst(spec)).records
        assert r.status == "timeout" and "total" in (r.error or "") and r.ttft_ms is not None


async def test_connect_refused_is_network() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    res = await run_burst(_spec([fake_target(f"http://127.0.0.1:{port}", "ok")], n=2))
    assert [r.status for r in res.records] == ["network", "network"]
    assert all(r.headers_ms is None and r.e2e_ms is not None for r in res.records)


async def test_a_parser_exception_is_one_stream_error_record() -> None:
    async with script_server() as srv:
        spec = _spec(
            [fake_target(srv.url, "parsebug", name="bug"), fake_target(srv.url, "ok", name="ok")],
            n=2,
        )
        res = await run_burst(spec)
    bug = [r for r in res.records if r.target == "bug"]
    assert [r.status for r in bug] == ["stream_error", "stream_error"]
    assert all((r.error or "").startswith("client error ValueError: parser bug") for r in bug)
    assert all(r.ttft_ms is not None for r in bug)
    assert [r.status for r in res.records if r.target == "ok"] == ["ok", "ok"]


async def test_key_echoed_in_a_mid_stream_error_event_is_scrubbed() -> None:
    async with script_server() as srv:
        target = fake_target(srv.url, "keyecho", api_key_env="GW_KEY")
        res = await run_burst(_spec([target]), api_keys={"GW_KEY": "mygw-SECRET-0123456789"})
    (r,) = res.records
    assert r.status == "stream_error"
    assert "Incorrect API key provided" in (r.error or "")
    assert "mygw-SECRET-0123456789" not in (r.error or "")


async def test_idle_timeout_does_not_cut_a_long_prefill() -> None:
    # headers at once, first token 2 s later: first_token_s governs that wait, not idle_s
    async with script_server() as srv:
        res = await run_burst(_spec([fake_target(srv.url, "prefill")],
                                    timeouts={"idle_s": 1, "first_token_s": 10}))  # fmt: skip
    (r,) = res.records
    assert r.status == "ok", r.error
    assert r.ttft_ms is not None and r.ttft_ms >= 1900


async def test_idle_timeout_after_the_first_token_names_itself() -> None:
    async with script_server() as srv:
        res = await run_burst(_spec([fake_target(srv.url, "stall")],
                                    timeouts={"idle_s": 0.5, "first_token_s": 10}))  # fmt: skip
    (r,) = res.records
    assert r.status == "timeout" and "after the last event (idle timeout)" in (r.error or "")
    assert r.ttft_ms is not None and 450 <= r.e2e_ms - r.last_token_ms < 2000  # type: ignore[operator]


async def test_a_finished_stream_on_a_lingering_connection_is_ok() -> None:
    # [DONE] then the server holds the connection 5 s: ok, ended at the terminal event
    async with script_server() as srv:
        res = await run_burst(_spec([fake_target(srv.url, "linger")], timeouts={"idle_s": 1}))
    (r,) = res.records
    assert r.status == "ok" and r.error is None
    assert r.e2e_ms is not None and r.e2e_ms < 500


async def test_headers_env_sends_the_secret_header_and_keeps_it_out_of_everything() -> None:
    from lens.api import run_info

    async with script_server() as srv:
        target = fake_target(srv.url, "keyecho", headers_env={"Ocp-Apim-Subscription-Key": "GW_SUB"})
        spec = _spec([target])
        res = await run_burst(spec, api_keys={"GW_SUB": "Incorrect API key provided: x"})  # echoed
        sent = srv.headers[-1]
    assert sent.get("Ocp-Apim-Subscription-Key") == "Incorrect API key provided: x"
    (r,) = res.records
    assert "Incorrect API key provided: x" not in (r.error or "")  # scrubbed like a key
    assert "GW_SUB" in run_info(spec, "r").spec_json and "provided: x" not in run_info(spec, "r").spec_json


async def test_headers_env_missing_variable_is_named() -> None:
    async with script_server() as srv:
        target = fake_target(srv.url, "ok", headers_env={"cf-aig-authorization": "CF_AIG_TOKEN"})
        with pytest.raises(TargetError, match=r"needs CF_AIG_TOKEN for header 'cf-aig-authorization'"):
            await run_burst(_spec([target]), api_keys={})
