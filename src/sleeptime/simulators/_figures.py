"""The paper's experiments, replayed in simulation: amortization (Fig. 9) and gains by
predictability quintile (Fig. 10). Every number these return is simulated."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.simulators._calibration import Calibration, calibrate
from sleeptime.simulators._items import SimItems, synthetic_items
from sleeptime.simulators._outcomes import OutcomeModel, PaperOutcomeModel
from sleeptime.simulators._prices import PriceBook
from sleeptime.simulators._replay import fixed_actions, replay
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount


def paper_data(name: str) -> Path:
    """A packaged file of points digitized from the paper (``test_time_scaling``,
    ``amortization`` or ``predictability_quintiles``)."""
    path = Path(str(files("sleeptime.simulators") / "data" / f"paper_{name}.csv"))
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


@lru_cache(maxsize=1)
def paper_calibration() -> Calibration:
    """Curves fitted to all of the paper's digitized points (Figs. 3-4, 9 and 10)."""
    return calibrate(
        paper_data("test_time_scaling"),
        quintiles=paper_data("predictability_quintiles"),
        amortization=paper_data("amortization"),
    )


def paper_outcome_model(
    benchmark: str = "stateful-gsm-symbolic-p1", model: str = "gpt-4o-mini", **kwargs: Any
) -> PaperOutcomeModel:
    """The paper-calibrated outcome model of one panel."""
    return PaperOutcomeModel(paper_calibration(), benchmark, model, **kwargs)


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
        process = ArrivalProcess(queries=FixedCount(n), idle=ExponentialDurations(1e12))
        items = synthetic_items(n_contexts, arrivals=process, seed=seed)
        for budget in range(len(outcome.budgets)):
            sleep, test = fixed_actions(items, sleep_level, budget)
            agg = replay(items, sleep_action=sleep, test_action=test, outcome=outcome, prices=prices,
                         model=model, bootstrap=0, return_traces=False).aggregates  # fmt: skip
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
    by: str = "latent",
) -> list[float]:
    """Accuracy of sleep-time minus test-only per predictability quintile, at one budget.

    ``by="latent"`` bins by the simulator's latent predictability (the paper's own measurement
    scale); ``by="observed"`` by what a policy sees.
    """
    from sleeptime.estimators import predictability_quintiles

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
