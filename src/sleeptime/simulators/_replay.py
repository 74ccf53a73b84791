"""Vectorized replay: a workload's queries under a policy's decisions, an outcome model, prices."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sleeptime._errors import SleeptimeError
from sleeptime._types import FloatArray, IntArray
from sleeptime.simulators._items import SimItems
from sleeptime.simulators._outcomes import OutcomeModel
from sleeptime.simulators._prices import ModelPrice, PriceBook

#: Prompt overhead in tokens: instructions around the context (test) or around the rewrite (sleep).
TEST_PROMPT_TOKENS = 60.0
SLEEP_PROMPT_TOKENS = 120.0
MODES = ("expected", "sampled")
#: Which context an answer sees: the original, the sleep-time rewrite, or both.
VIEWS = ("c", "c_prime", "both")


@dataclass(frozen=True)
class ReplayResult:
    """Aggregates and, where asked for, one trace record per query (:data:`TRACE_FIELDS` and more).

    ``traces`` holds arrays of length ``n_queries``: ``context_index``, ``sleep_action``,
    ``test_action``, ``sleep_input_tokens`` / ``sleep_output_tokens`` (the context's sleep-time
    work, the same on each of its queries), ``test_input_tokens``, ``test_output_tokens``,
    ``correct`` (a probability in expected mode, 0/1 when sampled), ``latency_s``, ``usd``
    (the query's cost with its share of the context's sleep-time cost) and ``served_with_sleep``.
    """

    aggregates: dict[str, Any]
    traces: dict[str, NDArray[Any]] | None

    def records(
        self, limit: int | None = None, *, model: str = "", items: SimItems | None = None
    ) -> list[dict[str, Any]]:
        """Trace records as dicts (the first ``limit``)."""
        if self.traces is None:
            raise SleeptimeError("this replay kept no traces (return_traces=False)")
        n = (
            len(self.traces["correct"])
            if limit is None
            else min(limit, len(self.traces["correct"]))
        )
        out = []
        for i in range(n):
            ci = int(self.traces["context_index"][i])
            rec: dict[str, Any] = {
                "context_id": items.context_ids[ci]
                if items is not None and items.context_ids
                else str(ci),
                "query_id": items.query_ids[i] if items is not None and items.query_ids else str(i),
                "model": model,
            }
            for key, values in self.traces.items():
                if key != "context_index":
                    value = values[i]
                    rec[key] = value.item() if hasattr(value, "item") else value
            out.append(rec)
        return out

    def write_traces(self, path: str | Path, **kwargs: Any) -> Path:
        """Write trace records as JSONL, atomically."""
        from sleeptime._atomic import atomic_open

        target = Path(path)
        with atomic_open(target) as handle:
            for rec in self.records(**kwargs):
                handle.write(json.dumps(rec) + "\n")
        return target


def _as_int(name: str, values: ArrayLike, size: int) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(size, int(arr), dtype=np.int64)
    if arr.shape != (size,) or not np.issubdtype(arr.dtype, np.integer):
        raise SleeptimeError(
            f"{name} must be integers of shape ({size},), got {arr.dtype} {arr.shape}"
        )
    return arr.astype(np.int64, copy=False)


def poisson_weights(n_boot: int, n_units: int, rng: np.random.Generator) -> FloatArray:
    """Poisson(1) weights of ``n_units`` units (contexts) in each of ``n_boot`` bootstrap draws,
    shape ``(n_boot, n_units)``. A draw that weights no unit at all (likely only with a handful
    of units) is drawn again: a resample of nothing has no statistic."""
    w = rng.poisson(1.0, size=(n_boot, n_units)).astype(np.float64)
    empty = w.sum(axis=1) == 0
    while n_units and empty.any():
        w[empty] = rng.poisson(1.0, size=(int(empty.sum()), n_units))
        empty = w.sum(axis=1) == 0
    return w


def percentile_interval(draws: ArrayLike, *, level: float = 0.95, min_finite: float = 1.0) -> tuple[float, float]:  # fmt: skip
    """Percentile interval of bootstrap ``draws``, shape ``(n_boot,)``: the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles of the finite draws; (nan, nan) where none is finite or
    fewer than the share ``min_finite`` of them (a statistic that does not exist in too many
    draws, such as the cost at an accuracy a policy misses there). The default, 1.0: every
    draw must be finite."""
    x = np.asarray(draws, dtype=np.float64).ravel()
    ok = x[np.isfinite(x)]
    if ok.size == 0 or ok.size < min_finite * x.size:
        return (math.nan, math.nan)
    lo, hi = np.quantile(ok, [round((1 - level) / 2, 12), round((1 + level) / 2, 12)])
    return float(lo), float(hi)


def poisson_bootstrap(
    stat: Callable[[FloatArray], FloatArray],
    n_units: int,
    *,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
    min_finite: float = 1.0,
) -> tuple[float, float]:
    """Percentile interval of a statistic under a Poisson bootstrap: each unit (a context) gets
    a Poisson(1) weight per draw. ``stat`` maps the weights, ``(n_boot, n_units)``, to one value
    per draw, ``(n_boot,)`` (the weights: :func:`poisson_weights`; the interval and
    ``min_finite``: :func:`percentile_interval`)."""
    stats = stat(poisson_weights(n_boot, n_units, rng))
    return percentile_interval(stats, level=level, min_finite=min_finite)


def bootstrap_interval(
    correct: FloatArray,
    query_context: IntArray,
    n_contexts: int,
    *,
    n_boot: int,
    seed: int,
    level: float = 0.95,
    max_blocks: int = 5000,
) -> tuple[float, float]:
    """Percentile interval of accuracy, resampling contexts (:func:`poisson_bootstrap`).

    Contexts are independent, so beyond ``max_blocks`` of them they are first grouped into
    ``max_blocks`` random blocks, which are resampled instead: the same interval in the limit,
    at a cost that does not grow with the workload.
    """
    if n_boot <= 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    sums: FloatArray = np.bincount(query_context, weights=correct, minlength=n_contexts).astype(
        np.float64
    )
    counts = np.bincount(query_context, minlength=n_contexts).astype(np.float64)
    if n_contexts > max_blocks:
        block = rng.integers(0, max_blocks, size=n_contexts)
        sums = np.bincount(block, weights=sums, minlength=max_blocks).astype(np.float64)
        counts = np.bincount(block, weights=counts, minlength=max_blocks).astype(np.float64)

    def accuracy(w: FloatArray) -> FloatArray:
        return np.asarray((w @ sums) / np.maximum(w @ counts, 1.0), dtype=np.float64)

    return poisson_bootstrap(accuracy, sums.size, n_boot=n_boot, rng=rng, level=level)


@dataclass(frozen=True)
class ActionPrices:
    """The prices of each sleep action and each test action of an outcome model: its actions'
    own models where they span several (:attr:`OutcomeModel.sleep_models`), else the one model
    the replay names."""

    sleep: tuple[ModelPrice, ...]
    test: tuple[ModelPrice, ...]

    @classmethod
    def of(cls, outcome: OutcomeModel, prices: PriceBook, model: str) -> ActionPrices:
        """Each action's prices from ``prices``: the action's model, or ``model`` where the
        outcome model names none (and for sleep level 0, which runs nothing)."""
        one = prices.price(model)
        sleep = tuple(prices.price(m) if m else one for m in outcome.sleep_models) or (one,) * len(outcome.sleep_levels)  # fmt: skip
        test = tuple(prices.price(m) if m else one for m in outcome.test_models) or (one,) * len(outcome.budgets)  # fmt: skip
        return cls(sleep, test)

    def per_sleep(self, name: str, actions: IntArray) -> Any:
        """The price field ``name`` of each sleep action in ``actions`` (an array of their
        shape), or one float where every sleep action has the same."""
        return _field(self.sleep, name, actions)

    def per_test(self, name: str, actions: IntArray) -> Any:
        """The price field ``name`` of each test action in ``actions`` (as :meth:`per_sleep`)."""
        return _field(self.test, name, actions)


def _field(entries: tuple[ModelPrice, ...], name: str, actions: IntArray) -> Any:
    values = [float(getattr(e, name)) for e in entries]
    if all(v == values[0] for v in values):
        return values[0]
    return np.asarray(values, dtype=np.float64)[actions]


@dataclass(frozen=True)
class SleepPlan:
    """Per context: compute units, sleep-time tokens in and out, size of c', finish time."""

    units: FloatArray
    input_tokens: FloatArray
    output_tokens: FloatArray
    cprime_tokens: FloatArray
    done_s: FloatArray  # inf where there is no sleep-time work


