"""AWS Lambda runner: one event -> one burst (shard) -> Parquet on S3 + Glue partitions.

Thin edge. The event is validated with pydantic (``RunnerEvent``, extra keys refused);
security rules come from the environment (``settings.Settings``): every target base URL
must be on the allow-list (SSRF), load may not exceed the limits, API keys come from
Secrets Manager / SSM (fetched once per container, never logged or returned). The burst
stops starting requests when the remaining time nears the deadline; what was measured is
written at deterministic keys, so a retried invocation replaces its own rows.

Bad events and failures return ``{"ok": false, "error": "..."}``: no traceback, no secret.

Handler string: ``lambdas.runner.handler.handler`` (or ``handler.handler`` in the zip,
whose root ``handler.py`` re-exports this function).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator  # noqa: E402

from lambdas.runner.settings import Settings, SettingsError, url_allowed  # noqa: E402
from lens.errors import LensError, SecurityError  # noqa: E402
from lens.record import ChunkTiming, RequestRecord  # noqa: E402
from lens.spec import BurstSpec, spec_from_dict  # noqa: E402

log = logging.getLogger("lens.runner")
log.setLevel(logging.INFO)

# Rows are returned inline when their JSON is smaller than this; otherwise the caller
# reads them back from the S3 keys (Lambda's response limit is 6 MB).
INLINE_MAX_BYTES = 1_000_000
# Rows that were not written to S3 (no bucket, or the write failed) come back inline up to
# this much JSON; the rest are counted in ``rows_truncated``. 1 MB stays free for the rest
# of the response under Lambda's 6 MB limit.
INLINE_CAP_BYTES = 5_000_000


class RunnerEvent(BaseModel):
    """What an invocation may ask for. Anything else is refused (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any]
    # Without a run_id (scheduled runs) the Lambda request id is used: async retries of
    # one invocation keep it, so a retry still overwrites its own objects.
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    region: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    shard: int = Field(default=0, ge=0, le=9999)
    shards: int | None = Field(default=None, ge=1, le=10000)
    # The dt partition: YYYY-MM-DD, or an ISO-8601 timestamp with an offset (Scheduler's
    # <aws.scheduler.scheduled-time>) whose UTC date is used. Unset: the invocation's start.
    dt: str | None = None
    inline: bool = True
    source: str | None = None  # e.g. "schedule:<name>", for the logs only

    @field_validator("dt", mode="before")
    @classmethod
    def _dt_is_a_utc_date(cls, v: Any) -> Any:
        return None if v is None else utc_date(v)


def utc_date(value: Any) -> str:
    """``YYYY-MM-DD`` for a date or an offset-aware ISO-8601 timestamp (its UTC date).

    Raises ValueError with the accepted forms: the result names an S3 partition, so
    anything else (a naive time, an unsubstituted ``<aws.scheduler...>``) is refused.
    """
    text = value.strip() if isinstance(value, str) else None
    if text and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a calendar date") from None
    if text and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:.,]+(Z|[+-]\d{2}(:?\d{2})?)", text, re.IGNORECASE):
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            ts = None
        if ts is not None and ts.tzinfo is not None:
            return ts.astimezone(UTC).date().isoformat()
    raise ValueError(
        f"{str(value)[:64]!r} is not a date: give YYYY-MM-DD or an ISO-8601 timestamp with a UTC offset "
        "(e.g. 2026-11-27T23:59:30Z, as <aws.scheduler.scheduled-time> delivers)"
    )


@dataclass
class Container:
    """Per-container state: the boto3 session and clients, cached API keys, cold-start flag."""

    session: Any
    settings: Settings | None = None
    settings_error: str | None = None
    api_keys: dict[str, str] | None = None
    cold: bool = True
    init_ms: float = 0.0
    clients: dict[str, Any] = field(default_factory=dict)

    def results_session(self) -> Any:
        """Session for S3/Glue: in LENS_RESULTS_REGION when the results live elsewhere."""
        want = self.settings.results_region if self.settings else None
        if not want or want == getattr(self.session, "region_name", None):
            return self.session
        if "results" not in self.clients:  # built once per container, default credentials
            self.clients["results"] = boto3.session.Session(region_name=want)
        return self.clients["results"]

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.session.client(name)
        return self.clients[name]


def _load_settings() -> tuple[Settings | None, str | None]:
    try:
        return Settings.from_env(), None
    except SettingsError as exc:
        return None, str(exc)


