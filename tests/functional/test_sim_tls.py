"""HTTPS on the simulated endpoint: trustme test CA, given certificates, `lens sim --tls`.

Clients are other people's code (aiohttp, urllib, the ssl module), and the certificates
come from trustme; the simulator only serves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from helpers_sim import fetch, request_for, url_for
from helpers_wire import RawConn, chat_body

from lens.errors import ConfigError, MissingExtraError
from lens.sim import SimServer, start_sim_in_thread
from lens.sim.tls import TestCA, server_context

ROOT = Path(__file__).resolve().parents[2]
FAST = {"header_ms": 0, "ttft_ms": 5, "itl_ms": 2, "output_tokens": 6}


@pytest.fixture
def ca() -> Iterator[TestCA]:
    ca = TestCA(["127.0.0.1", "localhost"])
    yield ca
    ca.cleanup()
    assert not ca.ca_path.exists()


async def test_trusting_client_streams_over_https(ca: TestCA) -> None:
    assert ca.ca_path.read_bytes() == ca.ca_pem and b"BEGIN CERTIFICATE" in ca.ca_pem
    async with SimServer({"default": FAST}, ssl_context=ca.server_context()) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.base_url("openai_chat") == sim.url + "/v1"
        connector = aiohttp.TCPConnector(ssl=ca.client_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            rec = await fetch(session, url_for(sim, "openai_chat"), request_for("openai_chat"))
            async with session.get(f"{sim.url}/_sim/health") as r:
                health = await r.json()
    assert rec.status == 200 and rec.sse()[-1][1] == "[DONE]"
    assert health["tls"] is True
    assert len(sim.truth(rec.request_id).token_events()) == 6


async def test_client_not_trusting_the_ca_fails(ca: TestCA) -> None:
    async with SimServer({"default": FAST}, ssl_context=ca.server_context()) as sim:
        async with aiohttp.ClientSession() as session:  # system trust store only
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await fetch(session, url_for(sim, "openai_chat"), request_for("openai_chat"))
        with pytest.raises(ssl.SSLCertVerificationError):
            await RawConn.open(sim.url, ssl.create_default_context())
        assert sim.truths() == []  # nothing got past the handshake


async def test_given_certificate_and_key_files(tmp_path: Path) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    crt, key = tmp_path / "sim.crt", tmp_path / "sim.key"
    crt.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key))
    client = ssl.create_default_context()
    authority.configure_trust(client)
    async with SimServer({"default": FAST}, ssl_context=server_context(crt, key)) as sim:
        conn = await RawConn.open(sim.url, client)
        resp = await conn.request("/v1/chat/completions", chat_body())
        await conn.close()
    assert resp.status == 200 and resp.data_lines()[-1] == "[DONE]"


def test_bad_certificate_files_are_named(tmp_path: Path) -> None:
    a, b = trustme.CA().issue_cert("127.0.0.1"), trustme.CA().issue_cert("127.0.0.1")
    crt, other_key = tmp_path / "a.crt", tmp_path / "b.key"
    a.cert_chain_pems[0].write_to_path(str(crt))
    b.private_key_pem.write_to_path(str(other_key))
    with pytest.raises(ConfigError, match=r"--key: no such file: .*missing\.key"):
        server_context(crt, tmp_path / "missing.key")
    with pytest.raises(ConfigError) as info:
        server_context(crt, other_key)
    assert str(crt) in str(info.value) and str(other_key) in str(info.value)
    assert "key must belong to the certificate" in str(info.value)


def test_missing_trustme_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)  # import trustme now raises ImportError
    with pytest.raises(MissingExtraError, match="trustme") as info:
        TestCA()
    assert "pip install" in str(info.value)


def test_write_times_are_handed_to_tls_before_arrival(ca: TestCA) -> None:
    # The sim runs in its own thread; every event's write start precedes its arrival at
    # a TLS client, by little: the write time is when the bytes went into the TLS transport.
    prof = {"header_ms": 0, "ttft_ms": 20, "itl_ms": 10, "output_tokens": 20}

    async def run(url: str) -> list:
        connector = aiohttp.TCPConnector(ssl=ca.client_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            return [await fetch(session, url, request_for("openai_chat")) for _ in range(3)]

    with start_sim_in_thread({"default": prof}, ssl_context=ca.server_context()) as sim:
        assert sim.url.startswith("https://")
        recs = asyncio.run(run(url_for(sim, "openai_chat")))
        delays = []
        for rec in recs:
            truth = sim.truth(rec.request_id)
            assert len(rec.frames) == len(truth.events)
            for (arrived, _), event in zip(rec.frames, truth.events, strict=True):
                assert arrived >= event.write_start_ns
                delays.append((arrived - event.write_start_ns) / 1e6)
    assert statistics.median(delays) < 2.0, statistics.median(delays)


def test_stdlib_client_against_threaded_https_sim(ca: TestCA) -> None:
    ctx = ssl.create_default_context(cafile=str(ca.ca_path))  # the CA file, as a user would
    with start_sim_in_thread({"default": FAST}, ssl_context=ca.server_context()) as sim:
        body = json.dumps(chat_body(stream=False)).encode()
        req = urllib.request.Request(sim.base_url("openai_chat") + "/chat/completions", data=body,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            answer = json.loads(r.read())
    assert answer["choices"][0]["message"]["content"].startswith(" the quick")


# ---- lens sim --tls (a real process, uvloop when installed) ------------------------------

def _start_cli(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lens.sim", "--port", "0", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info: dict[str, str] = {}
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("lens sim serving on "):
            info["url"] = line.split()[4]
            info["first"] = line
        elif "TLS test CA" in line:
            info["ca"] = line.split()[3]
        elif "ground truth" in line:
            return proc, info
    proc.kill()
    raise AssertionError(f"lens sim did not start: {info} {proc.stderr.read() if proc.stderr else ''}")


def _stop_cli(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)


async def test_cli_tls_habits_over_https(tmp_path: Path) -> None:
    loop_arg = ["--loop", "uvloop"] if _has_uvloop() else []
    proc, info = _start_cli("--tls", *loop_arg, "--profile", 'hang={"preset": "llamacpp", "max_concurrency": 0}',
                            "--profile", 'ka={"ttft_ms": 2, "itl_ms": 1, "conn": "keepalive:0.3"}')
    try:
        assert info["url"].startswith("https://127.0.0.1:")
        ca_path = Path(info["ca"])
        assert ca_path.is_file()
        trusting = ssl.create_default_context(cafile=str(ca_path))

        conn = await RawConn.open(info["url"], trusting)
        resp = await conn.request("/p/hang/v1/chat/completions", chat_body(max_tokens=3))
        fin = await conn.wait_closed(3.0)
        await conn.close()
        assert resp.header("keep-alive") == "timeout=5, max=100" and resp.json_events()[-1]["timings"]
        assert fin is not None and (fin - resp.end_at) / 1e6 < 50

        conn = await RawConn.open(info["url"], trusting)
        resp = await conn.request("/p/ka/v1/chat/completions", chat_body())
        fin = await conn.wait_closed(3.0)
        await conn.close()
        assert resp.header("keep-alive") == "timeout=0.3"
        assert fin is not None and 280 <= (fin - resp.end_at) / 1e6 < 600

        with pytest.raises(ssl.SSLCertVerificationError):
            await RawConn.open(info["url"], ssl.create_default_context())
    finally:
        _stop_cli(proc)
    if loop_arg:
        assert "loop uvloop" in info["first"]
    assert not ca_path.exists()  # the temporary CA goes with the server


def test_cli_tls_ca_out_is_kept_and_flag_errors(tmp_path: Path) -> None:
    out = tmp_path / "ca.pem"
    proc, info = _start_cli("--tls", "--ca-out", str(out))
    try:
        assert info["ca"] == str(out) and b"BEGIN CERTIFICATE" in out.read_bytes()
    finally:
        _stop_cli(proc)
    assert out.exists()  # a path the user chose is theirs to keep
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args, message in ((["--cert", str(out)], "--cert needs --key"), (["--ca-out", str(out)], "--ca-out needs --tls"),
                          (["--cert", str(tmp_path / "nope.pem"), "--key", str(out)], "no such file")):
        done = subprocess.run([sys.executable, "-m", "lens.sim", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True
