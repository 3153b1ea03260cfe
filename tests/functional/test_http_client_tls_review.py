"""Adversarial checks of the TLS layer (lens.probe.http.tls_layer) against real servers:
a starved handshake thread, cancellation mid-handshake, truncation, 1-byte reads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers_http import LOOPS, RawServer, Recorder, Req, TLSFiles, run, tls_files, write_sse

import lens.probe.http.connect as connect_mod
from lens.probe.http import HttpClient
from lens.probe.http.tls_layer import tls_workers

pytestmark = pytest.mark.parametrize("loop", LOOPS)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


async def _sse(req: Req, w: asyncio.StreamWriter) -> bool:
    await write_sse(w, [b"one", b"two"])
    return True


BODY = b"data: one\n\ndata: two\n\n"


@pytest.fixture
def starved_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The client's handshake pool, its only thread held (as a nice-19 thread is when
    busy nice-0 processes fill the cores: measured 20-70 ms per step, seconds per burst)."""
    release = threading.Event()

    def held() -> ThreadPoolExecutor:
        pool = tls_workers()
        pool._max_workers = 1  # one thread, and it is busy
        pool.submit(release.wait, 10)
        return pool

    monkeypatch.setattr(connect_mod, "tls_workers", held)
    yield release
    release.set()


def test_a_starved_handshake_thread_does_not_hold_handshakes(
    loop: str, tls: TLSFiles, starved_pool: threading.Event
) -> None:
    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            client = HttpClient(ca_bundle=tls.ca_pem, force_close=True)
            recs = [Recorder() for _ in range(8)]
            t0 = time.monotonic()
            got = await asyncio.wait_for(
                asyncio.gather(*(client.request("GET", srv.url(), observer=r) for r in recs)), 5
            )
            took = time.monotonic() - t0
            assert [r.status for r in got] == [200] * 8 and all(r.body == BODY for r in recs)
            tls_ms = [(r.t("tls_end") - r.t("tls_start")) / 1e6 for r in recs]
            assert took < 1.0 and max(tls_ms) < 500, (took, tls_ms)
            starved_pool.set()
            await client.close()
        finally:
            await srv.stop()

    run(loop, main())
