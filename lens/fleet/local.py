"""The local fleet: the real runner, under the real Lambda runtime client, per simulated region.

For each region, :class:`LocalFleet` starts one process running
``python -m awslambdaric lens.fleet.runner.handle.handler`` (the runner from the installed
lens package: no checkout needed) against its own
:class:`~lens.fleet.runtime_api.RuntimeApi`, and puts a
:class:`~lens.fleet.delay_proxy.DelayProxy` with that region's RTT in front of every
target the region calls (target base URLs are rewritten to the proxy, and the runner's
allow-list holds exactly those proxies). Results go to S3 through the same code as on
AWS: an in-process moto server unless ``s3_endpoint`` is given. It is an
:class:`~lens.fleet.invoker.Invoker`, so ``lens.fleet.fire`` drives it like Lambda.

Plain-HTTP targets only (the simulated endpoint, local model servers): rewriting an
https URL to the proxy would break its certificate check.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lens.errors import require
from lens.fleet.delay_proxy import DelayProxy, rtt_for
from lens.fleet.invoker import InvokeError, parse_response
from lens.fleet.runner.wire import RunnerResponse
from lens.fleet.runtime_api import RuntimeApi
from lens.record import ChunkTiming, RequestRecord

# The runner's entry point in the installed package (what a deployed zip's handler.handler
# re-exports).
HANDLER = "lens.fleet.runner.handle.handler"
FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass
class _Region:
    name: str
    rtt_ms: float
    api: RuntimeApi
    proxies: dict[tuple[str, int], DelayProxy] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class LocalFleet:
    """Simulated regions on this machine. Use as a context manager.

    ``rtt_ms`` maps region -> round-trip ms added by its proxy (default
    lens.fleet.delay_proxy.DEFAULT_RTT_MS). ``env`` adds runner environment variables
    (e.g. LENS_MAX_REQUESTS). ``timeout_s`` is each invocation's Lambda timeout.
    """

    def __init__(
        self,
        regions: list[str] | tuple[str, ...] | None = None,
        *,
        rtt_ms: Mapping[str, float] | None = None,
        s3_endpoint: str | None = None,
        bucket: str = "lens-local-results",
        prefix: str = "lens",
        glue_database: str | None = "lens",
        timeout_s: float = 120.0,
        env: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.regions_wanted = list(regions or [])
        self.rtt_table = dict(rtt_ms or {})
        self.s3_endpoint = s3_endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.glue_database = glue_database
        self.timeout_s = timeout_s
        self.extra_env = dict(env or {})
        self.log_dir = Path(log_dir) if log_dir else None
        self._regions: dict[str, _Region] = {}
        self._moto: Any = None
        self._s3: Any = None
        self._lock = threading.Lock()
        self._started = False

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> LocalFleet:
        if self._started:
            return self
        boto3 = require("boto3", "aws")
        if self.s3_endpoint is None:
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._moto.start()
            host, port = self._moto.get_host_and_port()
            self.s3_endpoint = f"http://{host}:{port}"
        self.session = boto3.Session(
            aws_access_key_id=FAKE_CREDS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDS["AWS_SESSION_TOKEN"],
            region_name="us-east-1",
        )
        self._s3 = self.session.client("s3", endpoint_url=self.s3_endpoint)
        with contextlib.suppress(self._s3.exceptions.BucketAlreadyOwnedByYou):
            self._s3.create_bucket(Bucket=self.bucket)
        self._started = True
        return self

    def __enter__(self) -> LocalFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for region in list(self._regions.values()):
            self._stop_process(region)
            region.api.close()
            for proxy in region.proxies.values():
                proxy.close()
        self._regions.clear()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._started = False

    @property
    def lake(self) -> str:
        """``s3://bucket/prefix`` of the local results lake (for athena_query(engine='duckdb'))."""
        return f"s3://{self.bucket}/{self.prefix.strip('/')}"

    def rtt(self, region: str) -> float:
        return rtt_for(region, self.rtt_table or None)

    def process(self, region: str) -> subprocess.Popen[bytes] | None:
        r = self._regions.get(region)
        return r.proc if r else None

    # ---- per region ----------------------------------------------------------------------

    def _region(self, name: str) -> _Region:
        with self._lock:
            if name not in self._regions:
                arn = f"arn:aws:lambda:{name}:000000000000:function:lens-runner-local"
                self._regions[name] = _Region(name, self.rtt(name), RuntimeApi(arn))
            return self._regions[name]

    def _proxy(self, region: _Region, host: str, port: int) -> tuple[DelayProxy, bool]:
        key = (host, port)
        if key in region.proxies:
            return region.proxies[key], False
        proxy = DelayProxy.for_rtt(host, port, region.rtt_ms).start()
        region.proxies[key] = proxy
        return proxy, True

    def _env(self, region: _Region) -> dict[str, str]:
        allowed = ",".join(f"http://{p.address}" for p in region.proxies.values())
        # The process imports lens as this one does (same interpreter, same PYTHONPATH).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LENS_"))}
        env.update(FAKE_CREDS)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": region.api.address,
            "AWS_REGION": region.name,
            "AWS_DEFAULT_REGION": region.name,
            "AWS_ENDPOINT_URL": str(self.s3_endpoint),
            "AWS_LAMBDA_FUNCTION_NAME": "lens-runner-local",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "LENS_RESULTS_BUCKET": self.bucket,
            "LENS_GLUE_CREATE_TABLES": "true",
            "LENS_RESULTS_PREFIX": self.prefix,
            "LENS_ALLOWED_BASE_URLS": allowed,
            "LENS_REGION_LABEL": region.name,
            "LENS_DEADLINE_MARGIN_MS": "2000",
        })
        if self.glue_database:
            env["LENS_GLUE_DATABASE"] = self.glue_database
        env.update(self.extra_env)
        return env

    def _spawn(self, region: _Region) -> None:
        out: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            region.log_path = self.log_dir / f"runner-{region.name}.log"
            out = region.log_path.open("ab")
        region.api.init_error = None
        region.proc = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", HANDLER],
            env=self._env(region),
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def _stop_process(self, region: _Region) -> None:
        proc = region.proc
        region.proc = None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def _rewrite(self, region: _Region, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Point every target at the region's proxy for it; True when a new proxy was made."""
        event = json.loads(json.dumps(payload))
        created = False
        from lens.spec import TargetSpec

        for t in event.get("spec", {}).get("targets", []):
            url = TargetSpec.model_validate(t).resolved_base_url
            parts = urlsplit(url)
            if parts.scheme != "http":
                raise InvokeError(
                    "refused", f"the local fleet proxies plain-http targets only, not {url!r}",
                    hint="use the simulated endpoint or a local model server",
                )
            proxy, new = self._proxy(region, parts.hostname or "127.0.0.1", parts.port or 80)
            created |= new
            t["base_url"] = urlunsplit(("http", proxy.address, parts.path, "", ""))
        return event, created

    def invoke(self, region: str, payload: Mapping[str, Any]) -> RunnerResponse:
        """Run the handler in ``region``'s runtime process (started on first use)."""
        self.start()
        r = self._region(region)
        with r.lock:  # one invocation at a time per region, like one Lambda instance
            event, new_proxy = self._rewrite(r, payload)
            if r.proc is not None and (new_proxy or r.proc.poll() is not None):
                self._stop_process(r)  # the allow-list is fixed at start: restart cold
            if r.proc is None:
                self._spawn(r)
            response = parse_response(r.api.invoke(event, timeout_ms=int(self.timeout_s * 1000)))
        self._unproxy(r, response)
        return response

    def _unproxy(self, region: _Region, response: RunnerResponse) -> None:
        """Inline rows carry the proxy's host:port; give them the real target's back."""
        back = {p.address: f"{h}:{port}" for (h, port), p in region.proxies.items()}
        if response.rows is not None:
            for rec in response.rows.records:
                host = str(rec.get("endpoint_host"))
                rec["endpoint_host"] = back.get(host, rec.get("endpoint_host"))

    def fetch_rows(
        self, region: str, response: RunnerResponse
    ) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        """Inline rows, or the shard's objects read back from the local S3."""
        inline = response.inline_rows()
        if inline is not None:
            return inline
        from lens.store.s3 import read_shard

        if not response.s3_keys:
            return [], []
        records, chunks = read_shard(
            self._s3, self.bucket, response.s3_keys,
            run_id=str(response.run_id), region=str(response.region),
        )
        r = self._regions.get(region)
        if r is not None:
            back = {p.address: f"{h}:{port}" for (h, port), p in r.proxies.items()}
            for rec in records:
                rec.endpoint_host = back.get(rec.endpoint_host, rec.endpoint_host)
        return records, chunks

    def wait_ready(self, region: str, timeout_s: float = 30.0) -> None:
        """Block until ``region``'s runtime polls for work (its init finished)."""
        r = self._region(region)
        deadline = time.monotonic() + timeout_s
        while r.api.polls == 0:
            if r.proc is not None and r.proc.poll() is not None:
                raise InvokeError("function_error", f"runtime for {region} exited ({r.proc.returncode})")
            if time.monotonic() > deadline:
                raise InvokeError("timeout", f"runtime for {region} did not start in {timeout_s}s")
            time.sleep(0.05)
