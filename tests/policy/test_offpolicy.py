"""Off-policy estimators on logged decisions: by hand on a tiny log, unbiased where the truth is
known (a synthetic logged bandit with context-level sleep actions), and bad logs named."""

from __future__ import annotations

import numpy as np
import pytest

from sleeptime.policy._offpolicy import (
    ESTIMATORS,
    LoggedDecisions,
    OffPolicyError,
    off_policy_estimates,
)


def _tiny() -> LoggedDecisions:
    # context 0 has two queries, context 1 one
    return LoggedDecisions(
        context=np.array([0, 0, 1]),
        reward=np.array([1.0, 0.0, 1.0]),
        cost=np.array([2.0, 4.0, 1.0]),
        propensity=np.array([0.5, 0.25, 1.0]),
        target=np.array([1.0, 0.0, 0.5]),
        dm_logged=np.array([[0.5, 3.0], [0.5, 3.0], [0.8, 1.0]]),
        dm_target=np.array([[0.6, 2.0], [0.6, 2.0], [0.7, 1.5]]),
    )


def test_each_estimator_by_hand() -> None:
    est = off_policy_estimates(_tiny(), n_boot=200, seed=0)
    w = np.array([2.0, 0.0, 0.5])
    assert est["dm"].reward == pytest.approx((0.6 + 0.6 + 0.7) / 3)
    assert est["dm"].cost == pytest.approx((2.0 + 2.0 + 1.5) / 3)
    assert est["ips"].reward == pytest.approx((2.0 * 1 + 0 + 0.5 * 1) / 3)
    assert est["ips"].cost == pytest.approx((2.0 * 2 + 0 + 0.5 * 1) / 3)
    assert est["snips"].reward == pytest.approx(2.5 / w.sum())
    assert est["snips"].cost == pytest.approx(4.5 / w.sum())
    dr_reward = ((0.6 + 2.0 * (1 - 0.5)) + 0.6 + (0.7 + 0.5 * (1 - 0.8))) / 3
    dr_cost = ((2.0 + 2.0 * (2 - 3)) + 2.0 + (1.5 + 0.5 * (1 - 1))) / 3
    assert est["dr"].reward == pytest.approx(dr_reward)
    assert est["dr"].cost == pytest.approx(dr_cost)
    for e in est.values():
        assert e.effective_sample_size == pytest.approx(w.sum() ** 2 / np.sum(w**2))
        assert e.queries == 3 and e.contexts == 2
        lo, hi = e.reward_ci95
        assert lo <= hi


