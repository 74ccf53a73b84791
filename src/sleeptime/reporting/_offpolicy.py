"""The off-policy study's tables and figure, drawn from its results (estimator quality over
seeds, the drift scenario's periods); every number is **simulated** and computed before."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sleeptime.reporting._plots import POLICY_COLORS, _figure, _save
from sleeptime.reporting._report import Table


def estimator_table(quality: Sequence[Any]) -> Table:
    """Per candidate, exploration rate and estimator (``EstimatorQuality`` rows): the bias of
    accuracy and of USD per query (relative), the 95% intervals' coverage and width, the ESS."""
    rows = [[q.candidate, f"{q.epsilon:g}", q.estimator, f"{q.accuracy_bias:+.4f}", f"{q.accuracy_coverage:.2f}",
             f"{q.accuracy_interval_width:.3f}", f"{100 * q.usd_relative_bias:+.1f}%", f"{q.usd_coverage:.2f}",
             f"{100 * q.usd_interval_width / q.true_usd_per_query:.1f}%", f"{q.effective_sample_size:.0f}"] for q in quality]  # fmt: skip
    seeds = quality[0].seeds if quality else 0
    return Table("Off-policy estimators against the truth (simulated)",
                 ["candidate", "exploration", "estimator", "accuracy bias", "coverage", "CI width", "USD bias", "coverage", "CI width (of USD)", "ESS"], rows,
                 caption=f"Over {seeds} logs of the behaviour policy per exploration rate; the truth is the simulator's exact value of each candidate on the same contexts. "
                         "Coverage: the share of logs whose 95% interval (percentile bootstrap over contexts) held the truth. ESS: Kish's effective sample size of the importance weights.")  # fmt: skip


def drift_table(periods: Sequence[Any], grid_usd: float, lam: float) -> Table:
    """The drift scenario (``DriftPeriod`` rows): each policy's accuracy, USD per 1k queries and
    value per period, and the update the loop decided at the period's end."""
    rows = []
    for p in periods:
        cells = [p.period, p.prices]
        for k in ("frozen", "updating", "retrained"):
            cells += [f"{p.accuracy[k]:.3f}", f"{1000 * p.usd_per_query[k]:.3f}", f"{p.value[k]:+.3f}", f"{1000 * p.usd_at_equal_accuracy[k]:.3f}"]  # fmt: skip
        rows.append([*cells, (p.update.admitted or "-") if p.update else "-"])
    cols = ["period", "prices"] + [f"{k} {m}" for k in ("frozen", "updating", "retrained") for m in ("acc", "USD/1k", "value", "USD/1k at frozen's acc")]  # fmt: skip
    return Table("The update loop under drift (simulated)", [*cols, "admitted"], rows,
                 caption=f"Value = accuracy - {lam:g} x USD per query, each policy's own decisions on the period's contexts (no exploration); "
                         "USD/1k at frozen's acc: each policy swept over lam to the frozen policy's accuracy on the period (nan: it does not reach it). "
                         f"The updating policy serves with exploration and updates from its log after each period; the retrained one learned from a full "
                         f"exploration grid of one period, which cost {grid_usd:.2f} USD.")  # fmt: skip


def plot_drift(periods: Sequence[Any], path: str | Path, *, lam: float, change: int, label: str) -> Path:  # fmt: skip
    """Per period, the frozen, updating and retrained policies' value at the operating point and
    their USD per query at the frozen policy's accuracy; a line where the world changed (before
    period ``change``, described by ``label``)."""
    fig, axes = _figure(2, width=5.0, height=3.6)
    x = [p.period for p in periods]
    panels: tuple[tuple[Callable[[Any, str], float], str, str], ...] = ((lambda p, k: p.value[k], f"accuracy - {lam:g} x USD per query", "Value at the operating point"),
              (lambda p, k: 1000 * p.usd_at_equal_accuracy[k], "USD per 1k queries", "USD at the frozen policy's accuracy"))  # fmt: skip
    for ax, (get, ylabel, title) in zip(axes, panels, strict=True):
        for name, style in (("frozen", "o-"), ("updating", "s-"), ("retrained", "^--")):
            ax.plot(x, [get(p, name) for p in periods], style, label=name, color=POLICY_COLORS.get(name))  # fmt: skip
        ax.axvline(change - 0.5, color="grey", lw=0.8, ls=":")
        ax.text(change - 0.45, ax.get_ylim()[1], f" {label}", va="top", fontsize=8, color="grey")
        ax.set_xlabel("period")
        ax.set_ylabel(ylabel)
        ax.set_xticks(x)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("The update loop under drift (simulated)", fontsize=10)
    return _save(fig, path)


def plot_estimators(quality: Sequence[Any], path: str | Path) -> Path:
    """One panel per candidate: each estimator's error in USD per query relative to the truth
    (mean over seeds, a bar of one spread either way) by exploration rate, and its coverage."""
    names = list(dict.fromkeys(q.candidate for q in quality))
    fig, axes = _figure(len(names), width=4.2, height=3.4)
    estimators = list(dict.fromkeys(q.estimator for q in quality))
    for ax, name in zip(axes, names, strict=False):
        for k, e in enumerate(estimators):
            rows = sorted(
                (q for q in quality if q.candidate == name and q.estimator == e),
                key=lambda q: q.epsilon,
            )
            x = [q.epsilon * (1 + 0.06 * (k - 1.5)) for q in rows]  # side by side at each rate
            y = [100 * q.usd_relative_bias for q in rows]
            err = [100 * q.usd_spread / q.true_usd_per_query for q in rows]
            ax.errorbar(x, y, yerr=err, fmt="o-", ms=4, capsize=2, label=f"{e} (coverage {', '.join(f'{q.usd_coverage:.2f}' for q in rows)})")  # fmt: skip
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("exploration rate")
        ax.set_ylabel("USD per query: estimate - truth (%)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=6)
    fig.suptitle("Off-policy estimates of USD per query against the truth (simulated)", fontsize=10)
    return _save(fig, path)
