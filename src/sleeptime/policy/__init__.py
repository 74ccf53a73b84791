"""Allocation policies: baselines, the oracle, the learned policy, and their evaluation."""

from __future__ import annotations

from sleeptime.policy._base import ActionTables, Allocation, Environment, Policy
from sleeptime.policy._baselines import FixedPolicy, OraclePolicy, ThresholdPolicy, paper_policy
from sleeptime.policy._evaluate import (
    LearnedTables,
    bisect_lam,
    compare_policies,
    operating_points,
    predicted_usd_per_query,
    summarize_policy,
)
from sleeptime.policy._learned import LearnedPolicy, question_offsets

__all__ = [
    "ActionTables",
    "Allocation",
    "Environment",
    "FixedPolicy",
    "LearnedPolicy",
    "LearnedTables",
    "OraclePolicy",
    "Policy",
    "ThresholdPolicy",
    "bisect_lam",
    "compare_policies",
    "operating_points",
    "paper_policy",
    "predicted_usd_per_query",
    "question_offsets",
    "summarize_policy",
]