def _world(
    n_contexts: int, epsilon: float, seed: int, dm_bias: float
) -> tuple[LoggedDecisions, float, float]:
    """A logged bandit: a context-level sleep action (2 levels) and a test action per query (3
    budgets), chosen by an epsilon-greedy behaviour around a rule; the candidate is another
    deterministic rule. Returns the log and the candidate's true mean reward and cost per query."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=n_contexts)
    n_q = rng.integers(1, 4, size=n_contexts)
    ctx = np.repeat(np.arange(n_contexts), n_q)
    # success probability and cost of each (sleep, budget) by context feature
    p = np.clip(0.2 + 0.3 * x[:, None, None] + np.array([0.0, 0.25])[None, :, None] + np.array([0.0, 0.1, 0.2])[None, None, :], 0, 1)  # fmt: skip
    sleep_cost = np.array([0.0, 3.0])  # per context, shared by its queries
    test_cost = np.array([1.0, 2.0, 4.0])

    def behaviour_sleep(xc: np.ndarray) -> np.ndarray:
        greedy = (xc > 0.5).astype(int)
        probs = np.full((xc.size, 2), epsilon / 2)
        probs[np.arange(xc.size), greedy] += 1 - epsilon
        return probs

    def behaviour_test(xc: np.ndarray) -> np.ndarray:
        probs = np.full((xc.size, 3), epsilon / 3)
        probs[:, 1] += 1 - epsilon
        return probs

    ps = behaviour_sleep(x)
    s = (rng.uniform(size=n_contexts)[:, None] > np.cumsum(ps, axis=1)).sum(axis=1)
    pt = behaviour_test(x[ctx])
    t = (rng.uniform(size=ctx.size)[:, None] > np.cumsum(pt, axis=1)).sum(axis=1)
    s_q = s[ctx]
    reward = (rng.uniform(size=ctx.size) < p[ctx, s_q, t]).astype(float)
    cost = test_cost[t] + sleep_cost[s_q] / n_q[ctx]
    propensity = ps[ctx, s_q] * pt[np.arange(ctx.size), t]
    # the candidate: sleep where x > 0.3, answer at budget 0
    cand_s = (x > 0.3).astype(int)
    target = ((s_q == cand_s[ctx]) & (t == 0)).astype(float)
    true_reward = float(p[ctx, cand_s[ctx], 0].mean())
    true_cost = float((test_cost[0] + sleep_cost[cand_s[ctx]] / n_q[ctx]).mean())
    # an outcome model off by dm_bias in reward and by 10% in cost
    dm_logged = np.stack([p[ctx, s_q, t] + dm_bias, 1.1 * (test_cost[t] + sleep_cost[s_q] / n_q[ctx])], axis=1)  # fmt: skip
    dm_target = np.stack([p[ctx, cand_s[ctx], 0] + dm_bias, 1.1 * (test_cost[0] + sleep_cost[cand_s[ctx]] / n_q[ctx])], axis=1)  # fmt: skip
    logs = LoggedDecisions(ctx, reward, cost, propensity, target, dm_logged, dm_target)
    return logs, true_reward, true_cost


def test_ips_snips_and_dr_are_unbiased_and_dr_corrects_a_biased_outcome_model() -> None:
    errors = {e: [] for e in ESTIMATORS}
    covered = {e: 0 for e in ESTIMATORS}
    seeds = 40
    for seed in range(seeds):
        logs, true_r, true_c = _world(600, 0.3, seed, dm_bias=0.1)
        est = off_policy_estimates(logs, n_boot=300, seed=seed)
        for e, v in est.items():
            errors[e].append((v.reward - true_r, v.cost - true_c))
            covered[e] += v.reward_ci95[0] <= true_r <= v.reward_ci95[1]
    bias = {e: np.mean(v, axis=0) for e, v in errors.items()}
    spread = {e: np.std(v, axis=0) for e, v in errors.items()}
    # the biased outcome model: the direct method is off by about its bias, every time
    assert bias["dm"][0] == pytest.approx(0.1, abs=0.01)
    assert bias["dm"][1] > 0.05 * 1.0
    # the others are unbiased: the mean error over seeds is within 3 standard errors of 0
    for e in ("ips", "snips", "dr"):
        for k in (0, 1):
            assert abs(bias[e][k]) < 3 * spread[e][k] / np.sqrt(seeds) + 1e-3, (
                e,
                k,
                bias[e],
                spread[e],
            )
    # the doubly robust estimate varies less than IPS (its outcome model, though biased, is informative)
    assert spread["dr"][0] < spread["ips"][0]
    # the intervals over resampled contexts cover the truth about as often as they say
    for e in ("ips", "snips", "dr"):
        assert covered[e] / seeds >= 0.8, (e, covered[e])
    assert covered["dm"] / seeds < 0.5


def test_a_large_log_is_resampled_in_blocks_of_contexts() -> None:
    """Grouping 20,000 contexts into 500 random blocks leaves the estimate as it is and the
    interval about as wide as resampling every context."""
    logs, _, _ = _world(20_000, 0.3, 1, dm_bias=0.05)
    blocks = off_policy_estimates(logs, n_boot=400, seed=0, max_blocks=500)["ips"]
    every = off_policy_estimates(logs, n_boot=400, seed=0, max_blocks=10**9)["ips"]
    assert blocks.reward == every.reward and blocks.cost == every.cost
    width = every.reward_ci95[1] - every.reward_ci95[0]
    assert blocks.reward_ci95[1] - blocks.reward_ci95[0] == pytest.approx(width, rel=0.25)
    assert abs(blocks.reward_ci95[0] - every.reward_ci95[0]) < 0.25 * width


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("propensity", 0.0, "propensity must be in (0, 1]"),
        ("propensity", float("nan"), "propensity must be in (0, 1]"),
        ("propensity", 1.5, "propensity must be in (0, 1]"),
        ("target", -0.1, "target must be in [0, 1]"),
    ],
)
def test_bad_probabilities_are_named_by_row(field: str, value: float, message: str) -> None:
    tiny = _tiny()
    arr = getattr(tiny, field).copy()
    arr[1] = value
    with pytest.raises(OffPolicyError, match=r"row 1") as err:
        LoggedDecisions(**{**tiny.__dict__, field: arr})
    assert message in str(err.value)


def test_shapes_and_estimator_names_are_checked() -> None:
    tiny = _tiny()
    with pytest.raises(OffPolicyError, match="reward has shape"):
        LoggedDecisions(**{**tiny.__dict__, "reward": tiny.reward[:2]})
    with pytest.raises(OffPolicyError, match="dm_target has shape"):
        LoggedDecisions(**{**tiny.__dict__, "dm_target": tiny.dm_target[:, 0]})
    with pytest.raises(OffPolicyError, match="unknown estimators"):
        off_policy_estimates(tiny, estimators=("switch-dr",))
