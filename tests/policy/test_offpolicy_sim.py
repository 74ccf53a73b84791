"""The off-policy estimators in the simulator, where each candidate's truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from sleeptime.policy import CHEAP_POLICY_FEATURES, FixedPolicy
from sleeptime.policy._offpolicy import ESTIMATORS
from sleeptime.policy._offpolicy_sim import simulate_log, validate_estimators


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    from sleeptime.experiments import ScenarioConfig, build_scenario

    return build_scenario(ScenarioConfig(n_contexts=140, seed=0), progress=False)


def test_a_log_takes_the_policys_own_actions_and_explores_at_the_stated_rate(scenario) -> None:  # type: ignore[no-untyped-def]
    items, env = scenario.test, scenario.env
    tables = env.action_tables(items)
    behaviour = FixedPolicy(1, 1)
    log = simulate_log(behaviour, items, env, tables, epsilon=0.2, seed=3)
    n_s, n_b = env.n_sleep, env.n_budgets
    # an action differs from the policy's with probability epsilon * (n - 1) / n
    assert np.mean(log.sleep != 1) == pytest.approx(0.2 * (n_s - 1) / n_s, abs=0.08)
    assert np.mean(log.test != 1) == pytest.approx(0.2 * (n_b - 1) / n_b, abs=0.04)
    own = (log.sleep[items.query_context] == 1) & (log.test == 1)
    assert np.allclose(log.propensity[own], (0.8 + 0.2 / n_s) * (0.8 + 0.2 / n_b))
    assert set(np.unique(log.reward)) <= {0.0, 1.0}
    q = np.arange(items.n_queries)
    assert np.allclose(log.cost, tables.usd[log.sleep[items.query_context], log.test, q])
    again = simulate_log(behaviour, items, env, tables, epsilon=0.2, seed=3)
    assert np.array_equal(again.reward, log.reward) and np.array_equal(again.test, log.test)


def test_the_weighted_estimators_are_unbiased_for_a_candidate_the_log_covers(scenario) -> None:  # type: ignore[no-untyped-def]
    items, env = scenario.test, scenario.env
    seeds = 8
    rows = validate_estimators(FixedPolicy(1, 1), {"fixed(k1,b2)": FixedPolicy(1, 2)}, items, env,
                               features=list(CHEAP_POLICY_FEATURES), epsilons=(0.3,), seeds=seeds, n_boot=100)  # fmt: skip
    assert [r.estimator for r in rows] == list(ESTIMATORS)
    truth = env.action_tables(items).evaluate(np.full(items.n_contexts, 1), np.full(items.n_queries, 2))  # fmt: skip
    for r in rows:
        assert r.seeds == seeds and r.epsilon == 0.3
        assert (r.true_accuracy, r.true_usd_per_query) == pytest.approx(truth)
        assert 0 <= r.accuracy_coverage <= 1 and r.effective_sample_size > 0
    by = {r.estimator: r for r in rows}
    for e in ("ips", "snips", "dr"):
        # the mean error over seeds within 3 standard errors of 0
        assert abs(by[e].accuracy_bias) <= 3 * by[e].accuracy_spread / np.sqrt(seeds) + 1e-9, by[e]
        assert abs(by[e].usd_bias) <= 3 * by[e].usd_spread / np.sqrt(seeds) + 1e-12, by[e]
    # the weights are what they say: every covered query weighs the same (the inverse of its
    # propensity), so the effective sample size is the number of queries the log covers
    n_s, n_b = env.n_sleep, env.n_budgets
    covered = items.n_queries * (0.7 + 0.3 / n_s) * (0.3 / n_b)
    assert by["ips"].effective_sample_size == pytest.approx(covered, rel=0.3)


def test_a_log_splits_its_cost_into_answers_and_sleep_time_work(scenario) -> None:  # type: ignore[no-untyped-def]
    items, env = scenario.test, scenario.env
    tables = env.action_tables(items)
    log = simulate_log(FixedPolicy(1, 1), items, env, tables, epsilon=0.2, seed=1)
    counts = np.bincount(items.query_context, minlength=items.n_contexts)
    # a query's cost is its answer's plus its equal share of its context's notes
    assert np.allclose(log.cost, log.test_cost + (log.sleep_cost / counts)[items.query_context])
    assert np.all(log.sleep_cost[log.sleep == 0] == 0) and np.all(log.sleep_cost[log.sleep > 0] > 0)


def test_the_update_refits_costs_after_a_price_change_and_its_targets_are_unbiased(
    scenario,
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sleeptime.experiments import train_learned_policy
    from sleeptime.policy import log_training_data, update_policy

    items, env = scenario.test, scenario.env
    current = train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, max_iter=60)
    current.set_params(lam=1500.0)
    dear = replace(env, prices=env.prices.with_price_ratio(env.model, env.model, 4.0))
    tables = dear.action_tables(items)
    log = simulate_log(current, items, dear, tables, epsilon=0.3, seed=2)
    data = log_training_data(current, log, items, seed=0, min_rows=30, max_weight=float("inf"))
    # every answer and every note now costs four times as much: the refitted lines say so
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    at = float(np.median(prompt))
    new = data.test_usd[..., 0] + data.test_usd[..., 1] * at
    old = current.test_usd_[..., 0] + current.test_usd_[..., 1] * at
    assert np.allclose(new / old, 4.0, rtol=0.1)
    # uncapped, the doubly robust targets average to the pairs' true accuracy over the queries;
    # capped (the default), they trade a little of that for far less spread
    n_s, n_b = env.n_sleep, env.n_budgets
    y = data.y.reshape(n_s, n_b, items.n_queries)
    assert abs(float(y.mean()) - float(tables.p.mean())) < 0.03
    capped = log_training_data(current, log, items, seed=0, min_rows=30).y
    assert float(np.std(capped)) < float(np.std(data.y)) / 3
    nxt, decision, candidates = update_policy(current, log, items, dear, seed=0, n_boot=100)
    lows = {k: v[1] for k, v in decision.candidates.items()}
    assert set(lows) == {"refit", "repriced"} and all(v[1] <= v[0] <= v[2] for v in decision.candidates.values())  # fmt: skip
    best = max(lows, key=lows.get)  # type: ignore[arg-type]
    assert decision.admitted == (best if lows[best] > decision.current_value else "")
    assert (nxt is not current) == bool(decision.admitted) and set(candidates) == set(lows)
    # the repriced candidate reads the current accuracy model at four times the cost
    repriced = candidates["repriced"]
    again = repriced.test_usd_[..., 0] + repriced.test_usd_[..., 1] * at
    assert np.allclose(again / old, 4.0, rtol=0.15)
    assert repriced.model_ is current.model_ or np.allclose(repriced.model_.predict(data.X[:50]), current.model_.predict(data.X[:50]))  # fmt: skip
    assert decision.fit_contexts + decision.estimate_contexts == items.n_contexts


def test_drifts_change_what_they_name(scenario) -> None:  # type: ignore[no-untyped-def]
    """The batch discount withdrawn doubles sleep-time USD and leaves the answers' alone; a
    domain drift serves the first half from one world and the rest from the other, and refuses
    worlds whose actions differ."""
    from dataclasses import replace

    from sleeptime.policy import domain_drift, price_drift

    items, env = scenario.test, scenario.env
    periods = price_drift(items, env, periods=4, batch_discount=1.0)
    assert [p[2] == env.prices.version for p in periods] == [True, True, False, False]
    assert "batch discount 0.5 -> 1" in periods[-1][2]
    before, after = env.action_tables(periods[3][0]), periods[3][1].action_tables(periods[3][0])
    assert np.allclose(after.usd[0], before.usd[0])  # no sleep: the answer's USD unchanged
    assert np.all(after.usd[1:] > before.usd[1:])  # notes at twice the price
    with pytest.raises(ValueError, match="changes nothing"):
        price_drift(items, env, periods=4)
    other = replace(scenario.env)  # another world offering the same actions
    moved = domain_drift((items, env, "A"), (scenario.train, other, "B"), periods=4)
    assert [p[2] for p in moved] == ["A", "A", "B", "B"]
    assert sum(p[0].n_contexts for p in moved[:2]) == items.n_contexts
    assert sum(p[0].n_contexts for p in moved[2:]) == scenario.train.n_contexts
    from sleeptime.simulators import paper_outcome_model

    fewer = replace(
        env, outcome=paper_outcome_model("stateful-aime", "o1")
    )  # 4 sleep levels, not 5
    with pytest.raises(ValueError, match="one action space"):
        domain_drift((items, env, "A"), (items, fewer, "B"), periods=4)
