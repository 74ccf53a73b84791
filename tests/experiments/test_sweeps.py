"""Sweeps the paper's figures are drawn from (simulated): Fig. 10's quintiles, Fig. 9's amortization."""

from __future__ import annotations

import numpy as np
import pytest

from sleeptime.simulators import (
    amortization_sweep,
    list_prices_2025,
    paper_abstract_prices,
    paper_outcome_model,
    paper_quintile_gains,
    quintile_gains,
    synthetic_items,
)
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount

LATE = ArrivalProcess(queries=FixedCount(4), idle=ExponentialDurations(1e12))


def test_gains_per_quintile_match_fig_10_p1() -> None:
    model = paper_outcome_model()
    items = synthetic_items(100_000, arrivals=LATE, seed=5)
    simulated = quintile_gains(
        model, items, list_prices_2025(), "gpt-4o-mini", budget=0, sleep_level=1, by="latent"
    )
    paper = paper_quintile_gains("stateful-gsm-symbolic-p1", "gpt-4o-mini")
    assert paper is not None
    print({"simulated": [round(g, 3) for g in simulated], "paper": paper})
    assert np.all(np.abs(np.array(simulated) - np.array(paper)) <= 0.05)
    assert np.all(np.diff(simulated) > 0)  # the gain grows with predictability
    observed = quintile_gains(model, items, list_prices_2025(), "gpt-4o-mini", by="observed")
    assert (
        observed[4] - observed[0] < simulated[4] - simulated[0]
    )  # rho=0.5 blurs what a policy sees


def test_amortization_with_the_papers_abstract_cost() -> None:
    model = paper_outcome_model()
    rows = amortization_sweep(model, paper_abstract_prices(), "gpt-4o-mini", n_contexts=3000)
    ratio = {}
    for budget in model.budgets:
        cost = {r["queries_per_context"]: r["cost"] for r in rows if r["budget"] == budget}
        assert cost[1] > cost[2] > cost[5] > cost[10]
        ratio[budget] = cost[1] / cost[10]
    print(ratio)
    assert ratio["level-0"] == pytest.approx(2.4, abs=0.3)
    assert ratio["level-0"] > ratio["level-1"] > ratio["level-2"] > 1
