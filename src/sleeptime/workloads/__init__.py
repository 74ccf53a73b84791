"""Workloads: contexts with their queries, loaders, answer checking, the generator, arrivals."""

from __future__ import annotations

from sleeptime.workloads._answers import check_answer, extract_answer, parse_number
from sleeptime.workloads._arrival_fits import (
    FAMILIES,
    AccessLog,
    ArrivalFit,
    FamilyFit,
    GammaPoissonCount,
    PowerLawCount,
    SelfExcitingCount,
    access_log_from_rows,
    count_log_pmf,
    expected_remaining,
    fit_arrivals,
    read_access_log,
)
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
from sleeptime.workloads._count_laws import COUNT_LAWS, count_law, parse_count_law
from sleeptime.workloads._generator import (
    BUILTIN_CONTEXTS,
    BUILTIN_QUERY_MEANS,
    PREDICTABILITY_LEVELS,
    edit_context,
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
    "COUNT_LAWS",
    "FAMILIES",
    "FORMATS",
    "PREDICTABILITY_LEVELS",
    "AccessLog",
    "ArrivalFit",
    "ArrivalProcess",
    "Arrivals",
    "Context",
    "Durations",
    "EmpiricalCount",
    "EmpiricalDurations",
    "ExponentialDurations",
    "FamilyFit",
    "FieldMap",
    "FixedCount",
    "GammaPoissonCount",
    "GeometricCount",
    "PoissonCount",
    "PowerLawCount",
    "Query",
    "QueryCount",
    "SelfExcitingCount",
    "Split",
    "Workload",
    "access_log_from_rows",
    "check_answer",
    "count_law",
    "count_log_pmf",
    "detect_format",
    "edit_context",
    "expected_remaining",
    "extract_answer",
    "fit_arrivals",
    "generate_workload",
    "load_workload",
    "parse_count_law",
    "parse_number",
    "read_access_log",
    "save_workload",
    "sentences",
    "split_problem",
]
