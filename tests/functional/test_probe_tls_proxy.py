"""The engine over HTTPS and through a real forward proxy (proxy.py), against the simulator.

Hosted providers are HTTPS only: the socket-read clock, the TCP/TLS split and the error a
user sees for an untrusted certificate or a refusing proxy are checked here end to end.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_http import proxy_py

from lens.probe.engine import run_burst_sync
from lens.record import BurstResult
from lens.sim import start_sim_in_thread

pytest.importorskip("trustme")
from lens.sim.tls import TestCA
from lens.spec import spec_from_dict

PROFILE = {"header_ms": 0.0, "ttft_ms": 15.0, "itl_ms": 3.0, "itl_jitter": 0.0, "output_tokens": 8}
USER, PASSWORD = "lens", "proxy-pass-not-a-secret"


@pytest.fixture(scope="module")
def tls_sim() -> Iterator[tuple[Any, TestCA]]:
    ca = TestCA(["127.0.0.1", "localhost"])
    try:
        with start_sim_in_thread({"p": PROFILE}, ssl_context=ca.server_context()) as sim:
            yield sim, ca
    finally:
        ca.cleanup()


def _spec(url: str, **extra: Any) -> Any:
    return spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": url, "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 8,
        "load": {"requests": 6, "concurrency": 2}, **extra,
    }, source="test")  # fmt: skip


def _event_errors_ms(sim: Any, res: BurstResult) -> list[float]:
    out: list[float] = []
    for r in res.records:
        assert r.status == "ok", r.error
        truth = sim.truth(r.server_request_id)
        origin = res.origins_ns[r.request_id]
        chunks = [c for c in res.chunks if c.request_id == r.request_id]
        assert len(chunks) == len(truth.events)
        for c, e in zip(chunks, truth.events, strict=True):
            out.append(c.t_ms - (e.write_start_ns - origin) / 1e6)
    return out


def test_https_with_a_ca_bundle_times_tcp_and_tls_apart(tls_sim: tuple[Any, TestCA]) -> None:
    sim, ca = tls_sim
    url = sim.base_url("openai_compat", "p")
    assert url.startswith("https://")
    res = run_burst_sync(_spec(url, ca_bundle=str(ca.ca_path), connection="cold"))
    errs = _event_errors_ms(sim, res)
    assert min(errs) >= 0  # the socket-read clock holds over TLS: never before the write
    assert statistics.median(errs) < 3.0, errs
    for r in res.records:
        assert r.conn_reused is False and r.tcp_ms is not None and r.tls_ms is not None
        assert r.tls_ms > 0 and r.connect_ms == pytest.approx(r.tcp_ms + r.tls_ms, abs=0.5)
        assert r.sent_ms is not None and r.sent_ms >= r.connect_ms


def test_ssl_cert_file_is_trusted_beside_the_system_store(
    tls_sim: tuple[Any, TestCA], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, ca = tls_sim
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_path))
    res = run_burst_sync(_spec(sim.base_url("openai_compat", "p")))
    assert {r.status for r in res.records} == {"ok"}
    assert sum(bool(r.conn_reused) for r in res.records) >= 4  # warm: TLS set up twice


def test_an_untrusted_certificate_names_the_host_and_how_to_trust_a_ca(
    tls_sim: tuple[Any, TestCA], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, _ca = tls_sim
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    res = run_burst_sync(_spec(sim.base_url("openai_compat", "p")))
    port = sim.url.rsplit(":", 1)[1]
    for r in res.records:
        assert r.status == "network"
        assert f"127.0.0.1:{port}" in r.error and "not trusted" in r.error
        assert "--ca-bundle" in r.error and "SSL_CERT_FILE" in r.error


def test_https_through_a_forward_proxy_with_connect(
    tls_sim: tuple[Any, TestCA], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, ca = tls_sim
    with proxy_py("--basic-auth", f"{USER}:{PASSWORD}") as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://{USER}:{PASSWORD}@127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "p"), ca_bundle=str(ca.ca_path),
                                   connection="cold"))
    errs = _event_errors_ms(sim, res)
    assert min(errs) >= 0
    for r in res.records:
        # TCP to the proxy, then CONNECT, then TLS through the tunnel: connect_ms holds all
        # three, so it exceeds tcp_ms + tls_ms by the tunnel's set-up time.
        assert r.tcp_ms is not None and r.tls_ms is not None and r.connect_ms is not None
        assert r.connect_ms > r.tcp_ms + r.tls_ms
    truths = [sim.truth(r.server_request_id) for r in res.records]
    assert all(not t.conn_id.endswith(f":{port}") for t in truths)  # server saw the proxy's end


def test_no_proxy_sends_direct(tls_sim: tuple[Any, TestCA], monkeypatch: pytest.MonkeyPatch) -> None:
    sim, ca = tls_sim
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    res = run_burst_sync(_spec(sim.base_url("openai_compat", "p"), ca_bundle=str(ca.ca_path)))
    assert {r.status for r in res.records} == {"ok"}


def test_a_proxy_refusing_connect_is_a_network_error_naming_the_proxy(
    tls_sim: tuple[Any, TestCA], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim, ca = tls_sim
    with proxy_py("--basic-auth", f"{USER}:{PASSWORD}") as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://{USER}:wrong-password@127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        res = run_burst_sync(_spec(sim.base_url("openai_compat", "p"), ca_bundle=str(ca.ca_path)))
    for r in res.records:
        assert r.status == "network"
        assert f"127.0.0.1:{port}" in r.error and "407" in r.error and "proxy" in r.error
        assert "wrong-password" not in r.error and USER + ":" not in r.error


def test_lens_run_ca_bundle_flag(tls_sim: tuple[Any, TestCA], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers_cli import lens

    sim, ca = tls_sim
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    base = ["run", "--provider", "vllm", "--model", "m", "--base-url",
            sim.base_url("openai_compat", "p"), "--requests", "2", "--db", str(tmp_path / "t.db")]
    ok = lens([*base, "--ca-bundle", str(ca.ca_path), "--json"])
    assert ok.code == 0, ok.err
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    res = lens([*base, "--ca-bundle", str(bad)])
    assert res.code == 2
    assert f"--ca-bundle: CA bundle {bad} could not be read as PEM certificates" in res.err
    assert "_ssl.c" not in res.err and "Traceback" not in res.err
