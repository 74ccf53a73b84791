"""Every policy on a scenario's held-out templates: what ``sleeptime compare`` and the policy
experiments (``sleeptime quickstart``, ``sleeptime run``) share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._errors import SleeptimeError
from sleeptime.experiments._scenario import (
    Scenario,
    ScenarioConfig,
    build_scenario,
    train_learned_policy,
)
from sleeptime.policy import (
    CHEAP_POLICY_FEATURES,
    Comparison,
    LearnedPolicy,
    ThresholdPolicy,
    compare_policies,
    paper_policy,
)
from sleeptime.simulators import MultiModelOutcome
from sleeptime.tracking import Job

#: The operating point a comparison defaults to: the best fixed strategy within this spend, USD
#: per 1,000 queries (the one the quickstart reports).
DEFAULT_BUDGET_USD_PER_1K = 0.2


def threshold_policy(scenario: Scenario) -> ThresholdPolicy:
    """The threshold rule: sleep where predicted predictability is above the training contexts'
    median and at least three queries are expected."""
    median = float(np.median(scenario.train.context_features["predicted_predictability"]))
    return ThresholdPolicy(median, 3.0)


def learned_policies(scenario: Scenario, *, learned: bool = True, cheap: bool = True) -> list[LearnedPolicy]:  # fmt: skip
    """The learned policy on all features and its cheap-feature variant, trained on the
    scenario's training templates."""
    out = []
    if learned:
        out.append(train_learned_policy(scenario))
    if cheap:
        out.append(train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, name="learned-cheap"))  # fmt: skip
    return out


def compare_steps(learned: Sequence[str], *, count_blind: bool = True) -> tuple[str, ...]:
    """The steps :func:`compare_scenario` reports, in order."""
    return ("fixed strategies and baselines", "oracle", *(["oracle-count-blind"] if count_blind else []), *learned)  # fmt: skip


