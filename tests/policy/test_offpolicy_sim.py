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
