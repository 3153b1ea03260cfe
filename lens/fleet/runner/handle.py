"""The Lambda runner: one event -> one shard of a burst -> Parquet on S3 + Glue partitions.

:func:`handler` is the function's entry point (``lens.fleet.runner.handle.handler``; the
deployment zip's ``handler.handler`` re-exports it). :func:`handle` does the work:

1. validate the event (:class:`~lens.fleet.runner.wire.RunnerEvent`, extra keys refused)
   and apply the policy (:mod:`lens.fleet.runner.policy`): allow-list, key-to-host
   binding, Bedrock endpoints, limits, ``extra_body`` keys; lower timeouts and response
   caps to the runner's maxima (:func:`~lens.fleet.runner.limits.apply_maxima`);
2. fetch API keys (once per container, :mod:`lens.fleet.runner.keys`);
3. fire through ``lens.burst.run.run`` with a LocalExecutor whose ``deadline_ns`` is the
   Lambda deadline minus a margin for the S3 write: no request starts after it and every
   request still running there is cut and recorded as ``timeout`` with what it received;
4. write the shard to S3 at deterministic keys (a retried invocation replaces its own
   rows) and answer with a :class:`~lens.fleet.runner.wire.RunnerResponse`.

Refused events and failures answer ``{"ok": false, "error": "..."}``: no traceback, no secret.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import importlib  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

from pydantic import ValidationError  # noqa: E402

from lens.errors import LensError, SecurityError  # noqa: E402
from lens.fleet.runner.keys import fetch_keys  # noqa: E402
from lens.fleet.runner.limits import apply_maxima  # noqa: E402
from lens.fleet.runner.policy import check_spec  # noqa: E402
from lens.fleet.runner.results import (  # noqa: E402
    INLINE_CAP_BYTES,
    INLINE_MAX_BYTES,
    Collect,
    inline_rows,
    summarize,
)
from lens.fleet.runner.settings import Settings, SettingsError  # noqa: E402
from lens.fleet.runner.wire import RunnerEvent, RunnerResponse  # noqa: E402
from lens.spec import BurstSpec, spec_from_dict  # noqa: E402

log = logging.getLogger("lens.runner")
log.setLevel(logging.INFO)

# A margin this many times the slowest S3 write the container has seen, if that is more
# than LENS_DEADLINE_MARGIN_MS: the write must fit between the cut and the deadline.
WRITE_MARGIN_FACTOR = 1.5


@dataclass
class Container:
    """Per-container state: boto3 session and clients, cached API keys, cold start, timings."""

    session: Any = None
    settings: Settings | None = None
    settings_error: str | None = None
    api_keys: dict[str, str] | None = None
    cold: bool = True
    init_ms: float = 0.0
    write_ms: float = 0.0  # the slowest S3 write so far
    clients: dict[str, Any] = field(default_factory=dict)

    def boto3_session(self) -> Any:
        if self.session is None:  # built on first use: a refused event needs no AWS
            import boto3

            self.session = boto3.session.Session()
        return self.session

    def results_session(self) -> Any:
        """Session for S3/Glue: in LENS_RESULTS_REGION when the results live elsewhere."""
        want = self.settings.results_region if self.settings else None
        session = self.boto3_session()
        if not want or want == getattr(session, "region_name", None):
            return session
        if "results" not in self.clients:  # built once per container, default credentials
            import boto3

            self.clients["results"] = boto3.session.Session(region_name=want)
        return self.clients["results"]

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.boto3_session().client(name)
        return self.clients[name]

    def margin_ms(self) -> int:
        """Time kept free before the deadline: LENS_DEADLINE_MARGIN_MS, or more when the
        container has measured a slower S3 write."""
        floor = self.settings.deadline_margin_ms if self.settings else 0
        return max(floor, math.ceil(self.write_ms * WRITE_MARGIN_FACTOR))


def configure(*, session: Any | None = None, env: Mapping[str, str] | None = None) -> Container:
    """(Re)build the container state from the environment (tests pass a session and an env)."""
    global _STATE
    try:
        settings, err = Settings.from_env(env), None
    except SettingsError as exc:
        settings, err = None, str(exc)
    _STATE = Container(session=session, settings=settings, settings_error=err)
    _STATE.init_ms = round((time.perf_counter() - _T0) * 1000, 3)
    return _STATE


for _mod in ("lens.probe.engine", "lens.store.s3"):
    # Imported during init, so init_ms covers them as Lambda's Init Duration would.
    try:
        importlib.import_module(_mod)
    except ImportError:  # pragma: no cover - reported on the first invocation instead
        pass

_STATE: Container = configure()


def state() -> Container:
    """This container's state."""
    return _STATE


