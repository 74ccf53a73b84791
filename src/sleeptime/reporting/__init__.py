"""Showing results: figures, text tables and the HTML report of a run.

Display objects are built from result objects and only draw (:class:`MeasuredDisplay` holds
the numbers of a measured run's figures); no figure computes a number. This part imports no
experiment: experiments compute, then hand their results here.
"""

from sleeptime.reporting._cells import cost_change, interval, number, percent
from sleeptime.reporting._measured_plots import DIGITIZED, MEASURED, MeasuredDisplay
from sleeptime.reporting._offpolicy import drift_table, estimator_table, plot_drift, plot_estimators
from sleeptime.reporting._plots import (
    BUDGET_MARKERS,
    COLORS,
    LEVEL_COLORS,
    POLICY_COLORS,
    SIMULATED,
    budget_label,
    label_axes,
    place_labels,
    plot_amortization,
    plot_calibration,
    plot_decisions,
    plot_pareto,
    plot_quintiles,
    plot_test_tokens,
)
from sleeptime.reporting._report import (
    Figure,
    Report,
    Table,
    command_line,
    render_html,
    table_from_rows,
    versions,
    write_report,
)
from sleeptime.reporting._when import headline as when_headline
from sleeptime.reporting._when import when_figures, when_tables

__all__ = [
    "BUDGET_MARKERS",
    "COLORS",
    "DIGITIZED",
    "LEVEL_COLORS",
    "MEASURED",
    "POLICY_COLORS",
    "SIMULATED",
    "Figure",
    "MeasuredDisplay",
    "Report",
    "Table",
    "budget_label",
    "command_line",
    "cost_change",
    "drift_table",
    "estimator_table",
    "interval",
    "label_axes",
    "number",
    "percent",
    "place_labels",
    "plot_amortization",
    "plot_calibration",
    "plot_decisions",
    "plot_drift",
    "plot_estimators",
    "plot_pareto",
    "plot_quintiles",
    "plot_test_tokens",
    "render_html",
    "table_from_rows",
    "versions",
    "when_figures",
    "when_headline",
    "when_tables",
    "write_report",
]
