"""Learning from logged traffic: a policy refitted from what a router logged, admitted only when
an off-policy estimate says it is better, and a drift scenario that shows the loop recovering.

**The refit** is counterfactual: a router logs one action per query, but a
:class:`LearnedPolicy` learns the chance of a right answer under *every* (sleep level, budget)
pair. Each query gets, for every pair, its doubly robust target: an outcome model's prediction
(gradient boosting, cross-fitted over contexts), plus, at the logged pair, the prediction's
error weighted by the inverse propensity; the targets' expectation is the pair's true value,
so the policy's regression on them is unbiased where the propensities are right. Costs come
from the logged USD: a line over prompt tokens per pair with enough rows, elsewhere the current
policy's line scaled by how far the logged costs moved from what it expected.

**Admission**: the log's contexts are split in two; the candidates (the refit, and the current
policy repriced at the logged costs) are fitted on one half and, with the current policy,
estimated on the other: the value ``accuracy - lam * USD`` per query, accuracy by doubly robust
with its interval over contexts, USD from the cost lines that half of the log measures (a
decision's USD follows from its action and tokens: only accuracy needs the counterfactual); a
candidate is served only when the lower end of its interval beats the current policy's
estimate.
Simulated where the log comes from :func:`simulate_log`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import Environment
from sleeptime.policy._features import ExplorationData, _line, fit_policy
from sleeptime.policy._learned import LearnedPolicy, question_offsets
from sleeptime.policy._offpolicy import off_policy_estimates, outcome_model_params
from sleeptime.policy._offpolicy_sim import SimulatedLog, _rows, logged_decisions, simulate_log
from sleeptime.simulators import SimItems


def subset_log(log: SimulatedLog, items: SimItems, contexts: IntArray) -> tuple[SimulatedLog, SimItems]:  # fmt: skip
    """The part of ``log`` on ``contexts`` (sorted indexes), with its items renumbered."""
    keep = np.isin(items.query_context, contexts)
    part = SimulatedLog(log.sleep[contexts], log.test[keep], log.propensity[keep], log.reward[keep], log.cost[keep],
                        log.test_cost[keep], log.sleep_cost[contexts])  # fmt: skip
    return part, items.subset(contexts)


def log_costs(current: LearnedPolicy, log: SimulatedLog, items: SimItems, *, min_rows: int = 30) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """The cost lines a log says: per (sleep level, budget) pair, the answer's USD over prompt
    tokens, and per level the notes' USD over context tokens, fitted to the logged USD where
    the log holds ``min_rows`` of them, elsewhere the current policy's line scaled by how far
    the logged costs moved from what it expected."""
    assert current.test_usd_ is not None and current.sleep_usd_ is not None
    n_s, n_b = current.test_usd_.shape[:2]
    s_q = log.sleep[items.query_context]
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    expected = current.test_usd_[s_q, log.test, 0] + current.test_usd_[s_q, log.test, 1] * prompt
    factor = float(log.test_cost.sum() / expected.sum()) if expected.sum() > 0 else 1.0
    test_usd = current.test_usd_ * factor
    for s in range(n_s):
        for b in range(n_b):
            rows = (s_q == s) & (log.test == b)
            if rows.sum() >= min_rows:
                test_usd[s, b] = _line(prompt[rows], log.test_cost[rows])
    sleep_expected = current.sleep_usd_[log.sleep, 0] + current.sleep_usd_[log.sleep, 1] * items.context_tokens  # fmt: skip
    s_factor = float(log.sleep_cost.sum() / sleep_expected.sum()) if sleep_expected.sum() > 0 else factor  # fmt: skip
    sleep_usd = current.sleep_usd_ * s_factor
    for s in range(1, n_s):
        rows = log.sleep == s
        if rows.sum() >= min_rows:
            sleep_usd[s] = _line(items.context_tokens[rows], log.sleep_cost[rows])
    return test_usd, sleep_usd


def log_training_data(current: LearnedPolicy, log: SimulatedLog, items: SimItems, *, seed: int = 0,
                      min_rows: int = 30, max_weight: float = 20.0) -> ExplorationData:  # fmt: skip
    """Training data for a :class:`LearnedPolicy` from a log (see the module): doubly robust
    targets for every (sleep level, budget) pair of every logged query, and cost lines refitted
    from the logged USD (pairs with fewer than ``min_rows`` rows: the current line, scaled).
    The correction's weight is capped at ``max_weight``: a joint pair the router explored to
    has a propensity near ``(epsilon / n_sleep) * (epsilon / n_budgets)``, and uncapped
    targets of thousands would drown the regression (a little bias for far less variance)."""
    from sleeptime._boosting import boosting_regressor

    assert current.test_usd_ is not None and current.sleep_usd_ is not None
    features = list(current.features or ())
    n_s, n_b = current.test_usd_.shape[:2]
    qc, n_q = items.query_context, items.n_queries
    s_q = log.sleep[qc]
    logged = _rows(items, features, s_q, log.test)
    fold = np.random.default_rng(seed).integers(0, 2, size=items.n_contexts)[qc]
    pred = np.zeros((n_s, n_b, n_q))
    params = outcome_model_params(seed)
    for f in range(2):
        train, held = fold != f, fold == f
        model = boosting_regressor(**params).fit(logged[train], log.reward[train])
        for s in range(n_s):
            for b in range(n_b):
                pred[s, b, held] = model.predict(_rows(items, features, np.full(n_q, s), np.full(n_q, b))[held])  # fmt: skip
    q = np.arange(n_q)
    y = pred.copy()
    y[s_q, log.test, q] += np.minimum(1.0 / log.propensity, max_weight) * (log.reward - pred[s_q, log.test, q])  # fmt: skip
    F = np.column_stack([items.features[n] for n in features])
    X = np.vstack([np.column_stack([F, np.full(n_q, s), np.full(n_q, b)]) for s in range(n_s) for b in range(n_b)])  # fmt: skip
    test_usd, sleep_usd = log_costs(current, log, items, min_rows=min_rows)
    offsets = question_offsets(items.features, items.context_features, qc, features)
    return ExplorationData(X, y.reshape(-1), test_usd, sleep_usd, np.asarray(current.ready_share_), offsets)  # fmt: skip


@dataclass(frozen=True)
class UpdateDecision(AsJson):
    """One turn of the update loop: the current policy's value estimate and each candidate's
    (accuracy - lam * USD per query on the held-out half of the log, with the 95% interval of
    its accuracy), and the candidate admitted (``""``: none; the current policy stays)."""

    admitted: str
    current_value: float
    candidates: dict[str, tuple[float, float, float]]
    lam: float
    fit_contexts: int
    estimate_contexts: int


def update_policy(current: LearnedPolicy, log: SimulatedLog, items: SimItems, env: Environment, *, seed: int = 0,
                  n_boot: int = 200) -> tuple[LearnedPolicy, UpdateDecision, dict[str, LearnedPolicy]]:  # fmt: skip
    """The next policy from ``log``, the admission decision and the candidates. Two candidates
    are fitted on half the log's contexts: ``refit`` (a :class:`LearnedPolicy` on the doubly robust targets
    and the logged costs) and ``repriced`` (the current policy's accuracy model with the costs
    the log says: what a price change alone asks); both, and the current policy, are estimated
    on the other half. The candidate with the highest lower bound is admitted where that bound
    beats the current policy's estimate; returns the policy to serve next, the decision and the
    candidates by name."""
    rng = np.random.default_rng(seed)
    half = rng.uniform(size=items.n_contexts) < 0.5
    fit_idx, est_idx = np.flatnonzero(half), np.flatnonzero(~half)
    fit_log, fit_items = subset_log(log, items, fit_idx)
    data = log_training_data(current, fit_log, fit_items, seed=seed)
    refit = fit_policy(data, tuple(current.features or ()), seed=seed, max_iter=current.max_iter)
    refit.set_params(lam=current.lam)
    refit.name = current.name
    repriced = copy.deepcopy(current)
    repriced.test_usd_, repriced.sleep_usd_ = data.test_usd, data.sleep_usd
    est_log, est_items = subset_log(log, items, est_idx)
    test_line, sleep_line = log_costs(current, est_log, est_items)
    prompt = est_items.per_query(est_items.context_tokens) + est_items.question_tokens
    counts = np.bincount(est_items.query_context, minlength=est_items.n_contexts)
    values = {}
    for name, policy in (("current", current), ("refit", refit), ("repriced", repriced)):
        sleep, test = (np.asarray(a, dtype=np.int64) for a in policy.decide(est_items, env))
        logs = logged_decisions(
            est_log, (sleep, test), est_items, list(current.features or ()), seed
        )
        e = off_policy_estimates(logs, n_boot=n_boot, seed=seed, estimators=("dr",))["dr"]
        # USD is known given the action: the lines the log measures, no counterfactual needed
        s_q = sleep[est_items.query_context]
        notes = sleep_line[sleep, 0] + sleep_line[sleep, 1] * est_items.context_tokens
        usd = float(np.mean(test_line[s_q, test, 0] + test_line[s_q, test, 1] * prompt + (notes / counts)[est_items.query_context]))  # fmt: skip
        values[name] = (e.reward - current.lam * usd, e.reward_ci95[0] - current.lam * usd, e.reward_ci95[1] - current.lam * usd)  # fmt: skip
    now = values.pop("current")[0]
    best = max(values, key=lambda k: values[k][1])
    admitted = best if values[best][1] > now else ""
    decision = UpdateDecision(admitted, now, values, current.lam, fit_idx.size, est_idx.size)
    candidates = {"refit": refit, "repriced": repriced}
    return candidates.get(admitted, current), decision, candidates


@dataclass(frozen=True)
class DriftPeriod(AsJson):
    """One period of the drift scenario (simulated): each policy's true accuracy and USD per
    query on the period's items (its own decisions, no exploration), the updating policy's
    served USD (exploration included), the update decided at the period's end, and the true
    value on this period of the candidates the previous period's update weighed (what admitting
    one would have given), and each policy's USD per query at the frozen policy's accuracy."""

    period: int
    prices: str
    accuracy: dict[str, float]
    usd_per_query: dict[str, float]
    value: dict[str, float]
    served_usd_per_query: float
    update: UpdateDecision | None
    previous_candidates_value: dict[str, float]
    #: each policy's USD per query at the frozen policy's accuracy on the period (its own
    #: decisions swept over ``lam``, a mix of the two Pareto points around that accuracy; NaN
    #: where no ``lam`` reaches it)
    usd_at_equal_accuracy: dict[str, float]


def drift_scenario(initial: LearnedPolicy, periods: Sequence[tuple[SimItems, Environment, str]], *, epsilon: float = 0.1,
                   seed: int = 0, retrain_at: int | None = None) -> tuple[list[DriftPeriod], float]:  # fmt: skip
    """Serve ``periods`` (items, the world's environment, its name) with three policies: the
    ``initial`` one frozen; one that explores at ``epsilon``, logs and updates after each
    period (:func:`update_policy`); and one retrained after period ``retrain_at`` on a full
    exploration grid of that period's items (every action on every query), serving from the
    next. Returns the periods and what that grid cost (USD: every query answered under every
    action)."""
    from functools import partial

    from sleeptime.policy._evaluate import LearnedTables
    from sleeptime.policy._features import action_exploration_data
    from sleeptime.policy._sweeps import at_equal_accuracy, lam_sweep

    features = tuple(initial.features or ())
    updating, retrained = copy.deepcopy(initial), copy.deepcopy(initial)
    out, grid_usd = [], 0.0
    candidates: dict[str, LearnedPolicy] = {}

    def truth(policy: LearnedPolicy, items: SimItems, env: Environment, tables: Any) -> tuple[float, float]:  # fmt: skip
        return tables.evaluate(*(np.asarray(x, dtype=np.int64) for x in policy.decide(items, env)))  # type: ignore[no-any-return]

    for t, (items, env, name) in enumerate(periods):
        tables = env.action_tables(items)
        acc, usd, value = {}, {}, {}
        current = {"frozen": initial, "updating": updating, "retrained": retrained}
        for label, policy in current.items():
            acc[label], usd[label] = truth(policy, items, env, tables)
            value[label] = acc[label] - initial.lam * usd[label]
        equal = {label: at_equal_accuracy(lam_sweep(tables, partial(LearnedTables.build(p, items).decide, items, env)), acc["frozen"])[1]
                 for label, p in current.items()}  # fmt: skip
        before = {}
        for label, policy in candidates.items():
            a, u = truth(policy, items, env, tables)
            before[label] = a - initial.lam * u
        log = simulate_log(updating, items, env, tables, epsilon=epsilon, seed=seed + t)
        updating, decision, candidates = update_policy(updating, log, items, env, seed=seed + t)
        if retrain_at is not None and t == retrain_at:  # from the next period on
            data = action_exploration_data(env, items, features, seed=seed + t)
            retrained = fit_policy(data, features, seed=seed, max_iter=initial.max_iter)
            retrained.set_params(lam=initial.lam)
            grid_usd = float(tables.usd.sum())
        out.append(
            DriftPeriod(t, name, acc, usd, value, float(log.cost.mean()), decision, before, equal)
        )
    return out, grid_usd


def price_drift(items: SimItems, env: Environment, *, periods: int, ratio: float = 1.0,
                batch_discount: float | None = None) -> list[tuple[SimItems, Environment, str]]:  # fmt: skip
    """``items`` in ``periods`` periods (in order) for :func:`drift_scenario`: the first half at
    ``env``'s prices, from the middle on the model's token prices times ``ratio`` and, when
    given, its sleep-time work paying ``batch_discount`` of the list price (1: the batch discount
    withdrawn). A uniform ratio scales every action's USD alike; a new batch discount moves
    sleep-time against test-time, which changes which actions are worth their price."""
    from dataclasses import replace

    book, change = env.prices, []
    if ratio != 1.0:
        book = book.with_price_ratio(env.model, env.model, ratio)
        change.append(f"{env.model} x{ratio:g}")
    if batch_discount is not None:
        was = book.price(env.model)
        book = replace(book, models={**book.models, env.model: replace(was, batch_discount=batch_discount)})  # fmt: skip
        change.append(f"batch discount {was.batch_discount:g} -> {batch_discount:g}")
    if not change:
        raise ValueError(
            "price_drift changes nothing: give a ratio other than 1 or a batch_discount"
        )
    dear = replace(env, prices=book)
    half = periods // 2
    chunks = np.array_split(np.arange(items.n_contexts), periods)
    version = env.prices.version
    return [(items.subset(c), env if t < half else dear, version if t < half else f"{version}, {', '.join(change)}")
            for t, c in enumerate(chunks)]  # fmt: skip


def domain_drift(before: tuple[SimItems, Environment, str], after: tuple[SimItems, Environment, str], *,
                 periods: int) -> list[tuple[SimItems, Environment, str]]:  # fmt: skip
    """Periods for :func:`drift_scenario` whose traffic moves to another domain halfway: the
    first half of ``periods`` drawn in order from ``before``'s items (served in its world), the
    rest from ``after``'s (e.g. harder problems, where the same action buys less accuracy). Each
    is ``(items, environment, name)``; both worlds must offer the same actions."""
    (a, env_a, name_a), (b, env_b, name_b) = before, after
    if (env_a.n_sleep, env_a.n_budgets) != (env_b.n_sleep, env_b.n_budgets):
        raise ValueError(f"domain_drift: {name_a} offers {env_a.n_sleep} sleep x {env_a.n_budgets} budget actions, {name_b} {env_b.n_sleep} x {env_b.n_budgets}; a policy serves one action space")  # fmt: skip
    half = periods // 2
    first = np.array_split(np.arange(a.n_contexts), half)
    second = np.array_split(np.arange(b.n_contexts), periods - half)
    return [(a.subset(c), env_a, name_a) for c in first] + [
        (b.subset(c), env_b, name_b) for c in second
    ]
