"""What every experiment runner is given and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.tracking import Job

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec
    from sleeptime.reporting import Report


@dataclass(frozen=True)
class RunContext:
    """What a runner gets: the resolved spec, the report folder, the job (its steps, and the
    MLflow run it logs into with ``job.log``), whether to show progress, and the run's id."""

    spec: ExperimentSpec
    folder: Path
    job: Job
    progress: bool
    run_id: str


@dataclass(frozen=True)
class RunOutput:
    """What a runner returns: its report and its numbers (``data``, JSON-able; ``headline`` is
    the run's closing sentence)."""

    report: Report
    headline: str
    data: Mapping[str, Any]
