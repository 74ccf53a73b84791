"""Experiments: scenarios, training, comparison, Optuna studies, MLflow tracking, experiment
specs and their reports, figures. The jobs the command line calls live here (one public function
each), so that ``sleeptime`` itself only parses and renders."""

from __future__ import annotations

from sleeptime.experiments._compare import (
    DEFAULT_BUDGET_USD_PER_1K,
    CompareRun,
    compare,
    compare_scenario,
    headline_policy,
    learned_policies,
    threshold_policy,
)
from sleeptime.experiments._experiment import (  # fmt: skip
    KINDS,
    ExperimentKind,
    ExperimentResult,
    run_experiment,
)
from sleeptime.experiments._export import (  # fmt: skip
    TRANSFER_SETS,
    export,
    export_policy,
    train,
    train_for_budget,
)
from sleeptime.experiments._jobs import (
    calibrate_points,
    predictability,
    price_book,
    read_workload,
    score,
    simulate,
    validate_policy,
)
from sleeptime.experiments._live import LiveRun, collect_live, export_notes, serve_local
from sleeptime.experiments._measured import (
    MeasuredData,
    TracesCompareRun,
    compare_traces,
    load_measured,
)
from sleeptime.experiments._paper_run import PaperFigures, paper_figures
from sleeptime.experiments._scenario import (
    ALL_FEATURES,
    CHEAP_POLICY_FEATURES,
    DOMAIN_QUERY_MEANS,
    FEATURE_SETS,
    ExplorationData,
    Scenario,
    ScenarioConfig,
    build_scenario,
    exploration_data,
    feature_set,
    fit_policy,
    template_split,
    train_learned_policy,
)
from sleeptime.experiments._spec import (
    TABLES,
    ExperimentSpec,
    SpecError,
    load_spec,
    parse_spec,
    quickstart_spec,
    spec_keys,
)
from sleeptime.experiments._study import PolicySearch, optimize, run_study

__all__ = [
    "ALL_FEATURES",
    "CHEAP_POLICY_FEATURES",
    "DEFAULT_BUDGET_USD_PER_1K",
    "DOMAIN_QUERY_MEANS",
    "FEATURE_SETS",
    "KINDS",
    "TABLES",
    "TRANSFER_SETS",
    "CompareRun",
    "ExperimentKind",
    "ExperimentResult",
    "ExperimentSpec",
    "ExplorationData",
    "LiveRun",
    "MeasuredData",
    "PaperFigures",
    "PolicySearch",
    "Scenario",
    "ScenarioConfig",
    "SpecError",
    "TracesCompareRun",
    "build_scenario",
    "calibrate_points",
    "collect_live",
    "compare",
    "compare_scenario",
    "compare_traces",
    "exploration_data",
    "export",
    "export_notes",
    "export_policy",
    "feature_set",
    "fit_policy",
    "headline_policy",
    "learned_policies",
    "load_measured",
    "load_spec",
    "optimize",
    "paper_figures",
    "parse_spec",
    "predictability",
    "price_book",
    "quickstart_spec",
    "read_workload",
    "run_experiment",
    "run_study",
    "score",
    "serve_local",
    "simulate",
    "spec_keys",
    "template_split",
    "threshold_policy",
    "train",
    "train_for_budget",
    "train_learned_policy",
    "validate_policy",
]
