"""Workloads: contexts with their queries, loaders, answer checking, the generator, arrivals."""

from __future__ import annotations

from sleeptime.workloads._answers import check_answer, extract_answer, parse_number
from sleeptime.workloads._arrivals import (
    ArrivalProcess,
    Arrivals,
    Durations,
    EmpiricalCount,
    EmpiricalDurations,
    ExponentialDurations,
    FixedCount,
    GeometricCount,
    PoissonCount,
    QueryCount,
)
from sleeptime.workloads._generator import (
    BUILTIN_CONTEXTS,
    BUILTIN_QUERY_MEANS,
    PREDICTABILITY_LEVELS,
    generate_workload,
)
from sleeptime.workloads._loaders import (
    FORMATS,
    FieldMap,
    detect_format,
    load_workload,
    save_workload,
)
from sleeptime.workloads._split import Split, sentences, split_problem
from sleeptime.workloads._types import ANSWER_KINDS, Context, Query, Workload

__all__ = [
    "ANSWER_KINDS",
    "BUILTIN_CONTEXTS",
    "BUILTIN_QUERY_MEANS",
    "FORMATS",
    "PREDICTABILITY_LEVELS",
    "ArrivalProcess",
    "Arrivals",
    "Context",
    "Durations",
    "EmpiricalCount",
    "EmpiricalDurations",
    "ExponentialDurations",
    "FieldMap",
    "FixedCount",
    "GeometricCount",
    "PoissonCount",
    "Query",
    "QueryCount",
    "Split",
    "Workload",
    "check_answer",
    "detect_format",
    "extract_answer",
    "generate_workload",
    "load_workload",
    "parse_number",
    "save_workload",
    "sentences",
    "split_problem",
]
