"""The report's first section: what changed, in sentences.

"p95 TTFT of openai/gpt-4o-mini rose 25% [14%, 36%] (regressed): 466 ms → 582 ms."
Each function in ``VERDICT_SENTENCES`` turns the context into sentences (latency,
errors, cost, what the servers reported, the gate); another verdict (e.g. SLO
attainment) is one more function and one more line there.

Rules: latency verdicts are stats.compare's (the change beyond the threshold *and* its
CI excluding no change); error rates use stats.error_rate_test; cost compares the mean
cost per priced request with a bootstrap CI of the ratio and the same verdict rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis import stats
from lens.analysis.bootstrap import percentile_interval, statistic_replicates
from lens.analysis.reporting import fmt
from lens.analysis.reporting.context import ReportContext
from lens.analysis.reporting.model import Paragraph, Section, Sentence, Sentences

SentenceBuilder = Callable[[ReportContext], list[Sentence]]


def _of(ctx: ReportContext, row: Any) -> str:
    target = getattr(row, "target", None)
    if target is None and len(ctx.targets) == 1:
        target = ctx.targets[0]
    return f" of {target}" if target else ""


def _stat_key(stat: str) -> float:
    return float(stat.lstrip("p")) if stat.startswith("p") else -1.0


def latency_sentences(ctx: ReportContext) -> list[Sentence]:
    """One sentence per regressed or improved percentile; the rest summed up per target."""
    cmp = ctx.comparison
    if cmp is None:
        return []
    out: list[Sentence] = []
    rank = {m: i for i, m in enumerate(dict.fromkeys(cmp["metric"]))}
    order = {"regressed": 0, "improved": 1}
    changed = [r for r in cmp.itertuples(index=False) if r.verdict in order]
    changed.sort(key=lambda r: (order[r.verdict], str(getattr(r, "target", "")),
                                rank[r.metric], _stat_key(r.stat)))
    for row in changed:
        up = row.ratio >= 1
        size = row.ratio - 1 if up else 1 - row.ratio
        lo, hi = ((row.ratio_low - 1, row.ratio_high - 1) if up
                  else (1 - row.ratio_high, 1 - row.ratio_low))
        u = fmt.unit(row.metric)
        text = (f"{row.stat} {fmt.label(row.metric)}{_of(ctx, row)} {'rose' if up else 'fell'} "
                f"{fmt.pct(size)} [{fmt.pct(lo)}, {fmt.pct(hi)}]")
        out.append(Sentence(text, row.verdict,
                            f"{fmt.qty(row.base, u)} {fmt.ARROW} {fmt.qty(row.cand, u)}"))
    groups = cmp.groupby("target", sort=False) if "target" in cmp.columns else [(None, cmp)]
    for target, g in groups:
        same = g[g["verdict"] == "no significant change"]
        if len(same):
            parts = [f"{fmt.label(m)} {', '.join(sorted(x['stat'], key=_stat_key))}"
                     for m, x in same.groupby("metric", sort=False)]
            of = f" for {target}" if target is not None else ""
            out.append(Sentence(f"Unchanged{of} (within {fmt.pct(ctx.threshold)} or within the "
                                f"noise): {'; '.join(parts)}", "no significant change"))
    few = cmp[cmp["verdict"] == "insufficient data"]
    if len(few):
        stats_ = ", ".join(dict.fromkeys(f"{r.stat} {fmt.label(r.metric)}"
                                         for r in few.itertuples(index=False)))
        n = int(min(few["n_base"].min(), few["n_cand"].min()))
        out.append(Sentence(f"Too few successful requests to judge {stats_} ({n} in the "
                            "smaller run; a percentile needs requests beyond it)",
                            "insufficient data"))
    return out


def error_sentences(ctx: ReportContext) -> list[Sentence]:
    e = ctx.errors
    if e is None:
        return []
    if e.base_errors == 0 and e.cand_errors == 0:
        return [Sentence(f"No failed requests in either run ({e.base_n} and {e.cand_n} "
                         "measured requests)", "no significant change")]
    moved = "rose" if e.cand_rate > e.base_rate else "fell" if e.cand_rate < e.base_rate \
        else "stayed"
    text = (f"Error rate {moved} from {fmt.pct(e.base_rate)} to {fmt.pct(e.cand_rate)} "
            f"({e.base_errors} of {e.base_n} {fmt.ARROW} {e.cand_errors} of {e.cand_n})")
    return [Sentence(text, e.verdict, f"{fmt.pvalue(e.p_value)}, {e.test} test")]


def _mean_ratio(b: np.ndarray, c: np.ndarray, ctx: ReportContext) -> tuple[float, float, float]:
    rng = np.random.default_rng(ctx.seed)
    rb = statistic_replicates(b, lambda m: m.mean(axis=1), 2000, rng)
    rc = statistic_replicates(c, lambda m: m.mean(axis=1), 2000, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        iv = percentile_interval(rc / rb, float(c.mean() / b.mean()), 1 - ctx.alpha)
    return iv.estimate, iv.low, iv.high


def cost_sentences(ctx: ReportContext) -> list[Sentence]:
    """Mean cost per priced request, candidate vs baseline, with a bootstrap CI."""
    if not ctx.comparing:
        return []
    priced = ctx.priced
    run = priced["run_id"].astype("object")
    measured = ~priced["warmup"].fillna(False).astype(bool) if "warmup" in priced else True
    sides = [priced.loc[(run == r) & measured, "cost_usd"] for r in (ctx.baseline, ctx.candidate)]
    unpriced = sorted(ctx.pricing.unpriced)
    if any(s.notna().sum() == 0 for s in sides):
        why = f": no price for {', '.join(unpriced[:3])}" if unpriced else ""
        return [Sentence(f"Cost not compared{why} (add a price override file, --prices)")]
    b, c = (s.dropna().to_numpy(dtype="float64") for s in sides)
    if b.mean() == 0:
        if c.mean() == 0:
            return [Sentence("Cost: nothing in either run (priced at $0)")]
        return [Sentence(f"Cost per request: {fmt.usd(0)} {fmt.ARROW} {fmt.usd(c.mean())}")]
    ratio, lo, hi = _mean_ratio(b, c, ctx)
    verdict = stats.verdict(ratio, lo, hi, ctx.threshold, higher_is_better=False)
    if verdict in ("regressed", "improved"):
        up = ratio >= 1
        size, (clo, chi) = (ratio - 1, (lo - 1, hi - 1)) if up else (1 - ratio, (1 - hi, 1 - lo))
        text = (f"Cost per request {'rose' if up else 'fell'} {fmt.pct(size)} "
                f"[{fmt.pct(clo)}, {fmt.pct(chi)}]")
    else:  # the CI spans no change: a signed change reads better than "fell -5%"
        text = f"Cost per request changed {fmt.change(ratio, lo, hi)}"
    detail = f"{fmt.usd(b.mean())} {fmt.ARROW} {fmt.usd(c.mean())} per request"
    if unpriced:
        detail += f"; not priced: {', '.join(unpriced[:3])}"
    return [Sentence(text, verdict, detail)]


def changed_sentences(ctx: ReportContext) -> list[Sentence]:
    """What the servers reported differently (lens.analysis.whatchanged), per target."""
    from lens.analysis.whatchanged import describe, what_changed

    if not ctx.comparing:
        return []
    out = []
    groups = ctx.targets if ctx.by_target else [None]
    for t in groups:
        b = ctx.base if t is None else ctx.base[ctx.base["target"].astype(str) == t]
        c = ctx.cand if t is None else ctx.cand[ctx.cand["target"].astype(str) == t]
        text = describe(what_changed(b, c), fmt.ARROW)
        if text:
            out.append(Sentence(f"At the same time, the servers{f' of {t}' if t else ''} "
                                f"reported: {text}"))
    return out


def gate_sentences(ctx: ReportContext) -> list[Sentence]:
    """lens gate's verdict with its default thresholds (p95 TTFT within +10%)."""
    from lens.analysis import gate

    if not ctx.comparing or ctx.errors is None:
        return []
    res = gate.evaluate(ctx.base, ctx.cand, gate.GateThresholds(seed=ctx.seed), ctx.prices)
    failed = [c.name for c in res.checks if not c.passed]
    detail = f"failed: {', '.join(failed)}" if failed else "every check passed"
    return [Sentence("lens gate with its default thresholds (p95 TTFT within +10%)",
                     "PASS" if res.passed else "FAIL", detail)]


