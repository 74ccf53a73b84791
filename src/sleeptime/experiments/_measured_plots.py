"""The paper's figures from a real run (measured), each beside the paper's digitized points
in a panel of its own: never one axis for both."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sleeptime.experiments._plots import LEVEL_COLORS, _figure, _save, plot_pareto

if TYPE_CHECKING:
    from sleeptime.experiments._measured import MeasuredData
    from sleeptime.policy import Comparison

MEASURED = "measured"
DIGITIZED = "digitized"


def _paper_rows(name: str) -> list[dict[str, str]]:
    from sleeptime.simulators import paper_data

    with paper_data(name).open() as handle:
        return list(csv.DictReader(handle))


def _title(data: MeasuredData) -> str:
    return f"{MEASURED}: {data.table.model}, {data.table.n_contexts} contexts"


def measured_curve(data: MeasuredData) -> dict[str, list[tuple[str, float, float]]]:
    """Per sleep level: (budget, mean test-time output tokens, accuracy) over all contexts."""
    t = data.table
    return {level: [(b, float(t.test_output_tokens[s, k].mean()), float(t.correct[s, k].mean())) for k, b in enumerate(t.budgets)]
            for s, level in enumerate(t.sleep_levels)}  # fmt: skip


def plot_accuracy_vs_tokens(data: MeasuredData, path: Path) -> Path:
    """Figs. 3-4: accuracy against test-time tokens, with and without sleep-time compute."""
    from sleeptime.experiments._measured import PAPER_PANEL

    fig, axes = _figure(2, 4.6, 3.6)
    ax = axes[0]
    for s, (level, points) in enumerate(measured_curve(data).items()):
        xs, ys = [p[1] for p in points], [p[2] for p in points]
        ax.plot(xs, ys, "o-", color=LEVEL_COLORS[s % len(LEVEL_COLORS)], label="test-only" if level == "none" else f"sleep-time {level} ({data.table.view})")  # fmt: skip
        for b, x, y in points:
            ax.annotate(b, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_title(_title(data), fontsize=9)
    bench, model = PAPER_PANEL
    ax2 = axes[1]
    rows = [
        r
        for r in _paper_rows("test_time_scaling")
        if r["benchmark"] == bench and r["model"] == model
    ]
    for i, cond in enumerate(("test_only", "sleep_time")):
        pts = sorted(
            (float(r["avg_test_tokens"]), float(r["accuracy"]))
            for r in rows
            if r["condition"] == cond
        )
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], "s--", color=LEVEL_COLORS[i], label=cond.replace("_", "-"))  # fmt: skip
    ax2.set_title(f"{DIGITIZED} from the paper: {model}, {bench} (a different model)", fontsize=8)
    for a in axes:
        a.set_xscale("log")
        a.set_xlabel("test-time output tokens per query (log)")
        a.set_ylabel("accuracy")
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=7)
    return _save(fig, path)


def measured_amortization(data: MeasuredData, queries: Any = range(1, 11)) -> dict[str, list[tuple[int, float]]]:  # fmt: skip
    """Cost per query (USD) by queries per context: each cell's measured test cost, plus its
    measured sleep-time cost shared by N queries, at the environment's prices."""
    t = data.table
    test, sleep = t.usd(data.env.prices, data.env.model, data.env.sleep_discount)
    out: dict[str, list[tuple[int, float]]] = {}
    for s, level in enumerate(t.sleep_levels):
        for k, b in enumerate(t.budgets):
            out[f"{level},{b}"] = [
                (n, float(test[s, k].mean() + sleep[s].mean() / n)) for n in queries
            ]
    return out