def configure(*, session: Any | None = None, env: Mapping[str, str] | None = None) -> Container:
    """(Re)build the container state: tests inject a session (moto) and an environment."""
    global _STATE
    if env is not None:
        try:
            settings, err = Settings.from_env(env), None
        except SettingsError as exc:
            settings, err = None, str(exc)
    else:
        settings, err = _load_settings()
    _STATE = Container(session=session or boto3.session.Session(), settings=settings, settings_error=err)
    _STATE.init_ms = round((time.perf_counter() - _T0) * 1000, 3)
    return _STATE


for _mod in ("lens.probe.engine", "lens.store.s3"):
    # Imported during init, so init_ms covers them as Lambda's Init Duration would.
    try:
        importlib.import_module(_mod)
    except ImportError:  # pragma: no cover - reported on the first invocation instead
        pass

_STATE: Container = configure()


# ---- validation --------------------------------------------------------------------------


def validate_event(event: Any, settings: Settings) -> tuple[RunnerEvent, BurstSpec]:
    """Parse the event and apply the environment's security rules; raise with a clear message."""
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


def check_spec(spec: BurstSpec, settings: Settings) -> None:
    """Refuse URLs off the allow-list, file prompts, and load above the limits."""
    if not settings.allowed_base_urls:
        raise SecurityError(
            "no base URL is allowed", hint="set LENS_ALLOWED_BASE_URLS on the function"
        )
    for i, target in enumerate(spec.targets):
        try:
            url = target.resolved_base_url
        except LensError:
            raise SecurityError(f"spec.targets[{i}] has no base_url", hint="set base_url") from None
        if not url_allowed(url, settings.allowed_base_urls):
            raise SecurityError(
                f"spec.targets[{i}].base_url {url!r} is not on the runner's allow-list",
                hint="call one of LENS_ALLOWED_BASE_URLS, or add the URL prefix there (Terraform)",
            )
        if any(h.lower() == "host" for h in target.headers):
            raise SecurityError(f"spec.targets[{i}].headers may not override Host")
    if spec.prompts.file is not None:
        # A file path from an event would read the container's files (e.g. /proc/self/environ).
        raise SecurityError(
            "spec.prompts.file is not allowed in a runner event",
            hint="use prompts.set, prompts.inline or prompts.synthetic_tokens",
        )
    check_keys(spec, settings)
    check_load(spec, settings)
    check_sizes(spec, settings)


def check_keys(spec: BurstSpec, settings: Settings) -> None:
    """Refuse a target that would carry a fetched key to a host the key is not bound to.

    The allow-list says which hosts may be called, not which secret each may receive: without
    this, ``{provider: openai, base_url: <another allowed host>}`` would send the OpenAI key there.
    A target whose key variables name no fetched key sends none and is not affected.
    """
    fetched = settings.api_key_names
    for i, target in enumerate(spec.targets):
        url = target.resolved_base_url
        # Every fetched candidate, not just the first: the engine skips an empty value.
        # headers_env values come from the same fetched secrets: bound the same way.
        names = (*target.key_envs, *target.headers_env.values())
        for name in (n for n in names if n in fetched):
            if not settings.key_allowed(name, url, target.provider):
                raise SecurityError(
                    f"spec.targets[{i}]: key {name} may not be sent to {url}; allow it in LENS_API_KEY_URLS",
                    hint=f'set LENS_API_KEY_URLS to {{"{name}": ["<URL prefix>"]}} on the function '
                    "(Terraform), or call the provider's own API",
                )


def check_load(spec: BurstSpec, settings: Settings) -> None:
    """Refuse more requests in flight at once, or in total, than the runner allows.

    The engine runs every target at once, so the peak in flight is the per-target peak
    times the number of targets: concurrency (the largest sweep level) for closed loops,
    ``max_in_flight`` for rate/poisson arrivals.
    """
    load = spec.load
    n_targets = len(spec.targets)
    levels = load.levels if load.kind == "sweep" and load.levels else [load.concurrency]
    if load.kind in ("rate", "poisson"):
        name, per_target = "load.max_in_flight", load.max_in_flight
    elif load.kind == "sweep":
        name, per_target = "max(load.levels)", max(levels)
    else:
        name, per_target = "load.concurrency", load.concurrency
    in_flight = per_target * n_targets
    if in_flight > settings.max_concurrency:
        what = f"{name}={per_target}"
        if n_targets > 1:
            what += f" x {n_targets} targets = {in_flight} requests in flight"
        raise SecurityError(
            f"{what} exceeds the runner limit LENS_MAX_CONCURRENCY={settings.max_concurrency}",
            hint=f"keep {name} x targets <= {settings.max_concurrency}, "
            "or split the burst into more shards",
        )
    if load.requests is None:
        raise SecurityError(
            "load.requests must be set in a runner event (a duration alone is unbounded)",
            hint=f"set load.requests <= {settings.max_requests}",
        )
    total = (load.requests * len(levels) + spec.warmup) * n_targets
    if total > settings.max_requests:
        raise SecurityError(
            f"the event asks for up to {total} requests ((requests x levels + warmup) x targets), "
            f"above the runner limit LENS_MAX_REQUESTS={settings.max_requests}",
            hint="lower load.requests, or split the burst into more shards",
        )


