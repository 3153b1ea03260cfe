"""Moved: the runner's settings are ``lens.fleet.runner.settings`` (this alias stays for old imports)."""

from lens.fleet.runner.settings import (  # noqa: F401
    _FIELDS,
    ENV_VARS,
    Settings,
    SettingsError,
    UrlPrefix,
    parse_prefix,
    url_allowed,
)
