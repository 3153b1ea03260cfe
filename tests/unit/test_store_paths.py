from __future__ import annotations

from pathlib import Path

import pytest

from lens.store.paths import default_db_path, display_db, is_url, resolve_db


def test_default_path_is_xdg_data_home_or_local_share() -> None:
    assert default_db_path({"HOME": "/h"}) == Path("/h/.local/share/lens/lens.db")
    assert default_db_path({"HOME": "/h", "XDG_DATA_HOME": "/x"}) == Path("/x/lens/lens.db")
    # the XDG spec says relative values are ignored
    assert default_db_path({"HOME": "/h", "XDG_DATA_HOME": "rel"}) == Path(
        "/h/.local/share/lens/lens.db"
    )


def test_flag_beats_env_beats_default() -> None:
    env = {"HOME": "/h", "LENS_DB": "/env.db"}
    assert resolve_db("/flag.db", env) == "/flag.db"
    assert resolve_db(None, env) == "/env.db"
    assert resolve_db(None, {"HOME": "/h"}) == "/h/.local/share/lens/lens.db"
    assert resolve_db(None, {"HOME": "/h", "LENS_DB": ""}) == "/h/.local/share/lens/lens.db"


def test_urls_are_recognised() -> None:
    assert is_url("postgresql+psycopg://u@h/db") and is_url("sqlite:///x.db")
    assert not is_url("/tmp/x.db")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        ("postgresql+psycopg://u:p%40ss@h:5432/x", "postgresql+psycopg://u:***@h:5432/x"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # unencoded "@" in it
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:pw@h:notaport/db", "postgresql://u:***@h:notaport/db"),  # unparseable
        ("postgresql://u@h/db?password=pw2&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/a@b.db", "sqlite:////tmp/a@b.db"),
        ("/tmp/x:y@z.db", "/tmp/x:y@z.db"),  # a path is shown as it is
    ],
)  # fmt: skip
def test_display_db_masks_passwords_only(given: str, shown: str) -> None:
    assert display_db(given) == shown


def test_display_db_takes_path_objects() -> None:
    assert display_db(Path("/data/lens.db")) == "/data/lens.db"
