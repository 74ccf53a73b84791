"""Figures as PNG: the paper's Figs. 3-4, 9 and 10 in simulation, Pareto fronts, decisions.

Every figure says where its numbers come from in its legend (``simulated``, ``digitized``).
Budgets are named as in the tables (``b0``, ``b1``, ...), log axes carry labels at 1-2-5 steps.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._atomic import atomic_path
from sleeptime.simulators import Calibration, pareto_front

SIMULATED = "simulated"
COLORS = {"test_only": "#4C72B0", "sleep_time": "#DD8452"}
#: One colour per sleep level (test-only first) and per named policy.
LEVEL_COLORS = ("#4C72B0", "#DD8452", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#CCB974")
POLICY_COLORS = {"oracle": "#2CA02C", "oracle-count-blind": "#98DF8A", "learned": "#E7298A",
                 "learned-cheap": "#17BECF", "paper(k1,b0)": "#7F7F7F", "threshold": "#BCBD22"}  # fmt: skip
BUDGET_MARKERS = ("v", "o", "^", "s", "P")
#: Groups whose points are told apart by the policy's name (other groups are one series each).
_BY_NAME = frozenset({"oracle", "oracle (count-blind)", "learned", "baseline"})
_FIXED = re.compile(r"(?:fixed\()?([A-Za-z0-9-]+)[,/]b(\d+)\)?$")


def budget_label(budget: str | int) -> str:
    """A budget level as the tables name it: ``level-1`` -> ``b1``."""
    text = str(budget)
    return (
        f"b{text.removeprefix('level-')}" if text.startswith("level-") or text.isdigit() else text
    )


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


def label_axes(ax: Any, title: str, *, xlabel: str | None = None, ylabel: str | None = None, legend: Mapping[str, Any] | None = None) -> None:  # fmt: skip
    """The house style of one panel: its axis labels, its title (10 pt) and its legend (7 pt,
    with ``legend``'s further options, e.g. ``loc`` or ``handles``)."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(**{"fontsize": 7, **(legend or {})})


def _log_ticks(axis: Any) -> None:
    """Labels at 1, 2 and 5 times each power of ten on a log axis, plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _save(fig: Any, path: str | Path, *, layout: bool = True) -> Path:
    import matplotlib.pyplot as plt

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log" and not getattr(axis, "_sleeptime_ticks", False):
                _log_ticks(axis)
    if layout:
        fig.tight_layout(rect=(0, 0, 1, 0.95) if fig._suptitle is not None else (0, 0, 1, 1))
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return Path(path)


def plot_calibration(calibration: Calibration, path: str | Path) -> Path:
    """Accuracy vs average test-time tokens per panel: digitized points and fitted curves."""
    panels = calibration.panels()
    fig, axes = _figure(len(panels))
    for ax, (benchmark, model) in zip(axes, panels, strict=False):
        for condition in ("test_only", "sleep_time"):
            fit = calibration.curve(benchmark, model, condition)
            t = np.geomspace(min(fit.tokens) / 1.5, max(fit.tokens) * 1.5, 200)
            label = condition.replace("_", "-")
            quality = f"RMSE {fit.rmse:.3f}" if fit.degrees_of_freedom > 0 else "exact: no degrees of freedom left"  # fmt: skip
            ax.plot(t, fit(t), color=COLORS[condition], label=f"{label} fit ({quality})")
            ax.scatter(fit.tokens, fit.accuracy, color=COLORS[condition], s=22, zorder=3, edgecolor="white")  # fmt: skip
        ax.set_xscale("log")
        ax.set_title(f"{benchmark}\n{model}", fontsize=9)
        ax.set_xlabel("avg test-time tokens / query")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Calibration: points digitized from the paper (dots) and fitted curves", fontsize=11)  # fmt: skip
    return _save(fig, path)


def plot_amortization(
    rows: Sequence[Mapping[str, Any]], path: str | Path, *, paper: Sequence[Mapping[str, Any]] = ()
) -> Path:
    """Cost per query vs queries per context, one line per budget (Fig. 9, simulated).

    ``rows``: ``budget``, ``queries_per_context``, ``cost``; ``paper``: the digitized points.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    fig, axes = _figure(1, 5.5, 4.0)
    ax = axes[0]
    budgets = sorted({r["budget"] for r in rows})
    for i, budget in enumerate(budgets):
        pts = sorted((r["queries_per_context"], r["cost"]) for r in rows if r["budget"] == budget)
        color = f"C{i}"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", color=color, label=f"{budget_label(budget)} ({SIMULATED})")  # fmt: skip
        ref = sorted((r["queries_per_context"], r["cost"]) for r in paper if r["budget"] == budget)
        if ref:
            ax.scatter([p[0] for p in ref], [p[1] for p in ref], marker="x", color=color, label=f"{budget_label(budget)} (digitized)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    counts = sorted({r["queries_per_context"] for r in (*rows, *paper)})
    ax.xaxis.set_major_locator(FixedLocator(counts))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis._sleeptime_ticks = True
    # a cost axis that may span less than a decade: ticks at 1-2-5 steps and, within a decade,
    # at every integer multiple, so that it always carries labels
    costs = [r["cost"] for r in (*rows, *paper) if r["cost"] > 0]
    lo, hi = min(costs), max(costs)
    ax.set_ylim(lo / 1.25, hi * 1.25)
    if hi / lo < 10:
        from matplotlib.ticker import LogLocator

        ax.yaxis.set_major_locator(LogLocator(base=10, subs=tuple(float(k) for k in range(1, 10))))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis._sleeptime_ticks = True
    label_axes(ax, "Sleep-time cost amortized over queries (Fig. 9)", xlabel="queries per context", ylabel="cost per query (test-token units)")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_quintiles(
    observed: Sequence[float],
    path: str | Path,
    *,
    paper: Sequence[float] | None = None,
    latent: Sequence[float] | None = None,
    title: str = "",
    xlabel: str = "quintile of observed log p(q | c) (1 = least predictable)",
) -> Path:
    """Accuracy gain of sleep-time over test-only per predictability quintile (Fig. 10):
    simulated gains binned by the observed score (what a user can measure, as the paper did),
    the digitized bars beside them, and the gains binned by the simulator's latent
    predictability (the scale the model is calibrated on) as markers."""
    fig, axes = _figure(1, 5.4, 3.8)
    ax = axes[0]
    q = np.arange(1, len(observed) + 1)
    width = 0.38 if paper is not None else 0.6
    ax.bar(q - (width / 2 if paper is not None else 0), observed, width, color="#DD8452",
           label=f"{SIMULATED}, binned by observed score")  # fmt: skip
    if paper is not None:
        ax.bar(q + width / 2, paper, width, color="#8C8C8C", label="digitized from Fig. 10")
    if latent is not None:
        ax.plot(q - (width / 2 if paper is not None else 0), latent, "k_", ms=14, mew=2,
                label=f"{SIMULATED}, binned by latent predictability")  # fmt: skip
    ax.set_xticks(q)
    label_axes(ax, title or "Gain by predictability quintile", xlabel=xlabel, ylabel="accuracy gain of sleep-time", legend={"loc": "upper left"})  # fmt: skip
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def _as_point(p: Any) -> Mapping[str, Any]:
    return dataclasses.asdict(p) if dataclasses.is_dataclass(p) and not isinstance(p, type) else p


def _series(point: Mapping[str, Any]) -> tuple[str, str, str]:
    """(series label, colour, marker) of a point of a Pareto plot: fixed strategies by sleep
    level (colour) and budget (marker); other policies by name."""
    name, group = str(point["name"]), str(point.get("group", "policy"))
    fixed = _FIXED.match(name)
    if fixed and group not in _BY_NAME:
        level, budget = fixed.group(1), int(fixed.group(2))
        levels = ("none", "k1", "k2", "k5", "k10", "low", "medium", "high")
        index = levels.index(level) if level in levels else 0
        if level in ("low", "medium", "high"):
            index = 1 + ("low", "medium", "high").index(level)
        label = "test-only" if level == "none" else f"sleep-time {level}"
        return label, LEVEL_COLORS[index % len(LEVEL_COLORS)], BUDGET_MARKERS[budget % len(BUDGET_MARKERS)]  # fmt: skip
    policy, _, where = name.partition(" @ ")
    if group not in _BY_NAME:
        policy = group  # e.g. the trials of a study: one series
    marker = {"equal accuracy": "D", "equal cost": "s"}.get(
        where, "o" if group not in _BY_NAME else "X"
    )
    fallback = f"C{sum(map(ord, policy)) % 10}"
    return policy, POLICY_COLORS.get(policy, fallback), marker


def plot_pareto(
    points: Sequence[Any],
    path: str | Path,
    *,
    title: str = "",
    reference: str | None = None,
) -> Path:
    """Accuracy vs USD per 1k queries for named policies; the Pareto front is drawn as a line.

    ``points``: mappings (or dataclasses such as ``PolicyRow``) with ``name``,
    ``usd_per_1k_queries``, ``accuracy``, optional ``accuracy_ci95`` and ``group``. Fixed
    strategies are coloured by sleep level and marked by budget; other policies coloured by
    name. The front's points, ``reference`` (the operating point) and every policy read at
    equal accuracy are labelled, each with a leader line to its own point.
    """
    from matplotlib.lines import Line2D

    pts = [_as_point(p) for p in points]
    fig, axes = _figure(1, 8.2, 5.0)
    ax = axes[0]
    front = pareto_front([p["accuracy"] for p in pts], [p["usd_per_1k_queries"] for p in pts])
    handles: dict[str, Any] = {}
    budgets_seen: set[str] = set()
    for p in pts:
        label, color, marker = _series(p)
        x, y = p["usd_per_1k_queries"], p["accuracy"]
        ax.scatter([x], [y], color=color, marker=marker, s=34, zorder=3, edgecolor="white", linewidth=0.5)  # fmt: skip
        if "accuracy_ci95" in p and p["accuracy_ci95"] is not None:
            lo, hi = p["accuracy_ci95"]
            ax.plot([x, x], [lo, hi], color=color, alpha=0.5, lw=1)
        handles.setdefault(label, Line2D([], [], color=color, marker="o" if _FIXED.match(str(p["name"])) else marker, ls="", label=label))  # fmt: skip
        fixed = _FIXED.match(str(p["name"]))
        if fixed and label != str(p["name"]).partition(" @ ")[0]:
            budgets_seen.add(fixed.group(2))
    ax.plot([pts[i]["usd_per_1k_queries"] for i in front], [pts[i]["accuracy"] for i in front], "k--", lw=1, zorder=1)  # fmt: skip
    legend = [*handles.values(), Line2D([], [], color="k", ls="--", lw=1, label="Pareto front")]
    legend += [Line2D([], [], color="0.3", marker=BUDGET_MARKERS[int(b) % len(BUDGET_MARKERS)], ls="", label=f"budget b{b}") for b in sorted(budgets_seen)]  # fmt: skip
    if any(" @ equal accuracy" in str(p["name"]) for p in pts):
        legend += [Line2D([], [], color="0.3", marker="D", ls="", label="@ equal accuracy"),
                   Line2D([], [], color="0.3", marker="s", ls="", label="@ equal cost")]  # fmt: skip
    ax.set_xscale("log")
    _log_ticks(ax.xaxis)
    ax.xaxis._sleeptime_ticks = True
    label_axes(ax, title or f"Accuracy vs cost ({SIMULATED})", xlabel="USD per 1,000 queries (log)", ylabel="accuracy",
               legend={"handles": legend, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False})  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    labelled = [i for i, p in enumerate(pts) if i in set(front.tolist()) or p["name"] == reference or " @ equal accuracy" in str(p["name"])]  # fmt: skip
    place_labels(ax, pts, labelled, bold=reference)
    return _save(fig, path, layout=False)


def place_labels(ax: Any, points: Sequence[Mapping[str, Any]], labelled: Sequence[int], *, bold: str | None = None, fontsize: float = 6.5) -> None:  # fmt: skip
    """Name the ``labelled`` points, each label where it covers no other label and no point,
    tried at growing distances around its point, with a leader line to it; a label that finds
    no free place is left out (points, not labels, are the data)."""
    fig = ax.figure
    fig.canvas.draw()
    to_px = fig.dpi / 72  # points -> pixels
    xy = np.array([ax.transData.transform((p["usd_per_1k_queries"], p["accuracy"])) for p in points])  # fmt: skip
    marker_r = 4.5 * to_px
    taken: list[tuple[float, float, float, float]] = []
    width_pt, height_pt = 0.56 * fontsize, 1.25 * fontsize  # per character; per line
    bbox = ax.get_window_extent()
    # nearest-first, so that crowded points get the closest free spots before distant ones
    for i in sorted(labelled, key=lambda k: (points[k]["name"] != bold, xy[k][0])):
        name = str(points[i]["name"])
        x, y = xy[i]
        w, h = len(name) * width_pt * to_px, height_pt * to_px
        placed = False
        for radius in (8, 14, 22, 32, 44):
            for angle in (-30, 30, -60, 60, -120, 120, -150, 150, 0, 180, -90, 90):
                dx = radius * math.cos(math.radians(angle)) * to_px
                dy = radius * math.sin(math.radians(angle)) * to_px
                left = x + dx - (w if dx < 0 else 0)
                bottom = y + dy - h / 2
                box = (left, bottom, left + w, bottom + h)
                if box[0] < bbox.x0 or box[2] > bbox.x1 or box[1] < bbox.y0 or box[3] > bbox.y1:
                    continue
                if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):  # fmt: skip
                    continue
                near = (xy[:, 0] > box[0] - marker_r) & (xy[:, 0] < box[2] + marker_r) & (xy[:, 1] > box[1] - marker_r) & (xy[:, 1] < box[3] + marker_r)  # fmt: skip
                if near.any():
                    continue
                taken.append(box)
                ax.annotate(name, (points[i]["usd_per_1k_queries"], points[i]["accuracy"]), fontsize=fontsize,
                            xytext=(dx / to_px, dy / to_px), textcoords="offset points", va="center",
                            ha="right" if dx < 0 else "left", fontweight="bold" if name == bold else "normal",
                            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.45", "shrinkA": 0, "shrinkB": 3})  # fmt: skip
                placed = True
                break
            if placed:
                break


def plot_test_tokens(
    curves: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path,
    *,
    paper: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    title: str = "",
) -> Path:
    """Accuracy vs test-time tokens per query, one line per sleep-time setting (``none`` =
    test-only), its points labelled by budget; ``paper``: digitized points drawn as open
    markers with the same colors."""
    fig, axes = _figure(1, 6.5, 4.4)
    ax = axes[0]
    for i, (name, pts) in enumerate(curves.items()):
        pts = sorted(pts)
        color = COLORS["test_only"] if name in ("none", "test-only") else LEVEL_COLORS[(i if i else 1) % len(LEVEL_COLORS)]  # fmt: skip
        label = "test-only" if name in ("none", "test-only") else f"sleep-time {name}"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=f"{label} ({SIMULATED})", ms=4)  # fmt: skip
        if i == 0:
            for b, (tok, acc) in enumerate(pts):
                ax.annotate(f"b{b}", (tok, acc), xytext=(3, -10), textcoords="offset points", fontsize=7, color=color)  # fmt: skip
        if paper and name in paper:
            ax.scatter([p[0] for p in paper[name]], [p[1] for p in paper[name]], facecolors="none",
                       edgecolors=color, s=60, label=f"{label} (digitized)")  # fmt: skip
    ax.set_xscale("log")
    label_axes(ax, title or "Accuracy vs test-time tokens", xlabel="test-time tokens per query (log)", ylabel="accuracy", legend={"loc": "lower right"})  # fmt: skip
    ax.grid(alpha=0.3, which="both")
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
    bars = ax.bar([budget_label(n) for n in names], [budget_shares[n] for n in names], color=COLORS["test_only"])  # fmt: skip
    ax.bar_label(bars, labels=[f"{budget_shares[n]:.0%}" for n in names], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("test-time budget")
    ax.set_ylabel("share of queries")
    fig.suptitle(title or f"What the learned policy decided ({SIMULATED})", fontsize=10)
    return _save(fig, path)
