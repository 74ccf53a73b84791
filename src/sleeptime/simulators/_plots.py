"""Figures as PNG: the paper's Figs. 3-4, 9 and 10 in simulation, and Pareto fronts."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.simulators._calibration import Calibration

SIMULATED = "simulated"
COLORS = {"test_only": "#4C72B0", "sleep_time": "#DD8452"}


def _figure(n_panels: int, width: float = 4.2, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(n_panels, 4)
    rows = math.ceil(n_panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(plain)
                axis.set_minor_formatter(NullFormatter())
    fig.tight_layout(rect=(0, 0, 1, 0.95) if fig._suptitle is not None else (0, 0, 1, 1))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        Path(tmp).replace(target)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)
    return target


def plot_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Accuracy vs average test-time tokens per panel: digitized points and fitted curves."""
    panels = calibration.panels()
    fig, axes = _figure(len(panels))
    for ax, (benchmark, model) in zip(axes, panels, strict=False):
        for condition in ("test_only", "sleep_time"):
            fit = calibration.curve(benchmark, model, condition)
            t = np.geomspace(min(fit.tokens) / 1.5, max(fit.tokens) * 1.5, 200)
            label = condition.replace("_", "-")
            ax.plot(t, fit(t), color=COLORS[condition], label=f"{label} fit (RMSE {fit.rmse:.3f})")
            ax.scatter(
                fit.tokens, fit.accuracy, color=COLORS[condition], s=22, zorder=3, edgecolor="white"
            )
        ax.set_xscale("log")
        ax.set_title(f"{benchmark}\n{model}", fontsize=9)
        ax.set_xlabel("avg test-time tokens / query")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(
        "Calibration: points digitized from the paper (dots) and fitted curves", fontsize=11
    )
    return _save(fig, path)


