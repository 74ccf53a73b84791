"""The report's figures: tick labels on every axis, labels on their own points, a colour per
sleep level and per policy, budgets named as in the tables, Fig. 10 on the observed score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sleeptime.reporting import _plots
from sleeptime.simulators import (
    amortization_sweep,
    list_prices_2025,
    paper_abstract_prices,
    paper_outcome_model,
    quintile_gains,
    synthetic_items,
)
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The matplotlib figures the plot functions save, kept open (and drawn) to be inspected."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept: list[Any] = []
    close = plt.close

    def keep(fig: Any = None) -> None:
        fig.canvas.draw()
        kept.append(fig)

    monkeypatch.setattr(plt, "close", keep)
    yield kept
    for fig in kept:
        close(fig)


def _labels(axis: Any) -> list[str]:
    lo, hi = sorted(axis.get_view_interval())
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text() and lo <= t.get_position()[axis is axis.axes.yaxis] <= hi]  # fmt: skip


def test_amortization_axes_carry_labels(tmp_path: Path, figures: list[Any]) -> None:
    """The amortization figure had no labels on its cost axis and only 1 and 10 on the other."""
    rows = amortization_sweep(paper_outcome_model(), paper_abstract_prices(), "gpt-4o-mini", n_contexts=500)  # fmt: skip
    _plots.plot_amortization(rows, tmp_path / "a.png")
    ax = figures[-1].axes[0]
    assert _labels(ax.xaxis) == ["1", "2", "5", "10"]
    assert len(_labels(ax.yaxis)) >= 3  # a cost axis within one decade still has labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("b0 (simulated)")  # budgets named as in the tables


def test_log_token_axis_has_several_labels(tmp_path: Path, figures: list[Any]) -> None:
    curves = {"none": [(25.0, 0.07), (119.0, 0.58), (483.0, 0.83)], "k1": [(27.0, 0.49), (117.0, 0.71), (470.0, 0.80)]}  # fmt: skip
    _plots.plot_test_tokens(curves, tmp_path / "t.png")
    assert len(_labels(figures[-1].axes[0].xaxis)) >= 3


def _rows() -> list[dict[str, Any]]:
    rows = []
    for s, level in enumerate(("none", "k1", "k2", "k5")):
        for b in range(3):
            rows.append({"name": f"fixed({level},b{b})", "group": "test-only" if s == 0 else "fixed sleep-time",
                         "usd_per_1k_queries": 0.03 * (1 + s) * (1 + 2 * b), "accuracy": 0.1 + 0.2 * b + 0.05 * s})  # fmt: skip
    rows += [{"name": "learned @ equal accuracy", "group": "learned", "usd_per_1k_queries": 0.16, "accuracy": 0.61},
             {"name": "learned-cheap @ equal accuracy", "group": "learned", "usd_per_1k_queries": 0.155, "accuracy": 0.605},
             {"name": "oracle @ equal accuracy", "group": "oracle", "usd_per_1k_queries": 0.12, "accuracy": 0.62}]  # fmt: skip
    return rows


def test_pareto_labels_sit_on_their_own_points_and_do_not_overlap(tmp_path: Path, figures: list[Any]) -> None:  # fmt: skip
    rows = _rows()
    _plots.plot_pareto(rows, tmp_path / "p.png", reference="fixed(k1,b1)")
    fig = figures[-1]
    ax = fig.axes[0]
    notes = [c for c in ax.get_children() if c.__class__.__name__ == "Annotation"]
    by_name = {r["name"]: r for r in rows}
    named = {n.get_text() for n in notes}
    assert "fixed(k1,b1)" in named  # the operating point is always labelled
    assert {"learned @ equal accuracy", "learned-cheap @ equal accuracy"} <= named
    renderer = fig.canvas.get_renderer()
    boxes = []
    for note in notes:
        r = by_name[note.get_text()]
        assert note.xy == pytest.approx((r["usd_per_1k_queries"], r["accuracy"]))  # its own point
        boxes.append(note.get_window_extent(renderer))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    assert len(_labels(ax.xaxis)) >= 2


def test_each_sleep_level_and_each_policy_has_its_own_colour() -> None:
    colour = {r["name"]: _plots._series(r)[1] for r in _rows()}
    levels = [colour[f"fixed({lv},b1)"] for lv in ("none", "k1", "k2", "k5")]
    assert len(set(levels)) == 4
    assert colour["learned @ equal accuracy"] != colour["learned-cheap @ equal accuracy"]
    markers = {_plots._series(r)[2] for r in _rows() if r["name"].startswith("fixed(k1")}
    assert len(markers) == 3  # one marker per budget
    assert _plots.budget_label("level-2") == "b2"


def test_quintile_gains_bin_by_the_observed_score() -> None:
    """With observed and latent predictability unrelated (rho 0), the gain by quintile of the
    observed score is flat, while by the latent it rises as the calibration says."""
    late = ArrivalProcess(queries=FixedCount(4), idle=ExponentialDurations(1e12))
    items = synthetic_items(40_000, arrivals=late, rho_predictability=0.0, seed=3)
    model, prices = paper_outcome_model(), list_prices_2025()
    observed = quintile_gains(model, items, prices, "gpt-4o-mini")  # the default: observed
    latent = quintile_gains(model, items, prices, "gpt-4o-mini", by="latent")
    assert latent[4] - latent[0] > 0.1
    assert abs(observed[4] - observed[0]) < 0.02
    assert observed == quintile_gains(model, items, prices, "gpt-4o-mini", by="observed")
    with pytest.raises(ValueError, match="by must be"):
        quintile_gains(model, items, prices, "gpt-4o-mini", by="quantile")
    assert np.mean(observed) == pytest.approx(np.mean(latent), abs=0.01)
