"""The detectable shift and the requests needed are what simulation finds: shifts of the
claimed size are flagged by stats.compare at about the stated power."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lens.analysis import power, stats


def _frame(x: np.ndarray, errors: int = 0) -> pd.DataFrame:
    status = ["ok"] * len(x) + ["timeout"] * errors
    return pd.DataFrame({"ttft_ms": np.r_[x, [np.nan] * errors], "status": status,
                         "warmup": False})


def _claims(q: float, n: int, rng: np.random.Generator) -> tuple[float, int]:
    """The median claim over a few pilot pairs (one pilot's claim is itself noisy)."""
    mdes, needs = [], []
    for i in range(15):
        b, c = _frame(rng.lognormal(5, 0.5, n)), _frame(rng.lognormal(5, 0.5, n))
        row = power.detectable(b, c, ["ttft_ms"], [q], shift=0.10, seed=i).iloc[0]
        mdes.append(row.mde)
        needs.append(row.n_needed)
    return float(np.median(mdes)), int(np.median(needs))


def _detection_rate(n: int, shift: float, q: float, rng: np.random.Generator,
                    sims: int = 200) -> float:
    hits = 0
    for i in range(sims):
        b = _frame(rng.lognormal(5, 0.5, n))
        c = _frame(rng.lognormal(5, 0.5, n) * (1 + shift))
        hits += stats.compare(b, c, ["ttft_ms"], [q], 0.0, seed=i).iloc[0].verdict == "regressed"
    return hits / sims


@pytest.mark.parametrize(("q", "n"), [(50, 200), (95, 300)])
def test_claimed_shift_and_sample_size_are_detected_at_the_stated_power(q: float, n: int) -> None:
    rng = np.random.default_rng(7)
    claimed, need = _claims(q, n, rng)
    # the asymptotic figure for a lognormal(sigma 0.5): Var(log q) = p(1-p) / (n g(z)^2)
    z = 0.0 if q == 50 else 1.6448536
    g = math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / 0.5
    se = math.sqrt(2 * (q / 100) * (1 - q / 100) / (n * g * g))
    assert claimed == pytest.approx(math.expm1((1.959964 + 0.841621) * se), rel=0.15)
    # 200 simulated pairs: the rate's standard error is ~0.03; allow ~2.5 of them
    assert 0.72 <= _detection_rate(n, claimed, q, rng) <= 0.88
    assert 0.72 <= _detection_rate(need, 0.10, q, rng) <= 0.88


def test_p99_claims_are_conservative() -> None:
    # The bootstrap's standard error of an extreme percentile is on the high side, so
    # the claimed shift is found at least as often as promised (docs/stats.md).
    rng = np.random.default_rng(11)
    claimed, _need = _claims(99, 1000, rng)
    assert 0.75 <= _detection_rate(1000, claimed, 99, rng, sims=150) <= 0.97


def test_requests_to_fire_count_failures_and_tails() -> None:
    rng = np.random.default_rng(3)
    ok_b, ok_c = rng.lognormal(5, 0.5, 100), rng.lognormal(5, 0.5, 100)
    clean = power.detectable(_frame(ok_b), _frame(ok_c), ["ttft_ms"], [95], seed=0).iloc[0]
    lossy = power.detectable(_frame(ok_b, 100), _frame(ok_c, 100), ["ttft_ms"], [95],
                             seed=0).iloc[0]
    assert clean.n_needed == lossy.n_needed > 100  # successful requests: same data
    short = clean.n_needed - 100
    assert clean.fire_more == short and lossy.fire_more == 2 * short  # half of them fail
    # p99 of 30 requests: compare needs 100 per run before it judges that tail
    tiny = power.detectable(_frame(ok_b[:30]), _frame(ok_c[:30]), ["ttft_ms"], [99]).iloc[0]
    assert tiny.n_needed >= 100
    # a run without a successful request: nothing to say, said plainly
    none = power.detectable(_frame(ok_b), _frame(ok_c[:0], 5), ["ttft_ms"], [95])
    assert none.empty or not math.isfinite(none.iloc[0].mde)


def test_sentences_read_plainly() -> None:
    rng = np.random.default_rng(5)
    d = power.detectable(_frame(rng.lognormal(5, 0.5, 300)), _frame(rng.lognormal(5, 0.5, 300)),
                         ["ttft_ms"], [95], shift=0.10).iloc[0]
    text = power.sentence(d, label="TTFT")
    assert text.startswith(f"p95 TTFT: detects shifts of {d.mde:.0%} or more; 10% takes about ")
    assert f"about {d.n_needed} successful requests per run" in text
    assert f"fire about {d.fire_more} more" in text
    big = power.detectable(_frame(rng.lognormal(5, 0.1, 3000)),
                           _frame(rng.lognormal(5, 0.1, 3000)), ["ttft_ms"], [50]).iloc[0]
    assert "10% is within reach of these runs" in power.sentence(big)