# Request-body keys (any dialect, compared lower-case without '_') that set the output length.
_OUTPUT_KEYS = frozenset({"maxtokens", "maxcompletiontokens", "maxoutputtokens", "maxnewtokens", "numpredict"})
# Characters per prompt token the size caps assume (English averages about four).
_CHARS_PER_TOKEN = 4


def check_sizes(spec: BurstSpec, settings: Settings) -> None:
    """Refuse outputs above LENS_MAX_OUTPUT_TOKENS and prompts above LENS_MAX_PROMPT_TOKENS."""
    max_out, max_in = settings.max_output_tokens, settings.max_prompt_tokens
    if spec.max_tokens > max_out:
        raise SecurityError(
            f"max_tokens={spec.max_tokens} exceeds the runner limit LENS_MAX_OUTPUT_TOKENS={max_out}",
            hint=f"set max_tokens <= {max_out}",
        )
    prompts = spec.prompts
    if prompts.synthetic_tokens is not None and prompts.synthetic_tokens > max_in:
        raise SecurityError(
            f"prompts.synthetic_tokens={prompts.synthetic_tokens} exceeds the runner limit "
            f"LENS_MAX_PROMPT_TOKENS={max_in}",
            hint=f"set prompts.synthetic_tokens <= {max_in}",
        )
    char_budget = max_in * 2 * _CHARS_PER_TOKEN
    if prompts.inline:
        for j, text in enumerate(prompts.inline):
            est = -(-len(text) // _CHARS_PER_TOKEN)
            if est > max_in:
                raise SecurityError(
                    f"prompts.inline[{j}] is about {est} tokens ({len(text)} characters), above the "
                    f"runner limit LENS_MAX_PROMPT_TOKENS={max_in}",
                    hint=f"keep each inline prompt under {max_in * _CHARS_PER_TOKEN} characters",
                )
        total_chars = sum(len(t) for t in prompts.inline)
        if total_chars > char_budget:
            raise SecurityError(
                f"prompts.inline totals {total_chars} characters, above the runner limit "
                f"LENS_MAX_PROMPT_TOKENS*8={char_budget}",
                hint="send fewer or shorter inline prompts, or use prompts.synthetic_tokens",
            )
    for i, target in enumerate(spec.targets):
        # extra_body is merged into every request body: it could carry a prompt or an output length.
        size = len(json.dumps(target.extra_body, default=str))
        if size > char_budget:
            raise SecurityError(
                f"spec.targets[{i}].extra_body is {size} characters of JSON, above the runner limit "
                f"LENS_MAX_PROMPT_TOKENS*8={char_budget}",
                hint="keep extra_body to request options; put prompts under prompts",
            )
        for path, value in _output_settings(target.extra_body, f"spec.targets[{i}].extra_body"):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= max_out
            if not ok:
                raise SecurityError(
                    f"{path}={value!r} is not within the runner limit LENS_MAX_OUTPUT_TOKENS={max_out}",
                    hint=f"remove it (max_tokens sets the length) or set it to 1..{max_out}",
                )


def _output_settings(obj: Any, path: str) -> list[tuple[str, Any]]:
    """(dotted path, value) of every output-length key nested in ``obj``."""
    out: list[tuple[str, Any]] = []
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            here = f"{path}.{k}"
            if str(k).lower().replace("_", "") in _OUTPUT_KEYS:
                out.append((here, v))
            out.extend(_output_settings(v, here))
    elif isinstance(obj, list):
        for j, v in enumerate(obj):
            out.extend(_output_settings(v, f"{path}[{j}]"))
    return out


# ---- API keys -------------------------------------------------------------------------------


def fetch_api_keys(state: Container) -> dict[str, str]:
    """Fetch the keys named by LENS_API_KEY_SECRETS / LENS_API_KEY_PARAMS once per container."""
    if state.api_keys is not None:
        return state.api_keys
    assert state.settings is not None
    keys: dict[str, str] = {}
    for env_name, secret_id in state.settings.api_key_secrets.items():
        try:
            resp = state.client("secretsmanager").get_secret_value(SecretId=secret_id)
        except Exception as exc:
            raise LensError(
                f"cannot read secret {secret_id!r} for {env_name} ({_code(exc)})",
                hint="check LENS_API_KEY_SECRETS and the function role's secretsmanager:GetSecretValue",
            ) from None
        keys[env_name] = _secret_value(resp.get("SecretString") or "", env_name)
    for env_name, param in state.settings.api_key_params.items():
        try:
            resp = state.client("ssm").get_parameter(Name=param, WithDecryption=True)
        except Exception as exc:
            raise LensError(
                f"cannot read SSM parameter {param!r} for {env_name} ({_code(exc)})",
                hint="check LENS_API_KEY_PARAMS and the function role's ssm:GetParameter",
            ) from None
        keys[env_name] = resp["Parameter"]["Value"]
    state.api_keys = keys
    return keys


def _secret_value(raw: str, env_name: str) -> str:
    """A secret is the key itself, or a JSON object holding it under the env name or 'api_key'."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(obj, dict):
            for k in (env_name, "api_key"):
                if isinstance(obj.get(k), str):
                    return obj[k]
            if len(obj) == 1:
                return str(next(iter(obj.values())))
    return text


def _code(exc: Exception) -> str:
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


# ---- the burst ------------------------------------------------------------------------------


class _Collect:
    """RecordSink keeping rows in memory (stamped with the shard) until the shard is written."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.records: list[RequestRecord] = []
        self.chunks: list[ChunkTiming] = []

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        record.shard = self.shard
        self.records.append(record)
        self.chunks.extend(chunks)


def summarize(records: Sequence[RequestRecord]) -> dict[str, Any]:
    """Counts by status and TTFT/E2E percentiles over measured (non-warm-up, ok) requests."""
    measured = [r for r in records if not r.warmup]
    by_status: dict[str, int] = {}
    for r in measured:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    ok = [r for r in measured if r.status == "ok"]

    def pct(values: list[float], q: float) -> float | None:
        if not values:
            return None
        values = sorted(values)
        k = (len(values) - 1) * q
        lo = int(k)
        hi = min(lo + 1, len(values) - 1)
        return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 3)

    ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
    e2e = [r.e2e_ms for r in ok if r.e2e_ms is not None]
    return {
        "requests": len(measured),
        "warmup": len(records) - len(measured),
        "ok": len(ok),
        "by_status": by_status,
        "ttft_p50_ms": pct(ttft, 0.5),
        "ttft_p90_ms": pct(ttft, 0.9),
        "e2e_p50_ms": pct(e2e, 0.5),
        "e2e_p90_ms": pct(e2e, 0.9),
    }


