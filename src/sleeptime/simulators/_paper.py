"""The paper's digitized figures, packaged, and the outcome model calibrated to them.

Every file here holds points digitized from the paper's figures (about +-1% of each axis); the
outcome model built from them is what the simulator replays by default.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from sleeptime.simulators._calibration import Calibration, calibrate, read_quintiles
from sleeptime.simulators._models import DEFAULT_TRANSFER, MultiModelOutcome
from sleeptime.simulators._outcomes import PaperOutcomeModel


def paper_data(name: str) -> Path:
    """A packaged file of points digitized from the paper (``test_time_scaling``,
    ``amortization`` or ``predictability_quintiles``)."""
    path = Path(str(files("sleeptime.simulators") / "data" / f"paper_{name}.csv"))
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


@lru_cache(maxsize=1)
def paper_calibration() -> Calibration:
    """Curves fitted to all of the paper's digitized points (Figs. 3-4, 9 and 10)."""
    return calibrate(
        paper_data("test_time_scaling"),
        quintiles=paper_data("predictability_quintiles"),
        amortization=paper_data("amortization"),
    )


def paper_outcome_model(
    benchmark: str = "stateful-gsm-symbolic-p1", model: str = "gpt-4o-mini", **kwargs: Any
) -> PaperOutcomeModel:
    """The paper-calibrated outcome model of one panel."""
    return PaperOutcomeModel(paper_calibration(), benchmark, model, **kwargs)


def paper_multi_outcome(benchmark: str, models: Sequence[str], transfer: float = DEFAULT_TRANSFER) -> MultiModelOutcome:  # fmt: skip
    """The paper-calibrated panels of ``models`` on ``benchmark``, joined into actions across
    models under the ``transfer`` assumption (:class:`MultiModelOutcome`)."""
    return MultiModelOutcome({m: paper_outcome_model(benchmark, m) for m in models}, transfer=transfer)  # fmt: skip


def paper_amortization_points(benchmark: str, model: str) -> list[dict[str, Any]]:
    """Fig. 9's digitized sleep-time points for ``model`` on the Multi-Query version of
    ``benchmark`` (the P1/P2 suffix names it): budget level, queries per context, cost."""
    with paper_data("amortization").open() as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["condition"] == "sleep_time" and r["model"] == model and r["benchmark"].endswith(benchmark[-2:])]  # fmt: skip
    levels = sorted({float(r["accuracy"]) for r in rows})
    return [{"budget": f"level-{levels.index(float(r['accuracy']))}", "queries_per_context": int(r["queries_per_context"]),
             "cost": float(r["cost_per_query"])} for r in rows]  # fmt: skip


def paper_quintile_gains(benchmark: str, model: str) -> tuple[float, ...] | None:
    """Fig. 10's digitized gains of sleep-time per predictability quintile (lowest budget) for
    one panel, or None where the paper has none."""
    return read_quintiles(paper_data("predictability_quintiles")).get((benchmark, model))
