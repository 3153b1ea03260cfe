"""#17 item 1: the runner ends every request before the Lambda deadline and writes the shard
(and what it writes holds no prompt text and no key).

The review: an 8 s context and a slow endpoint, and the old handler answered after 30.2 s
(remaining time -22 s), which on AWS is a killed function, a lost shard and a retried burst.
Here the endpoint is lens's simulator with a long inter-token gap (a request would take
minutes), the context counts down like Lambda's, the rows go to S3 on a moto server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers_aws import Moto, make_bucket, moto_server
from helpers_runner import Ctx

from lens.sim import start_sim_in_thread
from lens.store.s3 import read_shard

__all__ = ["moto_server"]
BUCKET = "lens-deadline"
# ~1 token/s for 500 tokens: every request outlives any deadline below; idle 30 s never fires.
SLOW = {"header_ms": 1.0, "ttft_ms": 100.0, "itl_ms": 1000.0, "output_tokens": 500}


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    fast = {"ttft_ms": 5.0, "itl_ms": 1.0, "output_tokens": 4}
    with start_sim_in_thread({"slow": SLOW, "fast": fast, "keyed": {**fast, "require_key": True}}) as s:
        yield s


@pytest.fixture
def H(moto_server: Moto, sim: Any) -> Iterator[Any]:
    import lens.fleet.runner.handle as handle

    make_bucket(moto_server.session(), BUCKET)
    handle.configure(session=moto_server.session(), env={
        "LENS_RESULTS_BUCKET": BUCKET, "LENS_ALLOWED_BASE_URLS": sim.url, "LENS_REGION_LABEL": "eu-west-1",
        "LENS_DEADLINE_MARGIN_MS": "2000",
    })  # fmt: skip
    yield handle
    handle.configure()


def _event(sim: Any, profile: str, **spec: Any) -> dict[str, Any]:
    return {"run_id": f"deadline-{profile}", "inline": True, "spec": {
        "targets": [{"provider": "openai_compat", "base_url": f"{sim.url}/p/{profile}/v1", "model": "m"}],
        "prompts": {"synthetic_tokens": 8}, "max_tokens": 500,
        "load": {"requests": 4, "concurrency": 2},
        # what the review's event set: idle 30 s, total 30 s (the old handler answered at 30.2 s)
        "timeouts": {"idle_s": 30, "total_s": 30}, **spec}}


def test_in_flight_requests_are_cut_before_the_deadline_and_written(H: Any, sim: Any, moto_server: Moto) -> None:
    ctx = Ctx(8000)
    t0 = time.monotonic()
    resp = H.handler(_event(sim, "slow"), ctx)
    elapsed = time.monotonic() - t0
    left = ctx.get_remaining_time_in_millis()
    assert resp["ok"] is True, resp
    # Answered with the margin to spare: cut at 8 s - 2 s, then the S3 write.
    assert elapsed < 7.5 and left > 500, (elapsed, left)
    assert resp["deadline_margin_ms"] == 2000
    # Two requests were in flight (concurrency 2): both cut at the deadline, kept as timeouts
    # with the tokens they had received; the other two never started.
    assert resp["n_records"] == 2 and resp["skipped"] == 2
    records, chunks = read_shard(moto_server.session().client("s3"), BUCKET, resp["s3_keys"],
                                 run_id="deadline-slow", region="eu-west-1")
    assert len(records) == 2 and {r.status for r in records} == {"timeout"}
    for r in records:
        assert "cut at the burst's deadline" in (r.error or "")
        assert r.ttft_ms is not None and 5.0 <= r.e2e_ms / 1000 <= 6.5  # ~8 s - 2 s margin
        got = [c for c in chunks if c.request_id == r.request_id]
        assert 3 <= len(got) <= 7  # ~1 token/s for ~6 s: what arrived is kept
    assert len(chunks) == resp["n_chunks"]


def test_no_time_left_starts_nothing_and_still_answers(H: Any, sim: Any) -> None:
    resp = H.handler(_event(sim, "fast"), Ctx(1500))  # less than the 2 s margin
    assert resp["ok"] is True and resp["n_records"] == 0 and resp["skipped"] == 4


def test_event_timeouts_are_capped_by_the_runner(H: Any, sim: Any, moto_server: Moto) -> None:
    """An event asking for a 900 s total timeout gets LENS_MAX_TIMEOUT_S (here 3 s)."""
    H.configure(session=moto_server.session(), env={
        "LENS_RESULTS_BUCKET": BUCKET, "LENS_ALLOWED_BASE_URLS": sim.url, "LENS_MAX_TIMEOUT_S": "3",
    })  # fmt: skip
    ev = _event(sim, "slow", timeouts={"idle_s": 900, "total_s": 900, "first_token_s": 60})
    ev["spec"]["load"] = {"requests": 1, "concurrency": 1}
    t0 = time.monotonic()
    resp = H.handler(ev, Ctx(60_000))
    assert time.monotonic() - t0 < 10
    assert resp["ok"] is True and resp["n_records"] == 1
    assert resp["adjusted"] == ["timeouts.first_token_s 60 -> 3 (LENS_MAX_TIMEOUT_S)",
                                "timeouts.idle_s 900 -> 3 (LENS_MAX_TIMEOUT_S)",
                                "timeouts.total_s 900 -> 3 (LENS_MAX_TIMEOUT_S)"]
    (rec,) = resp["rows"]["records"]
    assert rec["status"] == "timeout" and "total timeout of 3s" in rec["error"]


def test_what_is_written_holds_no_prompt_text_and_no_key(H: Any, sim: Any, moto_server: Moto) -> None:
    import json

    import awswrangler as wr

    secret = "sk-runner-stored-check-0123456789abcdef"
    H.configure(session=moto_server.session(), env={
        "LENS_RESULTS_BUCKET": BUCKET, "LENS_ALLOWED_BASE_URLS": sim.url,
        "LENS_API_KEY_SECRETS": json.dumps({"OPENAI_API_KEY": "lens/openai"}),
        "LENS_API_KEY_URLS": json.dumps({"OPENAI_API_KEY": [sim.url]}),
    })  # fmt: skip
    H.state().api_keys = {"OPENAI_API_KEY": secret}  # as fetched from Secrets Manager
    ev = _event(sim, "keyed", prompts={"inline": ["PROMPT-MARKER-7f3a tell me a story"]}, max_tokens=4)
    ev["spec"]["targets"][0]["api_key_env"] = "OPENAI_API_KEY"
    resp = H.handler(ev, Ctx(60_000))
    assert resp["ok"] is True and resp["summary"]["ok"] == 4  # require_key: the key was sent
    session = moto_server.session()
    for key in resp["s3_keys"].values():
        df = wr.s3.read_parquet(f"s3://{BUCKET}/{key}", boto3_session=session)
        text = df.astype(str).to_csv()
        assert "PROMPT-MARKER" not in text and secret not in text
    rec = resp["rows"]["records"][0]
    assert rec["prompt_id"] == "inline-0" and len(rec["prompt_hash"]) == 16  # a hash, not the text
    assert "PROMPT-MARKER" not in json.dumps(resp) and secret not in json.dumps(resp)