def sample_size_sentences(ctx: ReportContext) -> list[Sentence]:
    """For the gated figure (p95 TTFT) when unchanged: what these runs could have seen."""
    det = ctx.detectable
    cmp = ctx.comparison
    if det is None or cmp is None:
        return []
    row = det[(det["metric"] == "ttft_ms") & (det["stat"] == "p95")]
    verdicts = set(cmp[(cmp["metric"] == "ttft_ms") & (cmp["stat"] == "p95")]["verdict"])
    if row.empty or verdicts & {"regressed", "improved"}:
        return []
    r = row.iloc[0]
    if not np.isfinite(r.mde):
        return []
    short = not pd.isna(r.fire_more) and r.fire_more > 0 and not pd.isna(r.n_needed)
    need = (f"; {fmt.pct(r.target_shift)} would take about {int(r.n_needed):,} successful "
            "requests per run" if short else "")
    return [Sentence(f"These runs detect p95 TTFT shifts of {fmt.pct(r.mde)} or more "
                     f"({fmt.pct(ctx.power)} power){need}")]


def client_sentences(ctx: ReportContext) -> list[Sentence]:
    """Runs whose client could not keep up (lens.analysis.health): their latencies include
    the client's own delay, so every other sentence about them is suspect. The run's loop
    probe comes through ``options["clients"]`` ({run_id: RunInfo.extra["client"]})."""
    from lens.analysis.health import client_health

    clients = ctx.options.get("clients") or {}
    out = []
    for run_id, rows in ctx.requests.groupby("run_id", observed=True, sort=False):
        health = client_health(rows, clients.get(str(run_id)))
        if health.flagged:
            out.append(Sentence(health.message(ctx.run_label(str(run_id))), "client saturated"))
    return out


