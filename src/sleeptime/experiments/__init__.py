"""Experiments: scenarios, training, comparison, Optuna studies and MLflow tracking."""

from __future__ import annotations

from sleeptime.experiments._export import export_policy, train_for_budget
from sleeptime.experiments._scenario import (
    ALL_FEATURES,
    CHEAP_POLICY_FEATURES,
    DOMAIN_QUERY_MEANS,
    Scenario,
    ScenarioConfig,
    build_scenario,
    exploration_data,
    template_split,
    train_learned_policy,
)

__all__ = [
    "ALL_FEATURES",
    "CHEAP_POLICY_FEATURES",
    "DOMAIN_QUERY_MEANS",
    "Scenario",
    "ScenarioConfig",
    "build_scenario",
    "exploration_data",
    "export_policy",
    "template_split",
    "train_for_budget",
    "train_learned_policy",
]
