"""Simulators: price books, outcome models (calibrated to the paper or fitted to traces),
vectorized replay, metrics, Pareto fronts and the paper's figures in simulation."""

from __future__ import annotations

from sleeptime.simulators._calibration import (
    CONDITIONS,
    Calibration,
    CalibrationError,
    CurveFit,
    calibrate,
    fit_amortization,
    fit_curve,
    interpolate_tokens,
    read_points,
    read_quintiles,
)
from sleeptime.simulators._items import SimItems, items_from_workload, link_latent, synthetic_items
from sleeptime.simulators._outcomes import (
    ASSUMPTIONS,
    EFFORT_SLEEP_LEVELS,
    GSM_SLEEP_LEVELS,
    Outcome,
    OutcomeError,
    OutcomeModel,
    PaperOutcomeModel,
    SleepLevel,
    SleepScaling,
    fit_predictability_effect,
)
from sleeptime.simulators._prices import (
    ModelPrice,
    PriceBook,
    PriceBookError,
    list_prices_2025,
    load_price_book,
    paper_abstract_prices,
)
from sleeptime.simulators._replay import (
    ReplayResult,
    bootstrap_interval,
    fixed_actions,
    pareto_front,
    replay,
)
from sleeptime.simulators._traces import TRACE_FIELDS, TraceOutcomeModel, read_traces

__all__ = [
    "ASSUMPTIONS",
    "CONDITIONS",
    "EFFORT_SLEEP_LEVELS",
    "GSM_SLEEP_LEVELS",
    "TRACE_FIELDS",
    "VIEWS",
    "Calibration",
    "CalibrationError",
    "CurveFit",
    "ModelPrice",
    "Outcome",
    "OutcomeError",
    "OutcomeModel",
    "PaperOutcomeModel",
    "PriceBook",
    "PriceBookError",
    "ReplayResult",
    "SimItems",
    "SleepLevel",
    "SleepScaling",
    "TraceOutcomeModel",
    "bootstrap_interval",
    "calibrate",
    "fit_amortization",
    "fit_curve",
    "fit_predictability_effect",
    "fixed_actions",
    "interpolate_tokens",
    "items_from_workload",
    "link_latent",
    "list_prices_2025",
    "load_price_book",
    "paper_abstract_prices",
    "pareto_front",
    "read_points",
    "read_quintiles",
    "read_traces",
    "replay",
    "sleep_ready",
    "synthetic_items",
]
