"""Experiments: the spec files and their kinds, the policy scenario, and the jobs the command
line calls (one public function each), so that ``sleeptime`` itself only parses and renders.
A job calls down into the parts (workloads, estimators, simulators, policy, live), records its
run with :mod:`sleeptime.tracking` and draws its figures and report with
:mod:`sleeptime.reporting`."""

from __future__ import annotations

# isort: off
# Every runner registers its kind of experiment when imported, in the order users see them.
from sleeptime.experiments import _policy_run  # noqa: F401
from sleeptime.experiments import _paper_run  # noqa: F401
from sleeptime.experiments import _what_if_run  # noqa: F401
from sleeptime.experiments import _collect_run  # noqa: F401
from sleeptime.experiments import _live_run  # noqa: F401
from sleeptime.experiments import _when_run  # noqa: F401
from sleeptime.experiments import _off_policy_run  # noqa: F401

# isort: on
from sleeptime.experiments._compare import (
    DEFAULT_BUDGET_USD_PER_1K,
    CompareRun,
    compare,
    compare_scenario,
    headline_policy,
    learned_policies,
    threshold_policy,
)
from sleeptime.experiments._experiment import ExperimentResult, run_experiment
from sleeptime.experiments._export import (  # fmt: skip
    TRANSFER_SETS,
    export,
    export_policy,
    train,
    train_for_budget,
)
from sleeptime.experiments._jobs import (
    calibrate_points,
    evaluate_log_files,
    predictability,
    price_book,
    score,
    simulate,
    update_from_log_files,
    validate_policy,
)
from sleeptime.experiments._live import (
    LiveRun,
    collect_live,
    export_notes,
    fit_stale_records,
    grade_traces,
    measure_stale_effect,
    serve_local,
)
from sleeptime.experiments._measured import (
    MeasuredOptions,
    TracesCompareRun,
    compare_traces,
    load_measured,
)
from sleeptime.experiments._paper_run import PaperFigures, paper_figures
from sleeptime.experiments._registry import KINDS, ExperimentKind, experiment_kind
from sleeptime.experiments._scenario import (
    DOMAIN_QUERY_MEANS,
    Scenario,
    ScenarioConfig,
    build_scenario,
    exploration_data,
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
from sleeptime.experiments._when_run import (
    when_job,
    when_to_sleep,
)
from sleeptime.live import ServerBuildResult, build_local_server  # the job of build-server
from sleeptime.policy import WhenConfig, WhenResult  # the when-to-sleep study's config and result
from sleeptime.reporting import when_tables  # the text of when-to-sleep
from sleeptime.simulators import DEFAULT_TRANSFER

__all__ = [
    "DEFAULT_BUDGET_USD_PER_1K",
    "DEFAULT_TRANSFER",
    "DOMAIN_QUERY_MEANS",
    "KINDS",
    "TABLES",
    "TRANSFER_SETS",
    "CompareRun",
    "ExperimentKind",
    "ExperimentResult",
    "ExperimentSpec",
    "LiveRun",
    "MeasuredOptions",
    "PaperFigures",
    "PolicySearch",
    "Scenario",
    "ScenarioConfig",
    "ServerBuildResult",
    "SpecError",
    "TracesCompareRun",
    "WhenConfig",
    "WhenResult",
    "build_local_server",
    "build_scenario",
    "calibrate_points",
    "collect_live",
    "compare",
    "compare_scenario",
    "compare_traces",
    "evaluate_log_files",
    "experiment_kind",
    "exploration_data",
    "export",
    "export_notes",
    "export_policy",
    "fit_stale_records",
    "grade_traces",
    "headline_policy",
    "learned_policies",
    "load_measured",
    "load_spec",
    "measure_stale_effect",
    "optimize",
    "paper_figures",
    "parse_spec",
    "predictability",
    "price_book",
    "quickstart_spec",
    "run_experiment",
    "run_study",
    "score",
    "serve_local",
    "simulate",
    "spec_keys",
    "threshold_policy",
    "train",
    "train_for_budget",
    "train_learned_policy",
    "update_from_log_files",
    "validate_policy",
    "when_job",
    "when_tables",
    "when_to_sleep",
]