def compare_scenario(
    scenario: Scenario,
    policies: Sequence[LearnedPolicy],
    *,
    budget_usd_per_1k: float | None = DEFAULT_BUDGET_USD_PER_1K,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Fixed strategies, the paper's strategy, the threshold rule, ``policies`` and both
    oracles on the scenario's held-out templates (simulated)."""
    return compare_policies(scenario.env, scenario.test, learned=policies, extra=[paper_policy(), threshold_policy(scenario)],
                            budget_usd_per_1k=budget_usd_per_1k, seed=seed, progress=progress)  # fmt: skip


def compare_price_ratios(scenario: Scenario, ratios: Sequence[float], *, budget_usd_per_1k: float | None, seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """Across models (simulated): the comparison again with the first model's token prices
    set to each ratio times the second's, the learned policy retrained under each; per ratio
    the operating point, the learned policy's and the oracles' cost change at equal accuracy
    and who sleeps and who answers under the learned policy there."""
    strong, small = scenario.env.models[:2]
    out = []
    for ratio in ratios:
        sc = dataclasses.replace(scenario, env=dataclasses.replace(scenario.env, prices=scenario.env.prices.with_price_ratio(strong, small, ratio)))  # fmt: skip
        c = compare_scenario(sc, [train_learned_policy(sc)], budget_usd_per_1k=budget_usd_per_1k, seed=seed)  # fmt: skip
        s, p = c.learned["learned"], c.operating_point
        out.append({"ratio": ratio, "best_static": p.best_static, "best_static_accuracy": p.accuracy, "best_static_usd_per_1k": p.usd_per_1k,
                    "learned_cost_change": -s.cost_reduction_at_equal_accuracy, "learned_cost_change_ci95": [-v for v in s.cost_reduction_at_reaching_point_ci95[::-1]],
                    "oracle_cost_change": -s.oracle_cost_reduction_at_equal_accuracy,
                    "count_blind_cost_change": None if s.count_blind_oracle_cost_reduction_at_equal_accuracy is None else -s.count_blind_oracle_cost_reduction_at_equal_accuracy,
                    "learned_model_mix": c.model_mix.get("learned"), "count_blind_model_mix": c.model_mix.get("oracle-count-blind")})  # fmt: skip
    return out


def headline_policy(comparison: Comparison) -> str | None:
    """The learned policy a headline names: the one that saves most at equal accuracy."""
    ranked = sorted(comparison.learned.items(), key=lambda kv: -kv[1].cost_reduction_at_equal_accuracy)  # fmt: skip
    return ranked[0][0] if ranked else None


@dataclass(frozen=True)
class CompareRun:
    """``sleeptime compare``: the comparison on held-out templates and where it was logged."""

    comparison: Comparison
    held_out_templates: tuple[str, ...]
    mlflow_run_id: str
    plot: Path | None = None
    #: where the actions span several models: the models, the joint actions and the transfer
    #: assumption (:meth:`~sleeptime.simulators.MultiModelOutcome.describe`)
    models: Mapping[str, Any] | None = None
    #: across models: the comparison under each price ratio of the first model to the second
    price_ratios: Sequence[Mapping[str, Any]] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the simulated comparison (policies, summary, details, operating
        points, Pareto front and more), as ``--json`` prints it."""
        c = self.comparison
        out = {
            "simulated": True,
            **c.to_json(),
            "summary": c.summary_json("learned"),
            "held_out_templates": list(self.held_out_templates),
            "mlflow_run_id": self.mlflow_run_id,
        }
        if self.plot is not None:
            out["plot"] = str(self.plot)
        if self.models is not None:
            out["models"] = dict(self.models)
        if self.price_ratios:
            out["price_ratio_sweep"] = [dict(r) for r in self.price_ratios]
        return out


def compare(
    config: ScenarioConfig,
    *,
    budget_usd_per_1k: float | None = DEFAULT_BUDGET_USD_PER_1K,
    plot: str | Path | None = None,
    tracking_uri: str | None = None,
    progress: bool = True,
    price_ratios: Sequence[float] = (),
) -> CompareRun:
    """Build the scenario, train the learned policies, compare every policy at the operating
    point, log it all to MLflow (and draw the Pareto plot where asked); across models, also
    under each of ``price_ratios`` (:func:`compare_price_ratios`)."""
    from sleeptime.reporting import plot_pareto

    if price_ratios and len(config.models) < 2:
        raise SleeptimeError("a price-ratio sweep needs two models (--models STRONG,SMALL)")
    steps = ("workload and LM features", "learned policies", *compare_steps(["learned", "learned-cheap"]), *(["price-ratio sweep"] if price_ratios else []))  # fmt: skip
    with Job("compare", steps, progress) as job:
        with job.step("workload and LM features"):
            scenario = build_scenario(config, progress=progress)
        job.track({**scenario.config.to_params(), "budget_usd_per_1k": budget_usd_per_1k}, uri=tracking_uri, kind="compare")  # fmt: skip
        with job.step("learned policies"):
            policies = learned_policies(scenario)
        comparison = compare_scenario(scenario, policies, budget_usd_per_1k=budget_usd_per_1k,
                                      seed=config.seed, progress=job.start)  # fmt: skip
        path = None
        outcome = scenario.env.outcome
        models = outcome.describe() if isinstance(outcome, MultiModelOutcome) else None
        if plot:
            who = " + ".join(config.models) if config.models else config.model
            path = plot_pareto(comparison.rows, plot, title=f"Policies on held-out templates, {who} (simulated)",
                               reference=comparison.operating_point.best_static)  # fmt: skip
        sweep = []
        if price_ratios:
            with job.step("price-ratio sweep"):
                sweep = compare_price_ratios(scenario, price_ratios, budget_usd_per_1k=budget_usd_per_1k, seed=config.seed)  # fmt: skip
        result = CompareRun(
            comparison, scenario.test_templates, str(job.run_id), path, models, tuple(sweep)
        )
        job.log(comparison.metrics(), json={"compare.json": result.to_json()}, files={"plots": [path] if path else []})  # fmt: skip
    return result
