"""Where the local results database lives.

Precedence: the ``--db`` flag, then ``LENS_DB``, then ``$XDG_DATA_HOME/lens/lens.db``
(``~/.local/share/lens/lens.db`` when XDG_DATA_HOME is unset or not absolute, as the XDG
spec asks). A value containing ``://`` is an SQLAlchemy URL and is used as is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

DB_ENV = "LENS_DB"
DB_FILENAME = "lens.db"


def data_home(env: Mapping[str, str] | None = None) -> Path:
    """The XDG data directory: $XDG_DATA_HOME if absolute, else ~/.local/share."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share"


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """The default database file, ignoring LENS_DB: <data home>/lens/lens.db."""
    return data_home(env) / "lens" / DB_FILENAME


def resolve_db(flag: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The database to use, as a path or SQLAlchemy URL: flag > LENS_DB > default path."""
    env = os.environ if env is None else env
    if flag:
        return flag
    if env.get(DB_ENV):
        return env[DB_ENV]
    return str(default_db_path(env))


def is_url(value: str) -> bool:
    """True when ``value`` is an SQLAlchemy URL rather than a file path."""
    return "://" in value


def display_db(url_or_path: str | os.PathLike[str]) -> str:
    """How to show a database to people: URLs with their password masked, paths as they are.

    Every message, table, JSON field and error that names a database goes through this, so
    a password in ``--db``/``LENS_DB`` never reaches a terminal, log or report.
    """
    text = os.fspath(url_or_path)
    if not is_url(text) or text.lower().startswith("sqlite"):
        return text  # SQLite URLs carry no credentials; keep them byte for byte
    import sqlalchemy as sa

    try:
        shown = sa.engine.make_url(text).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        shown = re.sub(r"^([^:/]+://[^/@:]*:)[^@/]*@", r"\1***@", text)
    # An unencoded "@" in the password makes the parser split it at the first "@": drop
    # the leftover up to the last "@" of the host part.
    shown = re.sub(r"^([^:/]+://[^/@:]*:\*\*\*@)[^/?#]*@", r"\1", shown)
    # Credentials passed as query parameters (libpq accepts ?password=...).
    return re.sub(
        r"(?i)([?&](?:password|passwd|pwd|sslpassword|secret|token)=)[^&#]*", r"\1***", shown
    )
