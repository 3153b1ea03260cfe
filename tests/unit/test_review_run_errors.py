"""``lens run`` says why requests failed, not only how many (adversarial/newcomer review).

Firing README's ``lens run examples/specs/demo.yaml`` without ``lens sim`` running printed
"network 16" per target and nothing else; the stored error said "connection refused;
check the host and port, and that the server is running".
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from helpers_cli import lens

from lens.cli.run_errors import error_lines
from lens.record import RequestRecord
from lens.record.frames import records_to_frame


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lens_run_names_the_reason_requests_failed(tmp_path: Path) -> None:
    port = _closed_port()
    res = lens(["run", "--provider", "openai_compat", "--base-url", f"http://127.0.0.1:{port}/v1",
                "--model", "m", "--requests", "3", "--max-tokens", "4", "--db", str(tmp_path / "d.db")])
    assert "openai_compat/m: 3 of 3 requests failed" in res.err, res.err
    assert "connection refused" in res.err and f"127.0.0.1:{port}" in res.err


def test_error_lines_skip_warmup_and_clean_server_text() -> None:
    now = datetime.now(UTC)
    recs = [
        RequestRecord(run_id="r", request_id="w", started_at=now, target="t", status="http_error",
                      error="warm", warmup=True),
        RequestRecord(run_id="r", request_id="a", started_at=now, target="t", status="ok"),
        RequestRecord(run_id="r", request_id="b", started_at=now, target="t", status="http_error",
                      error="HTTP 500 \x1b]0;title\x07boom"),
    ]
    lines = error_lines(records_to_frame(recs))
    assert lines == ["t: 1 of 2 requests failed; most often (http_error): HTTP 500 boom"]


def test_the_header_counts_warm_up_rows_apart(tmp_path: Path) -> None:
    res = lens(["run", "--provider", "sim", "--model", "m", "--requests", "2", "--warmup", "1",
                "--max-tokens", "2", "--db", str(tmp_path / "d.db")])
    assert res.code == 0, res.err
    out = " ".join(res.out.split())  # rich wraps at the terminal width
    assert "3 requests stored in" in out and "(1 warm-up, not summarised)" in out, res.out