def validate_event(event: Any, settings: Settings) -> tuple[RunnerEvent, BurstSpec]:
    """Parse the event and apply the runner's policy; raise with a clear message."""
    if not isinstance(event, Mapping):
        raise SecurityError(f"event must be a JSON object, got {type(event).__name__}")
    try:
        ev = RunnerEvent.model_validate(dict(event))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(event)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise LensError(f"event field {where}: {msg}{more}") from None
    spec = spec_from_dict(ev.spec, source="event.spec")
    check_spec(spec, settings)
    return ev, spec


def fetch_api_keys(st: Container) -> dict[str, str]:
    """The configured API keys, fetched once per container."""
    if st.api_keys is None:
        assert st.settings is not None
        st.api_keys = fetch_keys(st.settings, st.client)
    return st.api_keys


def _scrubbed(text: str, st: Container) -> str:
    from lens.redact.secrets import scrub

    return scrub(text, list((st.api_keys or {}).values()), limit=500) or ""


def run_id_from(context: Any) -> str:
    rid = str(getattr(context, "aws_request_id", "") or "")
    clean = "".join(ch for ch in rid if ch.isalnum())
    return f"r{clean[:20]}" if clean else f"r{uuid.uuid4().hex[:20]}"


ExecutorFactory = Callable[..., Any]


def _fire(spec: BurstSpec, run_id: str, sink: Collect, *, api_keys: dict[str, str], deadline_ns: int,
          st: Container, executor: ExecutorFactory | None) -> tuple[int, str | None]:
    """Fire the burst through the one library call; (requests skipped, error or None)."""
    from lens.burst.executor import LocalExecutor
    from lens.burst.run import run

    make = executor or LocalExecutor
    ex = make(api_keys=api_keys, deadline_ns=deadline_ns, shard=sink.shard, runner="lambda")
    try:
        outcome = run(spec, store=None, sinks=[sink], executor=ex, run_id=run_id, source="event.spec")
    except LensError as exc:
        return 0, _scrubbed(str(exc), st)
    except Exception as exc:  # still write what was measured before the failure
        return 0, _scrubbed(f"burst failed: {type(exc).__name__}: {exc}", st)
    sink.add_missing(outcome.records, outcome.chunks)
    return outcome.skipped, None


def _write(st: Container, settings: Settings, sink: Collect, *, region: str, run_id: str,
           dt: str) -> tuple[dict[str, str], str | None]:
    """Write the shard to S3 (+ Glue partitions); (keys, error or None)."""
    if not settings.results_bucket:
        return {}, None
    from lens.store.s3 import write_shard

    t0 = time.perf_counter()
    try:
        keys = write_shard(
            sink.records, sink.chunks, bucket=settings.results_bucket, prefix=settings.results_prefix,
            region=region, run_id=run_id, shard=sink.shard, dt=dt,
            boto3_session=st.results_session(), glue_database=settings.glue_database,
            tables={"requests": settings.glue_table_requests, "chunks": settings.glue_table_chunks},
            create_missing=settings.glue_create_tables,
        )  # fmt: skip
    except Exception as exc:  # the measurements go back inline instead of being lost
        msg = _scrubbed(f"writing the shard to s3://{settings.results_bucket} failed: "
                        f"{type(exc).__name__}: {exc}", st)
        log.error("%s", msg)
        return {}, msg
    finally:
        st.write_ms = max(st.write_ms, (time.perf_counter() - t0) * 1000)
    return keys, None


