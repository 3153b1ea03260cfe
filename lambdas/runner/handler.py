"""AWS Lambda entry point of the runner: a thin adapter over :mod:`lens.fleet.runner`.

Everything lives in the installed package (event and response models in
``lens.fleet.runner.wire``, the security policy in ``policy``/``limits``, settings, key
fetching, the handler in ``handle``), so the local fleet and the tests run the very code
the zip carries. Handler strings that work: ``handler.handler`` (the zip's root shim),
``lambdas.runner.handler.handler`` (this module) and ``lens.fleet.runner.handle.handler``.
"""

from __future__ import annotations

from lens.fleet.runner.handle import (
    Container,
    configure,
    fetch_api_keys,
    handle,
    handler,
    state,
    validate_event,
)
from lens.fleet.runner.wire import RunnerEvent, RunnerResponse, utc_date

__all__ = [
    "Container",
    "RunnerEvent",
    "RunnerResponse",
    "configure",
    "fetch_api_keys",
    "handle",
    "handler",
    "state",
    "utc_date",
    "validate_event",
]
