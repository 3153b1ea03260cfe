"""The base of the spec's pydantic models: unknown keys refused, assignments validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A spec model: ``extra="forbid"`` (a typo is an error naming the key, never ignored)
    and ``validate_assignment`` (a widget or a flag setting a field is checked too)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
