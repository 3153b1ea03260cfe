"""The Lambda runner, as a library: one event -> one shard of a burst -> S3.

- :mod:`~lens.fleet.runner.wire`: the event and response models, used by the handler and
  by the fleet that invokes it;
- :mod:`~lens.fleet.runner.settings` (the function's environment), :mod:`~.urls` (URL
  prefixes compared parsed), :mod:`~.policy` and :mod:`~.limits` (what an event may ask
  for), :mod:`~.keys` (API keys from Secrets Manager / SSM), :mod:`~.results` (rows kept,
  summary, inline rows);
- :mod:`~lens.fleet.runner.handle`: ``handle(event, context)`` and the entry point
  ``lens.fleet.runner.handle.handler`` (imports boto3: only the Lambda imports it).

``lambdas/runner/handler.py`` is a thin adapter re-exporting the handler for the zip.
"""