def sleep_plan(
    items: SimItems, ctx_sleep: IntArray, outcome: OutcomeModel, prices: ActionPrices
) -> SleepPlan:
    """Sleep-time work per context: every unit of compute reads the context and writes its
    tokens; units run in parallel, so the work is done a batch latency plus one unit's decode
    time (of the sleep action's model) after the context arrives."""
    units = np.array([lv.compute for lv in outcome.sleep_levels], dtype=np.float64)[ctx_sleep]
    probe = outcome.outcome(
        difficulty=np.zeros(0), predictability=np.zeros(0), sleep_action=np.zeros(0, np.int64),
        test_action=np.zeros(0, np.int64), served_with_sleep=np.zeros(0, bool), context_sleep_action=ctx_sleep,
    )  # fmt: skip
    out = probe.sleep_output_tokens
    per_unit = np.divide(out, units, out=np.zeros_like(out), where=units > 0)
    latency = prices.per_sleep("batch_latency_s", ctx_sleep)
    done = np.where(
        units > 0, latency + per_unit / prices.per_sleep("decode_tokens_per_s", ctx_sleep), np.inf
    )
    sleep_in = np.where(units > 0, units * (items.context_tokens + SLEEP_PROMPT_TOKENS), 0.0)
    return SleepPlan(units, sleep_in, out, probe.cprime_tokens, done)


