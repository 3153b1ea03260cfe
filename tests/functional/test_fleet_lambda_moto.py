"""LambdaInvoker against moto's Lambda API (server mode): the boto3 invoke request, canned
runner responses, a missing function, and the fan-out keeping the region that answered.
Also EventBridge Scheduler schedules against moto."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from helpers_aws import Moto, make_bucket, moto_server

from lens.fleet import fire
from lens.fleet.invoker import InvokeError
from lens.fleet.lambda_ import LambdaInvoker
from lens.fleet.schedules import create_schedule, delete_schedule, list_schedules
from lens.record import ChunkTiming, RequestRecord
from lens.spec import spec_from_dict
from lens.store.s3 import write_shard

__all__ = ["moto_server"]
SPEC = spec_from_dict({
    "name": "moto-spec",
    "targets": [{"provider": "openai_compat", "base_url": "http://127.0.0.1:9/v1", "model": "m"}],
    "load": {"requests": 3, "concurrency": 1},
})


def _post(url: str, body: dict) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def _function(moto: Moto, region: str) -> str:
    session = moto.session(region)
    iam = session.client("iam")
    try:
        role = iam.create_role(RoleName="lens-runner", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="lens-runner")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(e, c):\n    return {}\n")
    fn = session.client("lambda").create_function(
        FunctionName="lens-runner", Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()}, Architectures=["arm64"])
    return fn["FunctionArn"]


@pytest.fixture
def lam(moto_server: Moto) -> Iterator[Moto]:
    # moto runs no code without Docker; its "simple" Lambda returns queued results instead.
    # (The setting is process-wide in moto: put the default back.)
    _post(f"{moto_server.url}/moto-api/config", {"lambda": {"use_docker": False}})
    yield moto_server
    _post(f"{moto_server.url}/moto-api/config", {"lambda": {"use_docker": True}})


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner_response(run_id: str, region: str, keys: dict, n: int) -> dict:
    return {"ok": True, "run_id": run_id, "region": region, "shard": 0, "n_records": n, "skipped": 0,
            "bucket": "lens-fleet-moto", "s3_keys": keys, "cold_start": True, "init_ms": 321.0,
            "summary": {"ok": n}}


def test_invoke_request_missing_function_and_rows_from_s3(lam: Moto) -> None:
    arn = _function(lam, "us-east-1")
    session = lam.session()
    make_bucket(session, "lens-fleet-moto")
    recs = [RequestRecord(run_id="fleet-moto", request_id=f"q{i}", started_at=datetime.now(UTC),
                          region="us-east-1", status="ok", ttft_ms=20.0 + i) for i in range(3)]
    keys = write_shard(recs, [ChunkTiming("q0", 0, 1.0, "text", 1)], bucket="lens-fleet-moto", prefix="lens",
                       region="us-east-1", run_id="fleet-moto", shard=0, dt="2026-11-27", boto3_session=session)
    # Without inline rows, the fan-out reads the shard back from S3 (the "large result" path).
    _post(f"{lam.url}/moto-api/static/lambda-simple/response",
          {"region": "us-east-1", "results": [json.dumps(_runner_response("fleet-moto", "us-east-1", keys, 3))]})

    sent: list[dict] = []
    from botocore.config import Config

    clients = {
        "us-east-1": session.client("lambda"),
        # eu-west-1 cannot be reached at all: its failure must not cost us-east-1's rows.
        "eu-west-1": lam.session("eu-west-1").client(
            "lambda", endpoint_url=f"http://127.0.0.1:{_closed_port()}",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2)),
    }
    for c in clients.values():
        c.meta.events.register("before-send.lambda.Invoke", lambda request, **kw: sent.append(
            {"url": request.url, "headers": dict(request.headers), "body": request.body}))
    inv = LambdaInvoker(functions={"us-east-1": arn, "eu-west-1": "lens-runner"}, clients=clients,
                        s3_clients={"us-east-1": session.client("s3")})
    res = fire(SPEC, ["us-east-1", "eu-west-1"], invoker=inv, run_id="fleet-moto", inline=False)

    assert res.failures.keys() == {"eu-west-1"}, res.failures
    assert res.statuses["eu-west-1"].reason == "network", res.failures
    us = res.statuses["us-east-1"]
    assert us.ok and us.n_records == 3 and us.cold_starts == 1 and us.init_ms == 321.0
    assert sorted(r.request_id for r in res.records) == ["q0", "q1", "q2"]
    assert [r.ttft_ms for r in sorted(res.records, key=lambda r: r.request_id)] == [20.0, 21.0, 22.0]
    assert all(r.region == "us-east-1" and r.run_id == "fleet-moto" for r in res.records)
    assert len(res.chunks) == 1

    (req,) = [s for s in sent if lam.url in s["url"]]
    body = json.loads(req["body"])
    assert req["headers"]["X-Amz-Invocation-Type"] == b"RequestResponse"
    assert req["url"].endswith(f"/functions/{arn.replace(':', '%3A')}/invocations")
    assert body["run_id"] == "fleet-moto" and body["region"] == "us-east-1" and body["inline"] is False
    assert body["spec"]["load"]["requests"] == 3 and body["shard"] == 0 and body["shards"] == 1


def test_function_error_and_not_json_are_classified(lam: Moto) -> None:
    session = lam.session("us-west-2")
    arn = _function(lam, "us-west-2")
    inv = LambdaInvoker(functions={"us-west-2": arn}, clients={"us-west-2": session.client("lambda")})
    _post(f"{lam.url}/moto-api/static/lambda-simple/response", {"region": "us-west-2", "results": ["not json"]})
    with pytest.raises(InvokeError) as err:
        inv.invoke("us-west-2", {"spec": {}})
    assert err.value.reason == "function_error"


def test_missing_function_is_not_found(moto_server: Moto) -> None:
    # moto's default (Docker) Lambda checks the function exists, like AWS.
    session = moto_server.session("ap-south-1")
    missing = LambdaInvoker(functions={"ap-south-1": "lens-runner"}, clients={"ap-south-1": session.client("lambda")})
    with pytest.raises(InvokeError) as err:
        missing.invoke("ap-south-1", {"spec": {}})
    assert err.value.reason == "not_found" and "terraform" in str(err.value)
    res = fire(SPEC, ["ap-south-1"], invoker=missing)
    assert res.failures["ap-south-1"].startswith("not_found") and res.records == []


def test_schedules_create_list_delete(lam: Moto) -> None:
    sched = lam.session().client("scheduler")
    arn = create_schedule(sched, name="nightly", spec=SPEC, function_arn="arn:aws:lambda:us-east-1:123456789012:function:lens-runner",
                          role_arn="arn:aws:iam::123456789012:role/lens-scheduler", expression="cron(0 6 * * ? *)",
                          region="us-east-1")
    assert arn.endswith("lens-nightly")
    detail = sched.get_schedule(Name="lens-nightly")
    event = json.loads(detail["Target"]["Input"])
    assert event["spec"]["name"] == "moto-spec" and event["source"] == "schedule:lens-nightly"
    assert event["inline"] is False
    assert event["run_id"] == "lens-nightly-<aws.scheduler.execution-id>"
    assert event["dt"] == "<aws.scheduler.scheduled-time>"
    # once Scheduler fills in its context attributes, it is a valid runner event
    from lens.fleet.runner.wire import RunnerEvent

    fired = json.loads(detail["Target"]["Input"].replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
                       .replace("<aws.scheduler.scheduled-time>", "2026-11-27T23:59:30Z"))
    ev = RunnerEvent.model_validate(fired)
    assert (ev.run_id, ev.dt) == ("lens-nightly-d32c5kddcf5bb8c3", "2026-11-27")
    listed = list_schedules(sched)
    assert [(s.name, s.expression, s.spec_name) for s in listed] == [("lens-nightly", "cron(0 6 * * ? *)", "moto-spec")]
    delete_schedule(sched, "nightly")
    assert list_schedules(sched) == []
