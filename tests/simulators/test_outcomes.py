from __future__ import annotations

import numpy as np
import pytest

from sleeptime.simulators import (
    OutcomeError,
    TraceOutcomeModel,
    fixed_actions,
    list_prices_2025,
    paper_calibration,
    paper_outcome_model,
    replay,
    synthetic_items,
)
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount

LATE = ArrivalProcess(queries=FixedCount(4), idle=ExponentialDurations(1e12))


def _mean_accuracy(model, sleep: int, budget: int, n: int = 60_000) -> float:  # type: ignore[no-untyped-def]
    items = synthetic_items(n // 4, arrivals=LATE, seed=3)
    s, t = fixed_actions(items, sleep, budget)
    return float(
        replay(
            items,
            sleep_action=s,
            test_action=t,
            outcome=model,
            prices=list_prices_2025(),
            model="gpt-4o-mini",
            bootstrap=0,
        ).aggregates["accuracy"]
    )


def test_population_means_reproduce_the_curves() -> None:
    model = paper_outcome_model()
    for budget in range(3):
        assert _mean_accuracy(model, 0, budget) == pytest.approx(
            float(model.to(model.tokens_test_only[budget])), abs=0.01
        )
        assert _mean_accuracy(model, 1, budget) == pytest.approx(
            float(model.st(model.tokens_sleep_time[budget])), abs=0.01
        )


def test_sleep_scaling_has_diminishing_returns() -> None:
    gsm = paper_outcome_model()
    acc = [gsm.mean_accuracy(s, 0) for s in range(5)]  # none, k1, k2, k5, k10
    assert acc[3] - acc[1] == pytest.approx(0.13, abs=0.005)  # the paper's +13 points on GSM
    assert acc[1] < acc[2] < acc[3] and acc[4] < acc[3]  # k=5 better than k=10
    assert (acc[2] - acc[1]) > (acc[3] - acc[2]) / 3  # per unit of compute, returns diminish
    aime = paper_outcome_model("stateful-aime", "o3-mini")
    effort = [aime.mean_accuracy(s, 0) for s in range(4)]  # none, low, medium, high
    assert effort[3] - effort[1] == pytest.approx(0.18, abs=0.005)
    assert effort[1] < effort[2] < effort[3] and effort[3] - effort[2] < effort[2] - effort[1]


def test_trace_fitted_model_recovers_the_simulator() -> None:
    model = paper_outcome_model()
    items = synthetic_items(20_000, arrivals=LATE, seed=8)
    records = []
    rng = np.random.default_rng(0)
    for sleep, budget in [(0, 0), (1, 0), (0, 2), (1, 2)]:
        s, t = fixed_actions(items, sleep, budget)
        result = replay(items, sleep_action=s, test_action=t, outcome=model, prices=list_prices_2025(),
                        model="gpt-4o-mini", mode="sampled", seed=int(rng.integers(1e9)), bootstrap=0)  # fmt: skip
        records.extend(result.records())
    fitted = TraceOutcomeModel.fit(records, sleep_levels=model.sleep_levels, budgets=model.budgets)
    for sleep, budget in [(0, 0), (1, 0), (0, 2), (1, 2)]:
        s, t = fixed_actions(items, sleep, budget)
        got = replay(
            items,
            sleep_action=s,
            test_action=t,
            outcome=fitted,
            prices=list_prices_2025(),
            model="gpt-4o-mini",
            bootstrap=0,
        )
        assert got.aggregates["accuracy"] == pytest.approx(
            model.mean_accuracy(sleep, budget), abs=0.015
        )
    _a, slope_sleep = fitted.coefficients[(1, 0)]
    assert slope_sleep > fitted.coefficients[(0, 0)][1]  # sleep-time gains more from predictability
    s, t = fixed_actions(items, 3, 1)
    with pytest.raises(OutcomeError, match="no records for the action pair"):
        replay(
            items,
            sleep_action=s,
            test_action=t,
            outcome=fitted,
            prices=list_prices_2025(),
            model="gpt-4o-mini",
        )


def test_unknown_panel_and_actions() -> None:
    from sleeptime.simulators import CalibrationError, PaperOutcomeModel

    with pytest.raises(CalibrationError, match="no test_only curve for benchmark 'x'"):
        PaperOutcomeModel(paper_calibration(), "x", "y")
    items = synthetic_items(10, seed=0)
    s, t = fixed_actions(items, 7, 0)
    with pytest.raises(OutcomeError, match=r"sleep actions must be in 0\.\.4"):
        replay(
            items,
            sleep_action=s,
            test_action=t,
            outcome=paper_outcome_model(),
            prices=list_prices_2025(),
            model="gpt-4o-mini",
        )


def test_p_given_latent_moments_is_the_outcome_averaged_over_the_latents() -> None:
    model = paper_outcome_model()
    rng = np.random.default_rng(5)
    n = 400_000
    mean, var = 0.7, 0.75  # e.g. what an observable at correlation 0.5 says of the latent
    u = mean + np.sqrt(var) * rng.standard_normal(n)
    z = rng.standard_normal(n)
    for s, b in ((0, 1), (1, 0), (2, 2)):
        sampled = model.outcome(difficulty=z, predictability=u, sleep_action=np.full(n, s), test_action=np.full(n, b),
                                served_with_sleep=np.ones(n, bool), context_sleep_action=np.full(1, s)).p_correct.mean()  # fmt: skip
        closed = float(model.p_given_latent_moments(s, b, np.array([mean]), var)[0])
        assert closed == pytest.approx(float(sampled), abs=3e-3), (s, b)