def replay(
    items: SimItems,
    *,
    sleep_action: ArrayLike,
    test_action: ArrayLike,
    outcome: OutcomeModel,
    prices: PriceBook,
    model: str,
    mode: str = "expected",
    seed: int = 0,
    bootstrap: int = 1000,
    return_traces: bool = True,
    view: ArrayLike | None = None,
    served: ArrayLike | None = None,
) -> ReplayResult:
    """Replay ``items`` with one sleep action per context and one test action per query.

    ``view`` says per query which context the answer sees (:data:`VIEWS`: 0 ``c``, 1 ``c_prime``,
    2 ``both``, the default): ``c`` ignores sleep-time work, ``c_prime`` sends the rewritten
    context instead of the original (shorter prompts, see the outcome model for its accuracy).

    A query that arrives before its context's sleep-time work has finished (batch latency plus
    decode time) is answered without ``c'``. Sleep-time tokens are priced with the batch
    discount; a test prompt's context (and ``c'``) prefix is a cache read when the context's
    previous query came within the cache lifetime, else a cache write. ``mode="expected"`` uses
    probabilities, ``"sampled"`` seeded Bernoulli draws. ``served`` (per query, optional) says
    instead whether ``c'`` is there when the query arrives: for sleep-time work submitted later
    than the context's arrival (a trigger, a refresh, an idle window), decided by the caller.
    """
    if mode not in MODES:
        raise SleeptimeError(f"mode must be one of {MODES}, got {mode!r}")
    n_q, n_ctx = items.n_queries, items.n_contexts
    ctx_sleep = _as_int("sleep_action", sleep_action, n_ctx)
    test = _as_int("test_action", test_action, n_q)
    outcome.check_actions(ctx_sleep, test)
    ap = ActionPrices.of(outcome, prices, model)
    qc = items.query_context
    q_sleep = items.per_query(ctx_sleep)
    plan = sleep_plan(items, ctx_sleep, outcome, ap)
    sleep_out, sleep_in = plan.output_tokens, plan.input_tokens
    sleep_done_s = np.where(plan.units > 0, plan.done_s, 0.0)
    if served is None:
        ready = (q_sleep > 0) & (items.query_time_s >= items.per_query(sleep_done_s))
    else:
        ready = (q_sleep > 0) & np.broadcast_to(np.asarray(served, dtype=bool), (n_q,))
    if view is None:  # the default, "both": no per-query view arrays to build
        served, cprime_only = ready, None
    else:
        views = _as_int("view", view, n_q)
        if views.size and (views.min() < 0 or views.max() > 2):
            raise SleeptimeError(f"view must be 0..2 ({', '.join(VIEWS)})")
        served = ready & (views > 0)
        cprime_only = served & (views == 1)

    out = outcome.outcome(
        difficulty=items.difficulty, predictability=items.predictability, sleep_action=q_sleep,
        test_action=test, served_with_sleep=served, context_sleep_action=ctx_sleep,
        features={"observed_predictability": items.observed_predictability, **items.features},
        cprime_only=cprime_only,
    )  # fmt: skip
    prefix = items.per_query(items.context_tokens)
    if cprime_only is not None:
        prefix *= ~cprime_only
    prefix += items.per_query(plan.cprime_tokens) * served
    test_in = prefix + items.question_tokens + TEST_PROMPT_TOKENS
    # the cached prefix: a read if the previous query of this context is recent enough
    warm = items.gap_to_previous_s <= ap.per_test("cache_ttl_s", test)
    write = ap.per_test("cache_write_multiplier", test)
    prefix_mult = write + (ap.per_test("cache_read_multiplier", test) - write) * warm
    inp = ap.per_test("input_usd_per_mtok", test) / 1e6
    outp = ap.per_test("output_usd_per_mtok", test) / 1e6
    test_usd = (
        inp * (prefix * prefix_mult + items.question_tokens + TEST_PROMPT_TOKENS)
        + outp * out.test_output_tokens
    )
    sleep_usd_ctx = ap.per_sleep("batch_discount", ctx_sleep) * (
        ap.per_sleep("input_usd_per_mtok", ctx_sleep) / 1e6 * sleep_in
        + ap.per_sleep("output_usd_per_mtok", ctx_sleep) / 1e6 * sleep_out
    )
    latency = ap.per_test("ttft_s", test) + out.test_output_tokens / ap.per_test(
        "decode_tokens_per_s", test
    )

    if mode == "sampled":
        correct = (np.random.default_rng(seed).random(n_q) < out.p_correct).astype(np.float64)
    else:
        correct = out.p_correct
    lo, hi = bootstrap_interval(correct, qc, n_ctx, n_boot=bootstrap, seed=seed + 1)
    total_usd = float(test_usd.sum() + sleep_usd_ctx.sum())
    slept = ctx_sleep > 0
    p50, p95 = np.quantile(latency, [0.5, 0.95])
    n_slept_queries = int(np.count_nonzero(q_sleep))
    aggregates = {
        "mode": mode,
        "queries": n_q,
        "contexts": n_ctx,
        "accuracy": float(correct.mean()),
        "accuracy_ci95": [lo, hi],
        "usd_per_query": total_usd / max(n_q, 1),
        "usd_per_1k_queries": 1000 * total_usd / max(n_q, 1),
        "test_tokens_per_query": float(out.test_output_tokens.mean()),
        "test_input_tokens_per_query": float(test_in.mean()),
        "sleep_tokens_per_context": float(sleep_out.mean()),
        "sleep_share_of_usd": float(sleep_usd_ctx.sum() / total_usd) if total_usd > 0 else 0.0,
        "latency_p50_s": float(p50),
        "latency_p95_s": float(p95),
        "share_before_sleep_done": 1.0 - np.count_nonzero(ready) / n_slept_queries
        if n_slept_queries
        else 0.0,
        "contexts_with_sleep": float(slept.mean()),
    }
    traces = None
    if return_traces:
        counts = items.queries_per_context().astype(np.float64)
        usd = test_usd + items.per_query(sleep_usd_ctx / np.maximum(counts, 1.0))
        traces = {
            "context_index": qc,
            "sleep_action": q_sleep,
            "test_action": test,
            "sleep_input_tokens": items.per_query(sleep_in),
            "sleep_output_tokens": items.per_query(sleep_out),
            "test_input_tokens": test_in,
            "test_output_tokens": out.test_output_tokens,
            "correct": correct,
            "latency_s": latency,
            "usd": usd,
            "served_with_sleep": served,
            "observed_predictability": items.observed_predictability,
        }
    return ReplayResult(aggregates, traces)


