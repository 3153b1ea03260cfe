"""Runner events with workload fields: no trace files, sessions counted in requests and in
the prompt size of their last turn."""

from __future__ import annotations

from typing import Any

import pytest

from lens.errors import SecurityError
from lens.fleet.runner.policy import check_spec
from lens.fleet.runner.settings import Settings
from lens.spec import spec_from_dict

LOCAL = "http://127.0.0.1:8000/v1"


def _settings() -> Settings:
    return Settings.from_env({"LENS_ALLOWED_BASE_URLS": LOCAL, "LENS_MAX_CONCURRENCY": "8",
                              "LENS_MAX_REQUESTS": "100", "LENS_MAX_PROMPT_TOKENS": "4000"})  # fmt: skip


def _spec(**kw: Any) -> Any:
    data: dict[str, Any] = {"targets": [{"provider": "openai_compat", "base_url": LOCAL, "model": "m"}],
                            "load": {"requests": 10, "concurrency": 2}, **kw}  # fmt: skip
    return spec_from_dict(data)


def test_trace_files_are_refused() -> None:
    spec = _spec(load={"kind": "trace", "requests": 5, "trace": {"file": "/proc/self/environ"}})
    with pytest.raises(SecurityError, match=r"spec\.load\.trace is not allowed in a runner event"):
        check_spec(spec, _settings())


def test_session_turns_count_as_requests() -> None:
    check_spec(_spec(sessions={"turns": 10}), _settings())  # 10 sessions x 10 turns = 100
    with pytest.raises(SecurityError, match=r"up to 110 requests .* x sessions.turns"):
        check_spec(_spec(sessions={"turns": 11}), _settings())


def test_a_sessions_last_turn_must_fit_the_prompt_cap() -> None:
    ok = _spec(prompts={"synthetic_tokens": 300}, max_tokens=100, load={"requests": 2},
               sessions={"turns": 10})  # 10 x 300 + 9 x 100 = 3900  # fmt: skip
    check_spec(ok, _settings())
    big = _spec(prompts={"synthetic_tokens": 300}, max_tokens=200, load={"requests": 2},
                sessions={"turns": 10})  # fmt: skip
    with pytest.raises(SecurityError, match="last turn sends up to 4800 prompt tokens"):
        check_spec(big, _settings())


def test_a_traces_shards_replay_its_rows_once_between_them() -> None:
    from pathlib import Path

    from lens.workload.plan import Workload
    from lens.workload.shard import shard_specs

    trace = Path(__file__).resolve().parents[2] / "data" / "traces" / "sample_mooncake.jsonl"
    spec = _spec(load={"trace": {"file": str(trace)}})
    assert shard_specs(spec, 1) == [spec]
    whole = Workload(spec).rows
    parts = [Workload(s).rows for s in shard_specs(spec, 3)]
    assert len(parts) == 3 and sorted(r.line for p in parts for r in p) == sorted(r.line for r in whole)