def plot_cost_by_queries(data: MeasuredData, path: Path) -> Path:
    """Fig. 9: cost per query against queries per context."""
    from sleeptime.experiments._measured import PAPER_PANEL

    fig, axes = _figure(2, 4.6, 3.6)
    ax = axes[0]
    for i, (name, pts) in enumerate(measured_amortization(data).items()):
        level = name.split(",")[0]
        style = "--" if level == "none" else "-"
        ax.plot([p[0] for p in pts], [1000 * p[1] for p in pts], style, marker="o", ms=3, color=LEVEL_COLORS[i % len(LEVEL_COLORS)], label=name)  # fmt: skip
    ax.set_ylabel("USD per 1,000 queries")
    ax.set_title(f"{_title(data)}\n{data.env.prices.version} prices of {data.env.model}, sleep-time x{data.env.sleep_discount:g}", fontsize=8)  # fmt: skip
    bench, model = PAPER_PANEL
    ax2 = axes[1]
    rows = [r for r in _paper_rows("amortization") if r["model"] == model and r["benchmark"].endswith(bench[-2:]) and r["queries_per_context"]]  # fmt: skip
    for i, acc in enumerate(sorted({r["accuracy"] for r in rows})):
        pts = sorted((int(r["queries_per_context"]), float(r["cost_per_query"])) for r in rows if r["accuracy"] == acc)  # fmt: skip
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], "s-", color=LEVEL_COLORS[(i + 1) % len(LEVEL_COLORS)], label=f"sleep-time, accuracy {float(acc):.2f}")  # fmt: skip
    ax2.set_ylabel("paper's cost per query (tokens, test-time x10)")
    ax2.set_title(f"{DIGITIZED} from the paper's Fig. 9: {model} (a different model)", fontsize=8)
    for a in axes:
        a.set_xlabel("queries per context")
        a.grid(alpha=0.3)
        a.legend(fontsize=6)
    return _save(fig, path)


def measured_quintile_gains(data: MeasuredData, *, budget: int = 0, level: int = 1) -> tuple[list[float], list[int]]:  # fmt: skip
    """Per quintile of the question's log p(q | c) under the default LM (1 = least
    predictable): the measured accuracy gain of sleep level ``level`` over test-only at
    ``budget``, and the queries in each quintile."""
    t = data.table
    lp = data.items.observed_predictability
    gain = t.correct[level, budget] - t.correct[0, budget]
    edges = np.quantile(lp, [0.2, 0.4, 0.6, 0.8])
    q = np.searchsorted(edges, lp, side="right")
    return [float(gain[q == i].mean()) if np.any(q == i) else float("nan") for i in range(5)], [int((q == i).sum()) for i in range(5)]  # fmt: skip


def plot_quintile_gains(data: MeasuredData, path: Path) -> Path:
    """Fig. 10: the gain of sleep-time compute by predictability quintile."""
    from sleeptime.experiments._measured import PAPER_PANEL
    from sleeptime.simulators import paper_quintile_gains

    gains, counts = measured_quintile_gains(data)
    fig, axes = _figure(2, 4.6, 3.6)
    x = np.arange(1, 6)
    axes[0].bar(x, gains, 0.6, color=LEVEL_COLORS[1])
    for xi, n in zip(x, counts, strict=True):
        axes[0].annotate(f"n={n}", (xi, 0), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)  # fmt: skip
    axes[0].set_title(f"{_title(data)}\n{data.table.sleep_levels[1]} ({data.table.view}) minus test-only at {data.table.budgets[0]}", fontsize=8)  # fmt: skip
    paper = paper_quintile_gains(*PAPER_PANEL)
    if paper is not None:
        axes[1].bar(x, paper, 0.6, color="#8C8C8C")
    axes[1].set_title(f"{DIGITIZED} from the paper's Fig. 10: {PAPER_PANEL[1]} (a different model and LM)", fontsize=8)  # fmt: skip
    for a in axes:
        a.set_xticks(x)
        a.set_xlabel("quintile of log p(q | c) (1 = least predictable)")
        a.set_ylabel("accuracy gain of sleep-time")
        a.axhline(0, color="k", lw=0.6)
        a.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def measured_figures(data: MeasuredData, comparison: Comparison, out: Path) -> dict[str, Path]:
    """The four figures of a measured report, as PNG files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return {
        "accuracy_vs_test_tokens": plot_accuracy_vs_tokens(data, out / "measured_accuracy_vs_tokens.png"),
        "cost_by_queries_per_context": plot_cost_by_queries(data, out / "measured_cost_by_queries.png"),
        "gain_by_predictability_quintile": plot_quintile_gains(data, out / "measured_quintile_gains.png"),
        "pareto": plot_pareto(comparison.rows, out / "measured_pareto.png",
                              title=f"Policies on held-out contexts, {data.table.model} ({MEASURED})",
                              reference=comparison.operating_point.best_static),
    }  # fmt: skip
