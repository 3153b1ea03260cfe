"""API keys for the runner: fetched from Secrets Manager / SSM Parameter Store by name.

``LENS_API_KEY_SECRETS`` / ``LENS_API_KEY_PARAMS`` map a key variable (``OPENAI_API_KEY``)
to a secret ARN/name or a SecureString parameter. Values are handed to the engine in
memory only: never logged, returned or stored. Errors name the secret, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lens.errors import LensError
from lens.fleet.runner.settings import Settings


def fetch_keys(settings: Settings, client: Callable[[str], Any]) -> dict[str, str]:
    """Every configured key: variable name -> value. ``client(name)`` gives a boto3 client."""
    keys: dict[str, str] = {}
    for env_name, secret_id in settings.api_key_secrets.items():
        try:
            resp = client("secretsmanager").get_secret_value(SecretId=secret_id)
        except Exception as exc:
            raise LensError(
                f"cannot read secret {secret_id!r} for {env_name} ({error_code(exc)})",
                hint="check LENS_API_KEY_SECRETS and the function role's secretsmanager:GetSecretValue",
            ) from None
        keys[env_name] = secret_value(resp.get("SecretString") or "", env_name)
    for env_name, param in settings.api_key_params.items():
        try:
            resp = client("ssm").get_parameter(Name=param, WithDecryption=True)
        except Exception as exc:
            raise LensError(
                f"cannot read SSM parameter {param!r} for {env_name} ({error_code(exc)})",
                hint="check LENS_API_KEY_PARAMS and the function role's ssm:GetParameter",
            ) from None
        keys[env_name] = resp["Parameter"]["Value"]
    return keys


def secret_value(raw: str, env_name: str) -> str:
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
                    return str(obj[k])
            if len(obj) == 1:
                return str(next(iter(obj.values())))
    return text


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, else the exception's type name."""
    resp = getattr(exc, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__