def _run_id_from(context: Any) -> str:
    rid = str(getattr(context, "aws_request_id", "") or "")
    clean = "".join(ch for ch in rid if ch.isalnum())
    return f"r{clean[:20]}" if clean else f"r{uuid.uuid4().hex[:20]}"


def _row(record: RequestRecord) -> dict[str, Any]:
    d = record.to_dict()
    d["started_at"] = record.started_at.isoformat()
    return d


def run(event: Mapping[str, Any], context: Any, *, state: Container | None = None,
        run_burst: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The handler's body; raises LensError for anything the caller should read."""
    # The dt fallback is the invocation's start: a burst crossing UTC midnight (or a retry
    # finishing later) must not move the shard to another partition.
    invoked_at = datetime.now(UTC)
    state = state or _STATE
    if state.settings is None:
        raise LensError(f"runner misconfigured: {state.settings_error}")
    settings = state.settings
    ev, spec = validate_event(event, settings)
    region = ev.region or settings.region_label
    run_id = ev.run_id or _run_id_from(context)
    spec = spec.model_copy(update={"region": region, "runner": "lambda"})
    api_keys = fetch_api_keys(state)

    margin = settings.deadline_margin_ms

    def should_start() -> bool:
        return context.get_remaining_time_in_millis() > margin

    if run_burst is None:
        from lens.probe.engine import run_burst_sync as run_burst
    sink = _Collect(ev.shard)
    t0 = time.perf_counter()
    skipped = 0
    burst_error: str | None = None
    try:
        result = run_burst(
            spec, run_id=run_id, sink=sink, should_start=should_start, api_keys=api_keys, shard=ev.shard
        )
        skipped = int(getattr(result, "skipped", 0))
        # Records the engine returned but (for any reason) did not pass to the sink.
        seen = {r.request_id for r in sink.records}
        for rec in getattr(result, "records", []):
            if rec.request_id not in seen:
                rec.shard = ev.shard
                sink.records.append(rec)
                sink.chunks.extend(c for c in result.chunks if c.request_id == rec.request_id)
    except LensError as exc:
        burst_error = str(exc)
    except Exception as exc:  # still write what was measured before the failure
        from lens.redact.secrets import scrub

        burst_error = scrub(f"burst failed: {type(exc).__name__}: {exc}", list(api_keys.values()), limit=500)
    duration_ms = round((time.perf_counter() - t0) * 1000, 3)

    dt = ev.dt or invoked_at.strftime("%Y-%m-%d")
    keys: dict[str, str] = {}
    write_error: str | None = None
    if settings.results_bucket:
        from lens.store.s3 import write_shard

        try:
            keys = write_shard(
                sink.records,
                sink.chunks,
                bucket=settings.results_bucket,
                prefix=settings.results_prefix,
                region=region,
                run_id=run_id,
                shard=ev.shard,
                dt=dt,
                boto3_session=state.results_session(),
                glue_database=settings.glue_database,
                tables={"requests": settings.glue_table_requests, "chunks": settings.glue_table_chunks},
                create_missing=settings.glue_create_tables,
            )
        except Exception as exc:  # the measurements go back inline instead of being lost
            from lens.redact.secrets import scrub

            write_error = scrub(
                f"writing the shard to s3://{settings.results_bucket} failed: {type(exc).__name__}: {exc}",
                list(api_keys.values()),
                limit=500,
            )
            log.error("%s", write_error)
            keys = {}
    errors = [e for e in (burst_error, write_error) if e]
    response: dict[str, Any] = {
        "ok": not errors,
        "run_id": run_id,
        "region": region,
        "shard": ev.shard,
        "shards": ev.shards,
        "dt": dt,
        "summary": summarize(sink.records),
        "n_records": len(sink.records),
        "n_chunks": len(sink.chunks),
        "skipped": skipped,
        "bucket": settings.results_bucket,
        "s3_keys": keys,
        "duration_ms": duration_ms,
    }
    if errors:
        response["error"] = "; ".join(errors)
    if not keys or ev.inline:
        # Rows not stored anywhere else always come back (capped below Lambda's 6 MB limit);
        # rows on S3 come back too when asked for and small.
        rows, left_out = inline_rows(sink.records, sink.chunks, INLINE_CAP_BYTES if not keys else INLINE_MAX_BYTES)
        if not keys or left_out == 0:
            response["rows"] = rows
            response["rows_truncated"] = left_out
    return response


def inline_rows(
    records: Sequence[RequestRecord], chunks: Sequence[ChunkTiming], max_bytes: int
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Rows whose JSON fits in ``max_bytes`` (whole records with their chunks, in order),
    and how many records were left out."""
    by_request: dict[str, list[dict[str, Any]]] = {}
    for c in chunks:
        by_request.setdefault(c.request_id, []).append(c.to_dict())
    out: dict[str, list[dict[str, Any]]] = {"records": [], "chunks": []}
    used = len(json.dumps(out))
    for i, record in enumerate(records):
        row = _row(record)
        its_chunks = by_request.pop(record.request_id, [])
        # +2 per item for the ", " json.dumps puts between list items.
        size = len(json.dumps(row, default=str)) + 2 + sum(len(json.dumps(c, default=str)) + 2 for c in its_chunks)
        if used + size > max_bytes:
            return out, len(records) - i
        used += size
        out["records"].append(row)
        out["chunks"].extend(its_chunks)
    return out, 0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point. Never raises: failures are ``{"ok": false, "error": ...}``."""
    state = _STATE
    cold, state.cold = state.cold, False
    base: dict[str, Any] = {
        "cold_start": cold,
        "init_ms": state.init_ms if cold else None,
        "request_id": getattr(context, "aws_request_id", None),
    }
    try:
        out = run(event, context, state=state)
    except LensError as exc:
        log.warning("refused: %s", exc)
        return {"ok": False, "error": str(exc), **base}
    except Exception as exc:  # last line of defence: the type and a scrubbed message only
        from lens.redact.secrets import scrub

        msg = scrub(f"{type(exc).__name__}: {exc}", list((state.api_keys or {}).values()), limit=500)
        log.error("runner failed: %s", msg)
        return {"ok": False, "error": f"internal error: {msg}", **base}
    out.update(base)
    log.info(
        "run %s shard %s region %s: %s records, %s skipped, cold=%s",
        out["run_id"], out["shard"], out["region"], out["n_records"], out["skipped"], cold,
    )
    return out

