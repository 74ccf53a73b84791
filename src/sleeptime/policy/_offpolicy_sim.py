"""The off-policy estimators validated where the truth is known: the simulator as production.

A behaviour policy serves the items with epsilon-greedy exploration around its own decisions
(a sleep level per context, then a budget per query given the level taken), every decision
logged with its propensity; outcomes are drawn from the simulator's expected accuracy of the
action taken, costs are the simulator's. A candidate's true accuracy and USD per query on the
same items are known exactly from the action tables, so each estimator's error is measured,
over many seeds: bias, spread, and how often its 95% interval covers the truth. Simulated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables, Environment, Policy
from sleeptime.policy._offpolicy import (
    ESTIMATORS,
    LoggedDecisions,
    off_policy_estimates,
    outcome_model_params,
)
from sleeptime.simulators import SimItems


def _explore(greedy: IntArray, n: int, epsilon: float, rng: np.random.Generator) -> tuple[IntArray, FloatArray]:  # fmt: skip
    """Epsilon-greedy draws around ``greedy`` (as :class:`sleeptime.runtime.Exploration`),
    vectorized: the actions taken and their probabilities."""
    explore = rng.uniform(size=greedy.shape) < epsilon
    taken = np.where(explore, rng.integers(0, n, size=greedy.shape), greedy)
    p = np.where(taken == greedy, 1 - epsilon + epsilon / n, epsilon / n)
    return taken.astype(np.int64), p


@dataclass(frozen=True)
class SimulatedLog:
    """A behaviour policy's logged traffic on ``items``: the actions taken (sleep per context,
    budget per query), the propensity of each query's (sleep, budget) pair, and the drawn
    outcomes and costs (the query's share of its context's sleep-time cost included); as a
    router's outcomes would come, also each answer's own USD (``test_cost``, per query) and
    each context's sleep-time USD (``sleep_cost``, per context)."""

    sleep: IntArray
    test: IntArray
    propensity: FloatArray
    reward: FloatArray
    cost: FloatArray
    test_cost: FloatArray
    sleep_cost: FloatArray


def simulate_log(behaviour: Policy, items: SimItems, env: Environment, tables: ActionTables, *,
                 epsilon: float, seed: int) -> SimulatedLog:  # fmt: skip
    """Serve ``items`` with ``behaviour`` exploring at ``epsilon`` (sleep level per context, then
    the policy's budget for the level taken, explored too); outcomes Bernoulli of the tables'
    expected accuracy."""
    rng = np.random.default_rng(seed)
    greedy_sleep = np.asarray(behaviour.decide_sleep(items, env), dtype=np.int64)
    sleep, p_sleep = _explore(greedy_sleep, env.n_sleep, epsilon, rng)
    greedy_test = np.asarray(behaviour.decide_test(items, env, sleep, env.ready(items, sleep)), dtype=np.int64)  # fmt: skip
    test, p_test = _explore(greedy_test, env.n_budgets, epsilon, rng)
    s_q = sleep[items.query_context]
    q = np.arange(items.n_queries)
    reward = (rng.uniform(size=items.n_queries) < tables.p[s_q, test, q]).astype(np.float64)
    cost = tables.usd[s_q, test, q]
    sleep_cost = np.zeros(items.n_contexts) if tables.sleep_usd is None else tables.sleep_usd[sleep, np.arange(items.n_contexts)]  # fmt: skip
    test_cost = cost - (sleep_cost / tables.counts)[items.query_context]
    return SimulatedLog(sleep, test, p_sleep[items.query_context] * p_test, reward, cost, test_cost, sleep_cost)  # fmt: skip


def _rows(
    items: SimItems, features: Sequence[str], sleep_q: IntArray, test: IntArray
) -> FloatArray:
    """What the outcome models read, per query: the context features, the context's and the
    question's tokens, how many queries its context got in the log (its share of the sleep-time
    cost depends on it), and the two actions."""
    x = [items.context_features[f][items.query_context] for f in features]
    count = np.bincount(items.query_context, minlength=items.n_contexts)[items.query_context]
    return np.column_stack([*x, items.context_tokens[items.query_context], items.question_tokens, count, sleep_q, test])  # fmt: skip


