"""Sweeps that the paper's figures are drawn from, replayed in simulation: accuracy against
test-time tokens (Figs. 3-4), amortization over queries per context (Fig. 9), the gain by
predictability quintile (Fig. 10) and every fixed strategy's cost. Every number is simulated."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime.simulators._items import SimItems, synthetic_items
from sleeptime.simulators._outcomes import OutcomeModel
from sleeptime.simulators._paper import paper_calibration
from sleeptime.simulators._prices import PriceBook
from sleeptime.simulators._replay import fixed_actions, replay
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount


def late_items(n_contexts: int, *, queries: int = 4, seed: int = 0) -> SimItems:
    """Synthetic contexts with exactly ``queries`` queries each, all arriving after the
    sleep-time work is done (as in the paper's Multi-Query runs)."""
    process = ArrivalProcess(queries=FixedCount(queries), idle=ExponentialDurations(1e12))
    return synthetic_items(n_contexts, arrivals=process, seed=seed)


def _aggregates(items: SimItems, sleep: int, budget: int, outcome: OutcomeModel, prices: PriceBook, model: str, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    s, t = fixed_actions(items, sleep, budget)
    return replay(items, sleep_action=s, test_action=t, outcome=outcome, prices=prices, model=model, **kwargs).aggregates  # fmt: skip


def amortization_ratio(rows: Sequence[Mapping[str, Any]], few: int = 1, many: int = 10) -> dict[str, float]:  # fmt: skip
    """Per budget: cost per query with ``few`` queries per context over that with ``many``."""
    cost: dict[str, dict[int, float]] = {}
    for r in rows:
        cost.setdefault(r["budget"], {})[r["queries_per_context"]] = r["cost"]
    return {b: c[few] / c[many] for b, c in cost.items() if few in c and many in c}


def amortization_sweep(
    outcome: OutcomeModel,
    prices: PriceBook,
    model: str,
    *,
    queries_per_context: Sequence[int] = (1, 2, 5, 10),
    sleep_level: int = 1,
    n_contexts: int = 4000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """USD per query of sleep-time at every budget, for each number of queries per context.

    Contexts get exactly that many queries, all after sleep-time work is done (as in the
    paper's Multi-Query runs). ``cost`` is in test-token units: USD over the price of one
    test-time output token.
    """
    unit = prices.price(model).output_usd_per_mtok / 1e6
    rows = []
    for n in queries_per_context:
        items = late_items(n_contexts, queries=n, seed=seed)
        for budget in range(len(outcome.budgets)):
            agg = _aggregates(items, sleep_level, budget, outcome, prices, model, bootstrap=0, return_traces=False)  # fmt: skip
            rows.append({"budget": outcome.budgets[budget], "queries_per_context": n,
                         "usd_per_query": agg["usd_per_query"], "cost": agg["usd_per_query"] / unit,
                         "accuracy": agg["accuracy"]})  # fmt: skip
    return rows


def quintile_gains(
    outcome: OutcomeModel,
    items: SimItems,
    prices: PriceBook,
    model: str,
    *,
    budget: int = 0,
    sleep_level: int = 1,
    by: str = "observed",
) -> list[float]:
    """Accuracy of sleep-time minus test-only per predictability quintile, at one budget.

    ``by="observed"`` bins by what a user sees (the items' observed predictability, e.g. the LM's
    log p(q | c), as the paper binned); ``by="latent"`` by the simulator's latent predictability,
    the scale the outcome model is calibrated on (its quintile gains reproduce the paper's by
    construction).
    """
    from sleeptime.estimators import predictability_quintiles

    if by not in ("observed", "latent"):
        raise ValueError(f"by must be 'observed' or 'latent', got {by!r}")
    late = dataclasses.replace(items, query_time_s=np.full(items.n_queries, 1e12))
    results = []
    for level in (0, sleep_level):
        sleep, test = fixed_actions(late, level, budget)
        results.append(replay(late, sleep_action=sleep, test_action=test, outcome=outcome, prices=prices,
                              model=model, bootstrap=0))  # fmt: skip
    base, slept = results
    assert base.traces is not None and slept.traces is not None
    gain = slept.traces["correct"] - base.traces["correct"]
    values = items.predictability if by == "latent" else items.observed_predictability
    bins = predictability_quintiles(values)
    return [float(gain[bins == q].mean()) for q in range(1, 6)]


@dataclass(frozen=True)
class TokenCurves:
    """Accuracy against test-time tokens: simulated ``(tokens, accuracy)`` per sleep level (one
    point per budget, ``none`` is test-only) and the digitized points per condition."""

    simulated: dict[str, list[tuple[float, float]]]
    digitized: dict[str, list[tuple[float, float]]]


def accuracy_by_test_tokens(outcome: OutcomeModel, items: SimItems, prices: PriceBook, model: str, *, benchmark: str | None = None) -> TokenCurves:  # fmt: skip
    """Every (sleep level, budget) replayed on ``items``; with ``benchmark``, the paper's
    digitized test-only and sleep-time points of that panel beside them."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for s, level in enumerate(outcome.sleep_levels):
        for b in range(len(outcome.budgets)):
            agg = _aggregates(items, s, b, outcome, prices, model, bootstrap=0, return_traces=False)
            curves.setdefault(level.name, []).append((agg["test_tokens_per_query"], agg["accuracy"]))  # fmt: skip
    paper: dict[str, list[tuple[float, float]]] = {}
    if benchmark is not None:
        cal = paper_calibration()
        for cond, key in (("test_only", "none"), ("sleep_time", outcome.sleep_levels[1].name)):
            c = cal.curve(benchmark, model, cond)
            paper[key] = list(zip(c.tokens, c.accuracy, strict=True))
    return TokenCurves(curves, paper)


def fixed_strategy_points(outcome: OutcomeModel, items: SimItems, prices: PriceBook, model: str, *, seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """Accuracy (with its 95% interval) and USD per 1k queries of every fixed strategy."""
    points = []
    for s, level in enumerate(outcome.sleep_levels):
        for k in range(len(outcome.budgets)):
            agg = _aggregates(items, s, k, outcome, prices, model, seed=seed)
            points.append({"name": f"{level.name}/b{k}", "group": "test-only" if s == 0 else f"sleep {level.name}",
                           "usd_per_1k_queries": agg["usd_per_1k_queries"], "accuracy": agg["accuracy"], "accuracy_ci95": agg["accuracy_ci95"]})  # fmt: skip
    return points
