"""Fleet configuration: where the runner lives in each region and where results go.

Read from ``$LENS_FLEET_CONFIG`` or ``~/.config/lens/fleet.json``. Terraform writes it
(``terraform output -json lens_fleet_config > ~/.config/lens/fleet.json``)::

    {
      "bucket": "lens-results-123", "prefix": "lens",
      "glue_database": "lens", "workgroup": "lens", "athena_output": "s3://.../athena/",
      "schedule_role_arn": "arn:aws:iam::123:role/lens-scheduler",
      "regions": {
        "us-east-1": {"function": "arn:aws:lambda:us-east-1:123:function:lens-runner"},
        "eu-west-1": {"function": "lens-runner", "bucket": "lens-results-eu"}
      }
    }

Top-level keys are defaults; a region may override bucket/prefix. The plain object and
``terraform output -json``'s ``{"value": {...}}`` wrapping are both accepted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lens.errors import ConfigError

ENV = "LENS_FLEET_CONFIG"
DEFAULT_PATH = Path("~/.config/lens/fleet.json")


class RegionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: str = Field(description="Lambda function name or ARN in this region")
    bucket: str | None = None
    prefix: str | None = None


class FleetConfig(BaseModel):
    """The deployed fleet, as Terraform describes it."""

    model_config = ConfigDict(extra="forbid")

    regions: dict[str, RegionConfig] = Field(min_length=1)
    bucket: str | None = None
    prefix: str = "lens"
    glue_database: str | None = None
    workgroup: str = "primary"
    athena_output: str | None = None
    schedule_role_arn: str | None = None
    schedule_group: str = "default"

    def region(self, name: str) -> RegionConfig:
        if name not in self.regions:
            raise ConfigError(
                f"region {name!r} is not in the fleet config (has: {', '.join(sorted(self.regions))})",
                field="regions",
                hint="deploy the runner there (terraform) and re-export the fleet config",
            )
        return self.regions[name]

    def bucket_for(self, region: str) -> str | None:
        return self.region(region).bucket or self.bucket

    def prefix_for(self, region: str) -> str:
        return self.region(region).prefix or self.prefix

    def lake(self) -> str | None:
        """``s3://bucket/prefix`` of the shared results lake, when there is one bucket."""
        return f"s3://{self.bucket}/{self.prefix.strip('/')}" if self.bucket else None


def config_path() -> Path:
    env = os.environ.get(ENV)
    return Path(env).expanduser() if env else DEFAULT_PATH.expanduser()


def parse_fleet_config(data: Any, *, source: str = "<fleet config>") -> FleetConfig:
    """Validate a fleet config mapping (unwrapping terraform's ``{"value": ...}``)."""
    if isinstance(data, dict) and set(data) >= {"value"} and isinstance(data["value"], dict):
        data = data["value"]
    if isinstance(data, dict) and "fleet_config" in data and "regions" not in data:
        return parse_fleet_config(data["fleet_config"], source=source)
    try:
        return FleetConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            first["msg"], source=source, field=".".join(str(p) for p in first["loc"]),
            hint="regenerate it: terraform output -json lens_fleet_config > ~/.config/lens/fleet.json",
        ) from None


def load_fleet_config(path: str | os.PathLike[str] | None = None) -> FleetConfig | None:
    """The fleet config, or None when there is none (the local fleet is used then)."""
    p = Path(path).expanduser() if path else config_path()
    if not p.is_file():
        if path or os.environ.get(ENV):
            raise ConfigError("fleet config file not found", source=str(p), hint=f"check {ENV}")
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc}", source=str(p)) from None
    return parse_fleet_config(data, source=str(p))
