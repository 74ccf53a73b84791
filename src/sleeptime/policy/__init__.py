"""Allocation policies: baselines, the oracle, the learned policy, and their evaluation."""

from __future__ import annotations

from sleeptime.policy._base import ActionTables, Allocation, Environment, Policy
from sleeptime.policy._baselines import (
    FixedPolicy,
    OraclePolicy,
    ThresholdPolicy,
    oracle_decisions,
    paper_policy,
)
from sleeptime.policy._evaluate import (
    Comparison,
    FixedPointChange,
    Group,
    LearnedSummary,
    LearnedTables,
    OperatingPoint,
    PolicyRow,
    Sweep,
    SweptPolicy,
    at_equal_accuracy,
    bisect_lam,
    compare_policies,
    decision_sensitivity,
    paired_bootstrap,
    per_context_sums,
    policy_row,
    predicted_usd_per_query,
)
from sleeptime.policy._export import (
    DERIVED_FEATURES,
    DistilledPolicy,
    distill,
    policy_artifact,
    write_artifact,
)
from sleeptime.policy._learned import (
    LearnedPolicy,
    choose_budget,
    choose_sleep,
    expected_prompt_tokens,
    question_offsets,
)
from sleeptime.policy._measured import (
    MeasuredEnvironment,
    MeasuredError,
    MeasuredTable,
    measured_fixed_rows,
)

__all__ = [
    "DERIVED_FEATURES",
    "ActionTables",
    "Allocation",
    "Comparison",
    "DistilledPolicy",
    "Environment",
    "FixedPointChange",
    "FixedPolicy",
    "Group",
    "LearnedPolicy",
    "LearnedSummary",
    "LearnedTables",
    "MeasuredEnvironment",
    "MeasuredError",
    "MeasuredTable",
    "OperatingPoint",
    "OraclePolicy",
    "Policy",
    "PolicyRow",
    "Sweep",
    "SweptPolicy",
    "ThresholdPolicy",
    "at_equal_accuracy",
    "bisect_lam",
    "choose_budget",
    "choose_sleep",
    "compare_policies",
    "decision_sensitivity",
    "distill",
    "expected_prompt_tokens",
    "measured_fixed_rows",
    "oracle_decisions",
    "paired_bootstrap",
    "paper_policy",
    "per_context_sums",
    "policy_artifact",
    "policy_row",
    "predicted_usd_per_query",
    "question_offsets",
    "write_artifact",
]