def handle(event: Any, context: Any, *, st: Container | None = None,
           executor: ExecutorFactory | None = None) -> dict[str, Any]:
    """The handler's body: the response as JSON; raises LensError for a refused event.

    ``executor(api_keys=..., deadline_ns=..., shard=..., runner=...)`` builds what fires
    the burst (default: lens.burst.executor.LocalExecutor, the engine on this loop).
    """
    # The dt fallback is the invocation's start: a burst crossing UTC midnight (or a retry
    # finishing later) must not move the shard to another partition.
    invoked_at = datetime.now(UTC)
    st = st or _STATE
    if st.settings is None:
        raise LensError(f"runner misconfigured: {st.settings_error}")
    settings = st.settings
    ev, spec = validate_event(event, settings)
    spec, adjusted = apply_maxima(spec, settings)
    region = ev.region or settings.region_label
    run_id = ev.run_id or run_id_from(context)
    spec = spec.model_copy(update={"region": region, "runner": "lambda"})
    api_keys = fetch_api_keys(st)
    margin_ms = st.margin_ms()
    # Every request ends by the deadline minus the margin: the rows must be written before
    # Lambda stops the function, or the shard is lost and an async retry repeats the spend.
    remaining_ms = max(0, int(context.get_remaining_time_in_millis()) - margin_ms)
    deadline_ns = time.perf_counter_ns() + remaining_ms * 1_000_000
    sink = Collect(ev.shard)
    t0 = time.perf_counter()
    skipped, burst_error = _fire(spec, run_id, sink, api_keys=api_keys, deadline_ns=deadline_ns,
                                 st=st, executor=executor)
    duration_ms = round((time.perf_counter() - t0) * 1000, 3)
    dt = ev.dt or invoked_at.strftime("%Y-%m-%d")
    keys, write_error = _write(st, settings, sink, region=region, run_id=run_id, dt=dt)
    errors = [e for e in (burst_error, write_error) if e]
    resp = RunnerResponse(
        ok=not errors, run_id=run_id, region=region, shard=ev.shard, shards=ev.shards, dt=dt,
        summary=summarize(sink.records), n_records=len(sink.records), n_chunks=len(sink.chunks),
        skipped=skipped, bucket=settings.results_bucket, s3_keys=keys, duration_ms=duration_ms,
        adjusted=adjusted, deadline_margin_ms=margin_ms,
    )  # fmt: skip
    if errors:
        resp.error = "; ".join(errors)
    if not keys or ev.inline:
        # Rows not stored anywhere else always come back (capped below Lambda's 6 MB limit);
        # rows on S3 come back too when asked for and small.
        rows, left_out = inline_rows(sink.records, sink.chunks, INLINE_CAP_BYTES if not keys else INLINE_MAX_BYTES)
        if not keys or left_out == 0:
            resp.rows, resp.rows_truncated = rows, left_out
    return resp.to_wire()


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point. Never raises: failures are ``{"ok": false, "error": ...}``."""
    st = _STATE
    cold, st.cold = st.cold, False
    base: dict[str, Any] = {
        "cold_start": cold,
        "init_ms": st.init_ms if cold else None,
        "request_id": getattr(context, "aws_request_id", None),
    }
    try:
        out = handle(event, context, st=st)
    except LensError as exc:
        log.warning("refused: %s", exc)
        return RunnerResponse(ok=False, error=_scrubbed(str(exc), st), **base).to_wire()
    except Exception as exc:  # last line of defence: the type and a scrubbed message only
        msg = _scrubbed(f"{type(exc).__name__}: {exc}", st)
        log.error("runner failed: %s", msg)
        return RunnerResponse(ok=False, error=f"internal error: {msg}", **base).to_wire()
    out.update(base)
    log.info(
        "run %s shard %s region %s: %s records, %s skipped, cold=%s",
        out["run_id"], out["shard"], out["region"], out["n_records"], out["skipped"], cold,
    )  # fmt: skip
    return out
