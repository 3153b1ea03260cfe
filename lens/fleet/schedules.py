"""EventBridge Scheduler schedules that invoke the runner with a stored spec.

The schedule's target input is a runner event (spec, region label, ``source``) whose
``run_id`` and ``dt`` are Scheduler context attributes, filled in per firing: the run id
from ``<aws.scheduler.execution-id>`` and the dt partition from
``<aws.scheduler.scheduled-time>``. Lambda's async retries resend the same substituted
payload, so a retried delivery overwrites its own objects, in the same partition, even
after UTC midnight. Schedules are named ``lens-<name>`` in their group; ``terraform/``
declares the same shape as code. The scheduler client (one per region) is passed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lens.errors import AwsError, ConfigError
from lens.spec import BurstSpec

PREFIX = "lens-"
# Scheduler context attributes, replaced by their values each time the schedule fires.
EXECUTION_ID = "<aws.scheduler.execution-id>"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# run_id is at most 64 characters; execution ids are UUID-sized (36) or shorter.
_RUN_ID_NAME_MAX = 64 - 1 - 36


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    group: str
    expression: str
    state: str
    target_arn: str
    spec_name: str | None = None


def schedule_event(spec: BurstSpec, *, name: str, region: str | None = None) -> dict[str, Any]:
    """The runner event a schedule delivers (with Scheduler's placeholders for run_id and dt)."""
    event: dict[str, Any] = {
        "spec": spec.model_dump(mode="json", exclude_none=True),
        "run_id": f"{name[:_RUN_ID_NAME_MAX].rstrip('-.')}-{EXECUTION_ID}",
        "dt": SCHEDULED_TIME,
        "source": f"schedule:{name}",
        "inline": False,
    }
    if region:
        event["region"] = region
    return event


def _full(name: str) -> str:
    if not name or len(name) > 64 - len(PREFIX):
        raise ConfigError(f"schedule name {name!r} must be 1-{64 - len(PREFIX)} characters", field="name")
    return name if name.startswith(PREFIX) else PREFIX + name


def _aws(exc: Exception, doing: str) -> AwsError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    return AwsError(f"{doing} failed ({code}: {exc})", hint="check the region, the schedule name and scheduler:* permissions")


def create_schedule(
    scheduler: Any,
    *,
    name: str,
    spec: BurstSpec,
    function_arn: str,
    role_arn: str,
    expression: str,
    group: str = "default",
    region: str | None = None,
    timezone: str = "UTC",
    enabled: bool = True,
) -> str:
    """Create (or replace) a schedule; returns its ARN. ``expression`` is
    ``rate(1 hour)``, ``cron(0 6 * * ? *)`` or ``at(2026-01-01T00:00:00)``."""
    if not expression.startswith(("rate(", "cron(", "at(")):
        raise ConfigError(f"schedule expression {expression!r}", field="expression",
                          hint="use rate(1 hour), cron(0 6 * * ? *) or at(yyyy-mm-ddThh:mm:ss)")
    full = _full(name)
    params = {
        "Name": full,
        "GroupName": group,
        "ScheduleExpression": expression,
        "ScheduleExpressionTimezone": timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if enabled else "DISABLED",
        "Description": f"LLM Latency Lens burst {spec.name!r}",
        "Target": {
            "Arn": function_arn,
            "RoleArn": role_arn,
            "Input": json.dumps(schedule_event(spec, name=full, region=region)),
            "RetryPolicy": {"MaximumRetryAttempts": 0},
        },
    }
    try:
        try:
            return str(scheduler.create_schedule(**params)["ScheduleArn"])
        except scheduler.exceptions.ConflictException:
            return str(scheduler.update_schedule(**params)["ScheduleArn"])
    except Exception as exc:
        raise _aws(exc, f"creating schedule {full!r}") from exc


def list_schedules(scheduler: Any, *, group: str | None = None, prefix: str = PREFIX) -> list[ScheduleInfo]:
    """Lens schedules (names starting with ``prefix``), with the spec name they run."""
    out: list[ScheduleInfo] = []
    kwargs: dict[str, Any] = {"NamePrefix": prefix}
    if group:
        kwargs["GroupName"] = group
    try:
        token = None
        while True:
            page = scheduler.list_schedules(**kwargs, **({"NextToken": token} if token else {}))
            for item in page.get("Schedules", []):
                detail = scheduler.get_schedule(Name=item["Name"], GroupName=item.get("GroupName", "default"))
                spec_name = None
                try:
                    spec_name = json.loads(detail["Target"].get("Input") or "{}").get("spec", {}).get("name")
                except (ValueError, AttributeError):
                    pass
                out.append(ScheduleInfo(
                    name=detail["Name"], group=detail.get("GroupName", "default"),
                    expression=detail.get("ScheduleExpression", ""), state=detail.get("State", ""),
                    target_arn=detail["Target"]["Arn"], spec_name=spec_name,
                ))
            token = page.get("NextToken")
            if not token:
                break
    except Exception as exc:
        raise _aws(exc, "listing schedules") from exc
    return out


def delete_schedule(scheduler: Any, name: str, *, group: str = "default") -> None:
    """Delete a schedule (``name`` with or without the ``lens-`` prefix)."""
    full = _full(name)
    try:
        scheduler.delete_schedule(Name=full, GroupName=group)
    except Exception as exc:
        raise _aws(exc, f"deleting schedule {full!r}") from exc
