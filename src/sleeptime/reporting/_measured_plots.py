"""The paper's figures from a real run (measured), each beside the paper's digitized points
in a panel of its own: never one axis for both.

:class:`MeasuredDisplay` holds the numbers (computed from a run's measured table by the
experiment that owns it); its methods only draw."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.reporting._plots import LEVEL_COLORS, _figure, _save, plot_pareto

MEASURED = "measured"
DIGITIZED = "digitized"


def _paper_rows(name: str) -> list[dict[str, str]]:
    from sleeptime.simulators import paper_data

    with paper_data(name).open() as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class MeasuredDisplay:
    """The numbers of a measured run's figures.

    ``curve``: per sleep level, (budget, mean test-time output tokens, accuracy);
    ``amortization``: per ``"level,budget"``, (queries per context, USD per query);
    ``quintile_gains`` and ``quintile_counts``: per quintile of log p(q | c) (1 = least
    predictable), the accuracy gain of the first sleep level over test-only and the queries in
    it. ``paper_panel`` is the (benchmark, model) of the paper's digitized panel beside them."""

    model: str
    n_contexts: int
    view: str
    sleep_levels: tuple[str, ...]
    budgets: tuple[str, ...]
    prices_caption: str
    curve: Mapping[str, Sequence[tuple[str, float, float]]]
    amortization: Mapping[str, Sequence[tuple[int, float]]]
    quintile_gains: Sequence[float]
    quintile_counts: Sequence[int]
    paper_panel: tuple[str, str]

    @property
    def title(self) -> str:
        """The report's title: ``measured: MODEL, N contexts``."""
        return f"{MEASURED}: {self.model}, {self.n_contexts} contexts"

    def plot(self, rows: Sequence[Any], reference: Any, out: Path) -> dict[str, Path]:
        """The four figures of a measured report, as PNG files in ``out``: the three of the
        paper beside its digitized panels, and the policies' Pareto plot of ``rows``."""
        out.mkdir(parents=True, exist_ok=True)
        return {
            "accuracy_vs_test_tokens": plot_accuracy_vs_tokens(self, out / "measured_accuracy_vs_tokens.png"),
            "cost_by_queries_per_context": plot_cost_by_queries(self, out / "measured_cost_by_queries.png"),
            "gain_by_predictability_quintile": plot_quintile_gains(self, out / "measured_quintile_gains.png"),
            "pareto": plot_pareto(rows, out / "measured_pareto.png",
                                  title=f"Policies on held-out contexts, {self.model} ({MEASURED})", reference=reference),
        }  # fmt: skip


def plot_accuracy_vs_tokens(data: MeasuredDisplay, path: Path) -> Path:
    """Figs. 3-4: accuracy against test-time tokens, with and without sleep-time compute."""
    fig, axes = _figure(2, 4.6, 3.6)
    ax = axes[0]
    for s, (level, points) in enumerate(data.curve.items()):
        xs, ys = [p[1] for p in points], [p[2] for p in points]
        ax.plot(xs, ys, "o-", color=LEVEL_COLORS[s % len(LEVEL_COLORS)], label="test-only" if level == "none" else f"sleep-time {level} ({data.view})")  # fmt: skip
        for b, x, y in points:
            ax.annotate(b, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_title(data.title, fontsize=9)
    bench, model = data.paper_panel
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


def plot_cost_by_queries(data: MeasuredDisplay, path: Path) -> Path:
    """Fig. 9: cost per query against queries per context."""
    fig, axes = _figure(2, 4.6, 3.6)
    ax = axes[0]
    for i, (name, pts) in enumerate(data.amortization.items()):
        level = name.split(",")[0]
        style = "--" if level == "none" else "-"
        ax.plot([p[0] for p in pts], [1000 * p[1] for p in pts], style, marker="o", ms=3, color=LEVEL_COLORS[i % len(LEVEL_COLORS)], label=name)  # fmt: skip
    ax.set_ylabel("USD per 1,000 queries")
    ax.set_title(f"{data.title}\n{data.prices_caption}", fontsize=8)
    bench, model = data.paper_panel
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


def plot_quintile_gains(data: MeasuredDisplay, path: Path) -> Path:
    """Fig. 10: the gain of sleep-time compute by predictability quintile."""
    from sleeptime.simulators import paper_quintile_gains

    gains, counts = data.quintile_gains, data.quintile_counts
    fig, axes = _figure(2, 4.6, 3.6)
    x = np.arange(1, 6)
    axes[0].bar(x, gains, 0.6, color=LEVEL_COLORS[1])
    for xi, n in zip(x, counts, strict=True):
        axes[0].annotate(f"n={n}", (xi, 0), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=7)  # fmt: skip
    axes[0].set_title(f"{data.title}\n{data.sleep_levels[1]} ({data.view}) minus test-only at {data.budgets[0]}", fontsize=8)  # fmt: skip
    paper = paper_quintile_gains(*data.paper_panel)
    if paper is not None:
        axes[1].bar(x, paper, 0.6, color="#8C8C8C")
    axes[1].set_title(f"{DIGITIZED} from the paper's Fig. 10: {data.paper_panel[0]}, {data.paper_panel[1]} (a different task, model and LM)", fontsize=8)  # fmt: skip
    for a in axes:
        a.set_xticks(x)
        a.set_xlabel("quintile of log p(q | c) (1 = least predictable)")
        a.set_ylabel("accuracy gain of sleep-time")
        a.axhline(0, color="k", lw=0.6)
        a.grid(alpha=0.3, axis="y")
    return _save(fig, path)