VERDICT_SENTENCES: list[SentenceBuilder] = [
    client_sentences,
    latency_sentences,
    changed_sentences,
    error_sentences,
    cost_sentences,
    sample_size_sentences,
    gate_sentences,
]


def verdict_section(ctx: ReportContext) -> Section | None:
    """Candidate vs baseline in sentences; for other reports, a short summary per target."""
    if not ctx.comparing:
        return _summary_section(ctx)
    items = [s for build in VERDICT_SENTENCES for s in build(ctx)]
    intro = (f"Candidate {ctx.candidate} against baseline {ctx.baseline}: a change counts when "
             f"it is larger than {fmt.pct(ctx.threshold)} and its {fmt.pct(1 - ctx.alpha)} "
             "bootstrap CI excludes no change.")
    return Section("verdict", "Verdict", [Sentences(items)], intro=intro)


def _summary_section(ctx: ReportContext) -> Section | None:
    d = ctx.measured
    if not len(d):
        return Section("verdict", "Summary", [Paragraph("No measured requests.")])
    items = []
    keys = ["run_id", "target"] if len(ctx.runs) <= 3 else ["target"]
    for key, g in d.groupby(keys, observed=True, sort=False):
        name = " / ".join(map(str, key if isinstance(key, tuple) else (key,)))
        ok = g[g["status"].astype("object") == "ok"]
        parts = []
        for m in ("ttft_ms", "e2e_ms"):
            x = pd.to_numeric(ok[m], errors="coerce").dropna()
            if len(x):
                parts.append(f"p50 {fmt.label(m)} {fmt.qty(x.median(), 'ms')}, "
                             f"p95 {fmt.qty(x.quantile(0.95), 'ms')}")
        err = 1 - len(ok) / len(g)
        parts.append(f"error rate {fmt.pct(err)} of {len(g):,} requests")
        items.append(Sentence(f"{name}: {'; '.join(parts)}"))
    items = client_sentences(ctx) + items[:12]
    if ctx.over_time is not None:
        _series, points, changed = ctx.over_time
        for p, what in zip(points, changed, strict=True):
            up = p.after >= p.before
            items.append(Sentence(
                f"p95 TTFT {'rose' if up else 'fell'} {fmt.pct(abs(p.rel_change))} from the run of "
                f"{p.time:%Y-%m-%d %H:%M} on ({fmt.qty(p.before, 'ms')} {fmt.ARROW} "
                f"{fmt.qty(p.after, 'ms')})", "regressed" if up else "improved",
                f"at the same time the servers reported: {what}" if what else
                "the servers reported nothing different"))
    return Section("verdict", "Summary", [Sentences(items)])
