"""The policy experiment (``kind = "policy"``, the quickstart): scenario, baselines, learned
policies and oracles on held-out templates, a small Optuna study, the export, and its report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sleeptime._lists import comma_list
from sleeptime.experiments._compare import (
    compare_scenario,
    compare_steps,
    headline_policy,
    learned_policies,
)
from sleeptime.experiments._export import export_policy, train_for_budget
from sleeptime.experiments._policy_report import (
    PolicyExperiment,
    StudyOutcome,
    policy_headline,
    policy_report,
)
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.experiments._scenario import Scenario, ScenarioConfig, build_scenario
from sleeptime.experiments._study import PolicySearch, run_study
from sleeptime.policy import CHEAP_POLICY_FEATURES, Comparison
from sleeptime.tracking import MLflowTrialLogger

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec


def policy_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    names = [n for n, on in (("learned", spec.policies.learned), ("learned-cheap", spec.policies.cheap)) if on]  # fmt: skip
    return ("workload and LM features", "learned policies", *compare_steps(names), "Optuna study",
            "export the best policy", "figures and report")  # fmt: skip


def _study(ctx: RunContext, scenario: Scenario) -> StudyOutcome:
    spec = ctx.spec
    search = PolicySearch(scenario, features=CHEAP_POLICY_FEATURES)
    name = spec.study.name or f"{spec.name}-{ctx.run_id[:8]}"
    study = run_study(search, n_trials=spec.study.trials, study_name=name, seed=spec.seeds.study,
                      callbacks=[MLflowTrialLogger()], progress=ctx.progress)  # fmt: skip
    trials = tuple(t for t in study.trials if t.values is not None)
    front = tuple(sorted(study.best_trials, key=lambda t: t.values[1]))
    within = [t for t in front if 1000 * t.values[1] <= spec.policies.budget_usd_per_1k]
    best = max(within, key=lambda t: t.values[0]) if within else front[0]
    return StudyOutcome(name, trials, front, best)


def _export(ctx: RunContext, scenario: Scenario, comparison: Comparison, best: Any) -> dict[str, Any]:  # fmt: skip
    spec, path = ctx.spec, ctx.folder / "policy.json"
    hp = {"learning_rate": best.params["learning_rate"], "max_leaf_nodes": best.params["max_leaf_nodes"]}  # fmt: skip
    budget = spec.policies.budget_usd_per_1k
    policy, info = train_for_budget(scenario, CHEAP_POLICY_FEATURES, budget, tables=comparison.tables, **hp)  # fmt: skip
    artifact, _ = export_policy(scenario, policy, path, config={**spec.to_params(), **hp}, mlflow_run_id=ctx.run_id, tables=comparison.tables)  # fmt: skip
    return {"path": str(path), **info, "fidelity": artifact["fidelity"], "hyper_parameters": hp}


@experiment_kind("policy", steps=policy_steps, summary="the main job: every policy on held-out templates, a study, the export")  # fmt: skip
def run_policy(ctx: RunContext) -> RunOutput:
    """The main job: scenario, baselines, learned policies, a small study, export, report."""
    spec, job = ctx.spec, ctx.job
    with job.step("workload and LM features"):
        config = ScenarioConfig(
            n_contexts=spec.workload.contexts, seed=spec.seeds.workload, benchmark=spec.model.benchmark,
            model=spec.model.name, prices=spec.prices.book, rho_predictability=spec.scenario.rho_predictability,
            test_share=spec.scenario.test_share, models=comma_list(spec.model.models), transfer=spec.model.transfer,
        )  # fmt: skip
        scenario = build_scenario(config, progress=ctx.progress)
    with job.step("learned policies"):
        policies = learned_policies(scenario, learned=spec.policies.learned, cheap=spec.policies.cheap)  # fmt: skip
    comparison = compare_scenario(scenario, policies, budget_usd_per_1k=spec.policies.budget_usd_per_1k,
                                  seed=spec.seeds.bootstrap, progress=job.start)  # fmt: skip
    with job.step("Optuna study"):
        study = _study(ctx, scenario)
    with job.step("export the best policy"):
        exported = _export(ctx, scenario, comparison, study.best) if spec.export.enabled else {}
    with job.step("figures and report"):
        result = PolicyExperiment(scenario, tuple(policies), comparison, study, exported)
        headline = policy_headline(comparison, exported="learned-cheap" if exported else None)
        report = policy_report(ctx, result, headline)
        metrics: dict[str, Any] = {"best_static_accuracy": comparison.operating_point.accuracy, "trials": len(study.trials)}  # fmt: skip
        for name, summary in comparison.learned.items():
            metrics.update({f"{name}.{k}": v for k, v in summary.to_json().items()})
        ctx.job.log(metrics)
    return RunOutput(report, headline, _data(result))


def _data(result: PolicyExperiment) -> dict[str, Any]:
    """The experiment's numbers as its ``--json`` output and ``result.json`` give them."""
    c = result.comparison
    decided: dict[str, Any] = {}
    name = headline_policy(c)
    if name is not None:
        sleep, test = c.swept[name].at_equal_accuracy
        budgets = result.scenario.env.outcome.budgets
        decided = {"policy": name, "decision_breakdown": c.learned[name].decision_breakdown,
                   "budget_shares": {b: float(np.mean(test == k)) for k, b in enumerate(budgets)},
                   "sleep_share": float(np.mean(sleep > 0))}  # fmt: skip
    summaries = {n: {k: v for k, v in s.to_json().items() if k != "decision_breakdown"} for n, s in c.learned.items()}  # fmt: skip
    return {
        "simulated": True,
        "policies": [r.to_json() for r in c.rows],
        "summary": {**c.operating_point.to_json(), **summaries},
        "decisions": decided,
        "study": {
            "name": result.study.name,
            "trials": len(result.study.trials),
            "best_trial": result.study.best.number,
        },
        "export": result.export,
    }
