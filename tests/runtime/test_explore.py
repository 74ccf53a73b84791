"""Exploration in the router: epsilon-greedy choices around the policy's own, each with the
probability it had, seeded, off by default."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from sleeptime.runtime import DecisionError, Exploration, RuntimePolicy
from sleeptime.workloads import generate_workload

CONTEXT = generate_workload(1, seed=3).contexts[0]


def _test(policy: RuntimePolicy) -> dict[str, Any]:
    feats = {**policy.context_features(CONTEXT.context), "expected_queries": 4.0}
    return policy.decide_test(feats, question=CONTEXT.queries[0].question, sleep_level="none")


def test_without_exploration_the_decisions_are_the_policys_own(exported: dict[str, Any]) -> None:
    path = exported["cheap"]["path"]
    plain, off = (
        RuntimePolicy.load(path),
        RuntimePolicy.load(path, exploration=Exploration(0.0, seed=1)),
    )
    assert "propensity" not in _test(plain)
    d = _test(off)
    assert d["propensity"] == 1.0 and d["budget"] == d["greedy"] == _test(plain)["budget"]


def test_each_budget_is_taken_as_often_as_its_logged_propensity_says(
    exported: dict[str, Any],
) -> None:
    path = exported["cheap"]["path"]
    own = _test(RuntimePolicy.load(path))["budget"]
    eps, draws = 0.3, 6000
    policy = RuntimePolicy.load(path, exploration=Exploration(eps, seed=7))
    n = len(policy.budgets)
    decisions = [_test(policy) for _ in range(draws)]
    seen = Counter(d["budget"] for d in decisions)
    assert all(d["greedy"] == own for d in decisions)
    for d in decisions:
        assert d["propensity"] == pytest.approx(
            1 - eps + eps / n if d["budget"] == own else eps / n
        )
    for budget in policy.budgets:
        p = 1 - eps + eps / n if budget == own else eps / n
        assert abs(seen[budget] / draws - p) < 4 * math.sqrt(p * (1 - p) / draws), (budget, seen)
    # the same seed draws the same choices
    again = RuntimePolicy.load(path, exploration=Exploration(eps, seed=7))
    assert [_test(again)["budget"] for _ in range(200)] == [d["budget"] for d in decisions[:200]]


def test_sleep_decisions_log_their_propensity(exported: dict[str, Any]) -> None:
    path = exported["cheap"]["path"]
    own = RuntimePolicy.load(path).decide_sleep(context=CONTEXT.context, expected_queries=4.0)[
        "sleep_level"
    ]
    policy = RuntimePolicy.load(path, exploration=Exploration(1.0, seed=0))
    n = len(policy.sleep_levels)
    plans = [policy.decide_sleep(context=CONTEXT.context, expected_queries=4.0) for _ in range(400)]
    assert {p["sleep_level"] for p in plans} == set(policy.sleep_levels)  # epsilon 1: uniform
    assert all(p["greedy"] == own and p["propensity"] == pytest.approx(1 / n) for p in plans)
    assert all(p["run"] == (p["sleep_level"] != "none") for p in plans)


@pytest.mark.parametrize("epsilon", [-0.1, 1.5, float("nan"), True, "0.1"])
def test_a_bad_epsilon_is_refused(epsilon: Any) -> None:
    with pytest.raises(DecisionError, match="epsilon must be a number in"):
        Exploration(epsilon)


def test_the_probability_of_each_action() -> None:
    e = Exploration(0.2)
    assert e.probability(1, 1, 4) == pytest.approx(0.85)
    assert e.probability(0, 1, 4) == pytest.approx(0.05)
    assert sum(e.probability(a, 2, 4) for a in range(4)) == pytest.approx(1.0)
    assert Exploration(0.2).choose(0, 1) == (0, 1.0)
