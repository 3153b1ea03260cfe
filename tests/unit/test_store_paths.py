from __future__ import annotations

from pathlib import Path

from lens.store.paths import default_db_path, is_url, resolve_db


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
