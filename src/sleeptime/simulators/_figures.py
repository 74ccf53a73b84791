"""The paper's experiments, replayed in simulation: amortization (Fig. 9) and gains by
predictability quintile (Fig. 10). Every number these return is simulated."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping, Sequence
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


def late_items(n_contexts: int, *, queries: int = 4, seed: int = 0) -> SimItems:
    """Synthetic contexts with exactly ``queries`` queries each, all arriving after the
    sleep-time work is done (as in the paper's Multi-Query runs)."""
    process = ArrivalProcess(queries=FixedCount(queries), idle=ExponentialDurations(1e12))
    return synthetic_items(n_contexts, arrivals=process, seed=seed)


def paper_amortization_points(benchmark: str, model: str) -> list[dict[str, Any]]:
    """Fig. 9's digitized sleep-time points for ``model`` on the Multi-Query version of
    ``benchmark`` (the P1/P2 suffix names it): budget level, queries per context, cost."""
    with paper_data("amortization").open() as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["condition"] == "sleep_time" and r["model"] == model and r["benchmark"].endswith(benchmark[-2:])]  # fmt: skip
    levels = sorted({float(r["accuracy"]) for r in rows})
    return [{"budget": f"level-{levels.index(float(r['accuracy']))}", "queries_per_context": int(r["queries_per_context"]),
             "cost": float(r["cost_per_query"])} for r in rows]  # fmt: skip


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