def sleep_ready(
    items: SimItems,
    sleep_action: ArrayLike,
    *,
    outcome: OutcomeModel,
    prices: PriceBook,
    model: str,
) -> NDArray[np.bool_]:
    """Per query: has its context's sleep-time work finished when it arrives (is ``c'`` there)?"""
    ctx_sleep = _as_int("sleep_action", sleep_action, items.n_contexts)
    done = sleep_plan(items, ctx_sleep, outcome, ActionPrices.of(outcome, prices, model)).done_s
    return np.asarray(items.query_time_s >= items.per_query(done))


def pareto_front(accuracy: ArrayLike, cost: ArrayLike) -> IntArray:
    """Indexes of the points no other point beats (higher accuracy at no more cost), by cost."""
    acc = np.asarray(accuracy, dtype=np.float64)
    usd = np.asarray(cost, dtype=np.float64)
    order = np.lexsort((-acc, usd))
    front = []
    best = -np.inf
    for i in order:
        if acc[i] > best:
            front.append(i)
            best = acc[i]
    return np.asarray(front, dtype=np.int64)


def fixed_actions(items: SimItems, sleep_level: int, budget: int) -> tuple[IntArray, IntArray]:
    """(sleep actions, test actions) of a fixed strategy: one sleep level for every context,
    one budget for every query."""
    return (
        np.full(items.n_contexts, sleep_level, dtype=np.int64),
        np.full(items.n_queries, budget, dtype=np.int64),
    )


