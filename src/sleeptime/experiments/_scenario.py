"""The scenario of the policy experiments: workload, scores, arrivals, splits, features, traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sleeptime.policy import (
    ALL_FEATURES,
    Environment,
    ExplorationData,
    LearnedPolicy,
    action_exploration_data,
    add_policy_features,
    fit_policy,
)
from sleeptime.simulators import (
    DEFAULT_TRANSFER,
    OutcomeModel,
    SimItems,
    items_from_workload,
    load_price_book,
    paper_multi_outcome,
    paper_outcome_model,
)
from sleeptime.workloads import (
    BUILTIN_QUERY_MEANS,
    Workload,
    arrival_process,
    generate_workload,
    split_contexts,
)

#: Mean queries per context by domain: hot and cold documents; the mean over domains is 4.
DOMAIN_QUERY_MEANS: dict[str, float] = dict(BUILTIN_QUERY_MEANS)


@dataclass
class ScenarioConfig:
    """Everything that defines a scenario; logged as the run's parameters."""

    n_contexts: int = 1400
    seed: int = 0
    benchmark: str = "stateful-gsm-symbolic-p1"
    model: str = "gpt-4o-mini"
    prices: str = "list-2025"
    rho_predictability: float = 0.5
    rho_difficulty: float = 0.5
    idle_mean_s: float = 3600.0
    gap_mean_s: float = 600.0
    domain_query_means: Mapping[str, float] = field(
        default_factory=lambda: dict(DOMAIN_QUERY_MEANS)
    )
    test_share: float = 0.4
    #: how many queries a context gets: ``geometric`` (memoryless), ``gamma-poisson`` (rates
    #: vary by context, shape ``dispersion``), ``self-exciting`` (bursts), each with the domain
    #: means; or ``fitted`` (the best family fitted to ``access_log``, one mean for all)
    arrivals: str = "geometric"
    dispersion: float = 0.5
    access_log: str | None = None
    #: actions across models: the panels of ``models`` on ``benchmark`` joined, notes read
    #: across models under the ``transfer`` assumption (:class:`~sleeptime.simulators.MultiModelOutcome`)
    models: tuple[str, ...] = ()
    transfer: float = DEFAULT_TRANSFER

    def to_params(self) -> dict[str, Any]:
        """The config as flat run parameters (MLflow's): every field (``models`` joined by
        commas; with one model, neither it nor ``transfer``), the domain query means as
        ``queries_mean.DOMAIN`` keys."""
        skip = {"domain_query_means", *(() if self.models else ("models", "transfer"))}
        out = {
            k: ",".join(v) if k == "models" else v
            for k, v in self.__dict__.items()
            if k not in skip
        }
        out.update({f"queries_mean.{d}": m for d, m in self.domain_query_means.items()})
        return out

    def outcome(self) -> OutcomeModel:
        """The scenario's paper-calibrated outcome model: ``model``'s panel of ``benchmark``,
        or the panels of ``models`` joined (:func:`~sleeptime.simulators.paper_multi_outcome`)."""
        if self.models:
            return paper_multi_outcome(self.benchmark, self.models, self.transfer)
        return paper_outcome_model(self.benchmark, self.model)


@dataclass
class Scenario:
    """Train and held-out items in one environment, split by template (no template leaks)."""

    config: ScenarioConfig
    env: Environment
    workload: Workload
    train: SimItems
    test: SimItems
    train_templates: tuple[str, ...]
    test_templates: tuple[str, ...]


def build_scenario(
    config: ScenarioConfig,
    *,
    scores: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    progress: bool = True,
) -> Scenario:
    """Generate the built-in workload, score it under the default LM (cached), draw arrivals
    (geometric queries per context with a mean per domain), split by template, and add the
    context features the policies read."""
    from sleeptime.estimators import CausalLMScorer, score_workload

    cfg = config
    workload = generate_workload(cfg.n_contexts, seed=cfg.seed)
    if scores is None:
        rows = score_workload(workload, CausalLMScorer(), progress=progress)
        scores = {(r["context_id"], r["query_id"]): r for r in rows}
    means = np.array(
        [cfg.domain_query_means.get(str(c.meta.get("domain")), 4.0) for c in workload.contexts]
    )
    process = arrival_process(cfg.arrivals, means, dispersion=cfg.dispersion, idle_mean_s=cfg.idle_mean_s,
                              gap_mean_s=cfg.gap_mean_s, access_log=cfg.access_log, seed=cfg.seed)  # fmt: skip
    items = items_from_workload(
        workload, arrivals=process, scores=scores, rho_predictability=cfg.rho_predictability,
        rho_difficulty=cfg.rho_difficulty, seed=cfg.seed,
    )  # fmt: skip
    train_idx, test_idx = split_contexts(workload, by="template", test_share=cfg.test_share, seed=cfg.seed)  # fmt: skip
    templates = [str(c.meta["template"]) for c in workload.contexts]
    train_t, test_t = {templates[i] for i in train_idx}, {templates[i] for i in test_idx}
    items = add_policy_features(workload, items, scores, train_idx, test_idx, cfg.seed)
    env = Environment(
        cfg.outcome(), load_price_book(cfg.prices), cfg.models[0] if cfg.models else cfg.model
    )
    return Scenario(
        cfg,
        env,
        workload,
        items.subset(train_idx),
        items.subset(test_idx),
        tuple(sorted(train_t)),
        tuple(sorted(test_t)),
    )


def exploration_data(
    scenario: Scenario, features: Sequence[str], *, mode: str = "expected"
) -> ExplorationData:
    """Training data from the training items replayed under every action pair.

    In ``"expected"`` mode each row's target is the simulator's probability of a correct
    answer (the policy never sees the latents behind it, only this target, as it would see
    0/1 outcomes in logs); ``"sampled"`` gives 0/1 outcomes, as logged traces of real runs
    would.
    """
    return action_exploration_data(scenario.env, scenario.train, features, mode=mode, seed=scenario.config.seed)  # fmt: skip


def train_learned_policy(
    scenario: Scenario,
    *,
    features: Sequence[str] = ALL_FEATURES,
    name: str = "learned",
    **params: Any,
) -> LearnedPolicy:
    """Fit :class:`LearnedPolicy` on exploration traces of the training items."""
    data = exploration_data(scenario, features)
    return fit_policy(data, features, seed=scenario.config.seed, name=name, **params)
