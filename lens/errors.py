"""One hierarchy of errors. Each carries a message that says what went wrong and what to do.

Errors become user-facing text only at the edges (CLI, Lambda handler, widgets), via
``str(err)``; library code raises these and never prints. Messages never contain secrets:
an API key is named by its environment variable, never by its value.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class LensError(Exception):
    """Base class of every error lens raises on purpose.

    ``hint`` is the fix, in one sentence; ``str(err)`` joins message and hint.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  fix: {hint}")


class ConfigError(LensError):
    """A burst spec, price file, threshold file or flag is invalid.

    ``source`` names the file or flag, ``field`` the dotted field path.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.field = field
        where = ": ".join(p for p in (source, field) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class TargetError(ConfigError):
    """A target cannot be used: unknown provider, missing API key, disallowed URL."""


class ProbeError(LensError):
    """A burst could not run at all (not: one request failed; that is a record)."""


class StoreError(LensError):
    """A results store could not be opened, migrated, read or written."""


class NotFoundError(StoreError):
    """A run, file or object that was asked for does not exist."""


class AnalysisError(LensError):
    """Data cannot be analysed as asked (empty groups, unknown metric, unpriced model)."""


class BudgetExceededError(LensError):
    """A burst was refused because its estimated cost exceeds a budget."""


class AwsError(LensError):
    """An AWS call failed in a way the user can act on (credentials, missing function)."""


class SecurityError(LensError):
    """A request was refused by a security rule (URL allow-list, limits)."""


class MissingExtraError(LensError):
    """An optional dependency is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise MissingExtraError with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised via monkeypatch in tests
        raise MissingExtraError(
            f"{module!r} is needed for this feature but is not installed",
            hint=f"pip install 'llm-latency-lens[{extra}]'",
        ) from exc