def logged_decisions(log: SimulatedLog, candidate: tuple[IntArray, IntArray], items: SimItems,
                     features: Sequence[str], seed: int, folds: int = 2) -> LoggedDecisions:  # fmt: skip
    """The log joined to a deterministic candidate (its sleep level per context and budget per
    query) and to outcome models fitted on the log (gradient boosting, one for the reward and
    one for the cost), cross-fitted: the contexts fall into ``folds`` folds and each fold's
    rows are predicted by models fitted on the others, so no row's prediction has seen it."""
    from sleeptime._boosting import boosting_regressor

    cand_sleep, cand_test = candidate
    s_q = log.sleep[items.query_context]
    target = ((s_q == cand_sleep[items.query_context]) & (log.test == cand_test)).astype(np.float64)
    logged = _rows(items, features, s_q, log.test)
    chosen = _rows(items, features, cand_sleep[items.query_context], cand_test)
    fold = np.random.default_rng(seed).integers(0, folds, size=items.n_contexts)[
        items.query_context
    ]
    dm_logged, dm_target = np.empty((items.n_queries, 2)), np.empty((items.n_queries, 2))
    params = outcome_model_params(seed)
    for f in range(folds):
        train, held = fold != f, fold == f
        for k, y in enumerate((log.reward, log.cost)):
            model = boosting_regressor(**params).fit(logged[train], y[train])
            dm_logged[held, k] = model.predict(logged[held])
            dm_target[held, k] = model.predict(chosen[held])
    return LoggedDecisions(items.query_context, log.reward, log.cost, log.propensity, target, dm_logged, dm_target)  # fmt: skip


@dataclass(frozen=True)
class EstimatorQuality(AsJson):
    """One estimator on one candidate at one exploration rate, over ``seeds`` logs (simulated):
    the mean error (bias) and its spread, of accuracy and of USD per query (and relative to the
    true USD), the share of seeds whose 95% interval covered the truth, the mean interval width
    and the mean effective sample size."""

    estimator: str
    candidate: str
    epsilon: float
    seeds: int
    true_accuracy: float
    true_usd_per_query: float
    accuracy_bias: float
    accuracy_spread: float
    accuracy_coverage: float
    accuracy_interval_width: float
    usd_bias: float
    usd_relative_bias: float
    usd_spread: float
    usd_coverage: float
    usd_interval_width: float
    effective_sample_size: float


def validate_estimators(behaviour: Policy, candidates: Mapping[str, Policy], items: SimItems, env: Environment, *,
                        features: Sequence[str], epsilons: Sequence[float] = (0.05, 0.1, 0.2), seeds: int = 50,
                        n_boot: int = 200, seed: int = 0) -> list[EstimatorQuality]:  # fmt: skip
    """Every estimator's quality on every candidate and exploration rate over ``seeds`` logs of
    ``behaviour`` on ``items`` (simulated; the truth from :meth:`Environment.action_tables`)."""
    tables = env.action_tables(items)
    chosen = {name: tuple(np.asarray(a, dtype=np.int64) for a in c.decide(items, env)) for name, c in candidates.items()}  # fmt: skip
    truth = {name: tables.evaluate(*c) for name, c in chosen.items()}
    errors: dict[tuple[str, str, float], list[tuple[float, ...]]] = {}
    for eps in epsilons:
        for k in range(seeds):
            log = simulate_log(behaviour, items, env, tables, epsilon=eps, seed=seed + k)
            for name, c in chosen.items():
                logs = logged_decisions(log, c, items, features, seed + k)  # type: ignore[arg-type]
                acc, usd = truth[name]
                for e, est in off_policy_estimates(logs, n_boot=n_boot, seed=seed + k).items():
                    errors.setdefault((e, name, eps), []).append((
                        est.reward - acc, est.cost - usd,
                        float(est.reward_ci95[0] <= acc <= est.reward_ci95[1]), float(est.cost_ci95[0] <= usd <= est.cost_ci95[1]),
                        est.reward_ci95[1] - est.reward_ci95[0], est.cost_ci95[1] - est.cost_ci95[0], est.effective_sample_size,
                    ))  # fmt: skip
    out = []
    for (e, name, eps), rows in errors.items():
        a = np.array(rows)
        acc, usd = truth[name]
        out.append(EstimatorQuality(e, name, eps, len(rows), acc, usd, float(np.nanmean(a[:, 0])), float(np.nanstd(a[:, 0])),
                                    float(a[:, 2].mean()), float(np.nanmean(a[:, 4])), float(np.nanmean(a[:, 1])),
                                    float(np.nanmean(a[:, 1]) / usd) if usd else float("nan"), float(np.nanstd(a[:, 1])),
                                    float(a[:, 3].mean()), float(np.nanmean(a[:, 5])), float(np.mean(a[:, 6]))))  # fmt: skip
    order = {e: i for i, e in enumerate(ESTIMATORS)}
    return sorted(out, key=lambda q: (q.candidate, q.epsilon, order[q.estimator]))