#: Latency histogram of :func:`replay_stream`: log-spaced edges from 1 ms to one day.
LATENCY_EDGES = np.geomspace(1e-3, 86_400.0, 4097)


def replay_stream(
    chunks: Iterable[tuple[SimItems, ArrayLike, ArrayLike]],
    *,
    outcome: OutcomeModel,
    prices: PriceBook,
    model: str,
    mode: str = "expected",
    seed: int = 0,
) -> dict[str, float]:
    """Replay a workload too large for memory, one chunk of whole contexts at a time.

    ``chunks`` yields ``(items, sleep_action, test_action)``; memory is bounded by one chunk.
    Means (accuracy, USD, tokens) are exact; latency percentiles come from a histogram with
    4,096 log-spaced bins (within 0.3% of the exact value). Chunk ``i`` samples with seed
    ``seed + i`` in sampled mode.
    """
    sums = dict.fromkeys(
        ("queries", "contexts", "correct", "usd", "test_tokens", "sleep_tokens"), 0.0
    )
    hist = np.zeros(LATENCY_EDGES.size + 1, dtype=np.int64)
    for i, (items, sleep, test) in enumerate(chunks):
        r = replay(items, sleep_action=sleep, test_action=test, outcome=outcome, prices=prices,
                   model=model, mode=mode, seed=seed + i, bootstrap=0)  # fmt: skip
        agg, traces = r.aggregates, r.traces
        assert traces is not None
        q, c = float(agg["queries"]), float(agg["contexts"])
        sums["queries"] += q
        sums["contexts"] += c
        sums["correct"] += agg["accuracy"] * q
        sums["usd"] += agg["usd_per_query"] * q
        sums["test_tokens"] += agg["test_tokens_per_query"] * q
        sums["sleep_tokens"] += agg["sleep_tokens_per_context"] * c
        hist += np.bincount(
            np.searchsorted(LATENCY_EDGES, traces["latency_s"]), minlength=hist.size
        )
    q = max(sums["queries"], 1.0)
    cum = np.cumsum(hist) / q

    def quantile(p: float) -> float:
        i = int(np.searchsorted(cum, p))
        lo = LATENCY_EDGES[max(i - 1, 0)]
        hi = LATENCY_EDGES[min(i, LATENCY_EDGES.size - 1)]
        return float(np.sqrt(lo * hi))

    return {
        "queries": sums["queries"],
        "contexts": sums["contexts"],
        "accuracy": sums["correct"] / q,
        "usd_per_query": sums["usd"] / q,
        "usd_per_1k_queries": 1000 * sums["usd"] / q,
        "test_tokens_per_query": sums["test_tokens"] / q,
        "sleep_tokens_per_context": sums["sleep_tokens"] / max(sums["contexts"], 1.0),
        "latency_p50_s": quantile(0.5),
        "latency_p95_s": quantile(0.95),
    }