def plot_amortization(
    rows: Sequence[Mapping[str, Any]], path: str | Path, *, paper: Sequence[Mapping[str, Any]] = ()
) -> Path:
    """Cost per query vs queries per context, one line per budget (Fig. 9, simulated).

    ``rows``: ``budget``, ``queries_per_context``, ``cost``; ``paper``: the digitized points.
    """
    fig, axes = _figure(1, 5.5, 4.0)
    ax = axes[0]
    budgets = sorted({r["budget"] for r in rows})
    for i, budget in enumerate(budgets):
        pts = sorted((r["queries_per_context"], r["cost"]) for r in rows if r["budget"] == budget)
        color = f"C{i}"
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            "-o",
            color=color,
            label=f"{budget} ({SIMULATED})",
        )
        ref = sorted((r["queries_per_context"], r["cost"]) for r in paper if r["budget"] == budget)
        if ref:
            ax.scatter(
                [p[0] for p in ref],
                [p[1] for p in ref],
                marker="x",
                color=color,
                label=f"{budget} (digitized)",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("queries per context")
    ax.set_ylabel("cost per query (test-token units)")
    ax.set_title("Sleep-time cost amortized over queries (Fig. 9)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_quintiles(
    simulated: Sequence[float],
    path: str | Path,
    *,
    paper: Sequence[float] | None = None,
    title: str = "",
) -> Path:
    """Accuracy gain of sleep-time over test-only per predictability quintile (Fig. 10)."""
    fig, axes = _figure(1, 5.0, 3.6)
    ax = axes[0]
    q = np.arange(1, len(simulated) + 1)
    width = 0.38 if paper is not None else 0.6
    ax.bar(
        q - (width / 2 if paper is not None else 0),
        simulated,
        width,
        color="#DD8452",
        label=SIMULATED,
    )
    if paper is not None:
        ax.bar(q + width / 2, paper, width, color="#8C8C8C", label="digitized from Fig. 10")
    ax.set_xticks(q)
    ax.set_xlabel("predictability quintile (1 = least predictable)")
    ax.set_ylabel("accuracy gain of sleep-time")
    ax.set_title(title or "Gain by predictability quintile", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_pareto(points: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Accuracy vs USD per 1k queries for named policies; the Pareto front is drawn as a line.

    ``points``: ``name``, ``usd_per_1k_queries``, ``accuracy``, optional ``accuracy_ci95`` and
    ``group`` (points of one group share a color).
    """
    from sleeptime.simulators._replay import pareto_front

    fig, axes = _figure(1, 6.5, 4.6)
    ax = axes[0]
    front = pareto_front([p["accuracy"] for p in points], [p["usd_per_1k_queries"] for p in points])
    groups = list(dict.fromkeys(str(p.get("group", "policy")) for p in points))
    for gi, group in enumerate(groups):
        pts = [p for p in points if str(p.get("group", "policy")) == group]
        x = [p["usd_per_1k_queries"] for p in pts]
        y = [p["accuracy"] for p in pts]
        ax.scatter(x, y, color=f"C{gi}", label=group, s=30, zorder=3)
        for p in pts:
            if "accuracy_ci95" in p:
                lo, hi = p["accuracy_ci95"]
                ax.plot([p["usd_per_1k_queries"]] * 2, [lo, hi], color=f"C{gi}", alpha=0.5, lw=1)
    ax.plot(
        [points[i]["usd_per_1k_queries"] for i in front],
        [points[i]["accuracy"] for i in front],
        "k--",
        lw=1,
        label="Pareto front",
    )
    ax.set_xscale("log")
    ax.set_xlabel("USD per 1,000 queries (log)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"Accuracy vs cost ({SIMULATED})", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    # label the front only (every point labelled makes an unreadable cloud), each label where it
    # overlaps no label placed before it; one that finds no free place is left out
    _place_labels(ax, [points[i] for i in front])
    return _save(fig, path)


def _place_labels(ax: Any, points: Sequence[Mapping[str, Any]], fontsize: float = 6) -> None:
    fig = ax.figure
    fig.canvas.draw()
    to_px = fig.dpi / 72  # points -> pixels
    width_pt, height_pt = 0.55 * fontsize, 1.2 * fontsize  # per character; per line
    taken: list[tuple[float, float, float, float]] = []
    offsets = ((4, -9), (4, 4), (-4, 4), (-4, -9), (4, -18), (4, 13), (-4, -18), (-4, 13))
    for p in points:
        name = str(p["name"])
        x, y = ax.transData.transform((p["usd_per_1k_queries"], p["accuracy"]))
        w, h = len(name) * width_pt * to_px, height_pt * to_px
        for dx, dy in offsets:
            left = x + dx * to_px - (w if dx < 0 else 0)
            box = (left, y + dy * to_px, left + w, y + dy * to_px + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):  # fmt: skip
                taken.append(box)
                ax.annotate(name, (p["usd_per_1k_queries"], p["accuracy"]), fontsize=fontsize,
                            xytext=(dx, dy), textcoords="offset points",
                            ha="right" if dx < 0 else "left")  # fmt: skip
                break


def plot_test_tokens(
    curves: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path,
    *,
    paper: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    title: str = "",
) -> Path:
    """Accuracy vs test-time tokens per query, one line per sleep-time setting (``none`` =
    test-only); ``paper``: digitized points drawn as open markers with the same colors."""
    fig, axes = _figure(1, 6.5, 4.4)
    ax = axes[0]
    for i, (name, pts) in enumerate(curves.items()):
        pts = sorted(pts)
        color = COLORS["test_only"] if name in ("none", "test-only") else f"C{i + 1}"
        label = "test-only" if name in ("none", "test-only") else f"sleep-time {name}"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=f"{label} ({SIMULATED})", ms=4)  # fmt: skip
        if paper and name in paper:
            ax.scatter([p[0] for p in paper[name]], [p[1] for p in paper[name]], facecolors="none",
                       edgecolors=color, s=60, label=f"{label} (digitized)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("test-time tokens per query (log)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "Accuracy vs test-time tokens", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_decisions(
    breakdown: Mapping[str, Mapping[str, Mapping[str, Any]]],
    budget_shares: Mapping[str, float],
    path: str | Path,
    *,
    title: str = "",
) -> Path:
    """What a policy decided: share of contexts given sleep-time compute by tercile of each
    feature in ``breakdown``, and the share of queries per test-time budget."""
    panels = len(breakdown) + 1
    fig, axes = _figure(panels, 3.6, 3.2)
    labels = {"expected_queries": "expected queries", "predicted_predictability": "predicted predictability"}  # fmt: skip
    for ax, (feature, by) in zip(axes, breakdown.items(), strict=False):
        names = list(by)
        shares = [by[n]["sleep_share"] for n in names]
        bars = ax.bar(names, shares, color=COLORS["sleep_time"])
        ax.bar_label(bars, labels=[f"{s:.0%}" for s in shares], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_xlabel(f"tercile of {labels.get(feature, feature)}")
        ax.set_ylabel("contexts given sleep-time compute")
    ax = axes[panels - 1]
    names = list(budget_shares)
    bars = ax.bar(names, [budget_shares[n] for n in names], color=COLORS["test_only"])
    ax.bar_label(bars, labels=[f"{budget_shares[n]:.0%}" for n in names], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("test-time budget")
    ax.set_ylabel("share of queries")
    fig.suptitle(title or f"What the learned policy decided ({SIMULATED})", fontsize=10)
    return _save(fig, path)
