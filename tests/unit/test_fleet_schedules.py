"""The event a schedule delivers: run_id and dt filled in by Scheduler's context attributes."""

from __future__ import annotations

import json

import pytest

from lens.fleet.runner.wire import RunnerEvent
from lens.fleet.schedules import EXECUTION_ID, SCHEDULED_TIME, create_schedule, schedule_event
from lens.spec import spec_from_dict

SPEC = spec_from_dict({"name": "nightly", "targets": [{"provider": "openai", "model": "gpt-4o-mini"}],
                       "load": {"requests": 3, "concurrency": 1}})


def _fire(event: dict, execution_id: str, scheduled_time: str) -> RunnerEvent:
    """What EventBridge Scheduler does: replace the placeholders, deliver the JSON."""
    text = json.dumps(event).replace(EXECUTION_ID, execution_id).replace(SCHEDULED_TIME, scheduled_time)
    return RunnerEvent.model_validate(json.loads(text))


@pytest.mark.parametrize("name", ["lens-nightly", "lens-" + "x" * 59])
def test_schedule_event_takes_dt_from_the_scheduled_time_and_run_id_from_the_execution(name: str) -> None:
    event = schedule_event(SPEC, name=name, region="eu-west-1")
    assert event["dt"] == "<aws.scheduler.scheduled-time>"
    assert event["run_id"].endswith("-<aws.scheduler.execution-id>")
    # fired at 23:59:30 UTC: the partition is that day, whenever the burst ends
    uuid_sized = "0b3e1c52-6a0f-4f1e-9a57-7d5c2f3b9e10"
    ev = _fire(event, uuid_sized, "2026-11-27T23:59:30Z")
    assert ev.dt == "2026-11-27" and ev.run_id is not None
    assert ev.run_id.endswith(uuid_sized) and ev.run_id.startswith(name[:20]) and len(ev.run_id) <= 64
    assert ev.region == "eu-west-1" and ev.inline is False
    # each firing is its own run; a redelivery of one firing is the same run
    assert _fire(event, "d32c5kddcf5bb8c3", "2026-11-28T00:59:30Z").run_id != ev.run_id
    assert _fire(event, uuid_sized, "2026-11-27T23:59:30Z") == ev


def test_create_schedule_sends_the_placeholders_to_scheduler() -> None:
    class Scheduler:
        class exceptions:  # mirrors the boto3 client attribute
            ConflictException = KeyError

        def __init__(self) -> None:
            self.params: dict = {}

        def create_schedule(self, **params: object) -> dict:
            self.params = params
            return {"ScheduleArn": "arn:aws:scheduler:us-east-1:1:schedule/default/lens-nightly"}

    sched = Scheduler()
    create_schedule(sched, name="nightly", spec=SPEC, function_arn="arn:fn", role_arn="arn:role",
                    expression="cron(0 6 * * ? *)")
    event = json.loads(sched.params["Target"]["Input"])
    assert event["run_id"] == "lens-nightly-<aws.scheduler.execution-id>"
    assert _fire(event, "abc123", "2026-01-01T06:00:00Z").dt == "2026-01-01"
