"""Running an experiment spec end to end: the run that writes the report and logs everything
to MLflow (the kinds are in :mod:`sleeptime.experiments._registry`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.experiments._registry import KINDS
from sleeptime.experiments._running import RunContext
from sleeptime.tracking import Job

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec


@dataclass(frozen=True)
class ExperimentResult:
    """A finished run: its numbers (``data``, the kind's own), the closing sentence, where the
    report is and the MLflow run it was logged to."""

    spec: str
    reduced: bool
    headline: str
    report: Path
    folder: Path
    mlflow_run_id: str
    seconds: float
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the run: the kind's own numbers, the headline, the report's
        paths, the MLflow run id and the spec, as ``--json`` prints it."""
        return {**self.data, "headline": self.headline, "report": str(self.report), "folder": str(self.folder),
                "mlflow_run_id": self.mlflow_run_id, "seconds": self.seconds, "spec": self.spec, "reduced": self.reduced}  # fmt: skip


def run_experiment(
    spec: ExperimentSpec, *, out: str | Path | None = None, tracking_uri: str | None = None, progress: bool = True
) -> ExperimentResult:  # fmt: skip
    """Run ``spec``; write its report (HTML and PNG) under ``out`` (default ``reports/NAME-TIME``)
    and log the resolved spec, metrics and report to MLflow."""
    from sleeptime._json import jsonable
    from sleeptime.reporting import write_report

    kind = KINDS[spec.kind]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else Path("reports") / f"{spec.name}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    with Job(spec.name, kind.steps(spec), progress) as job:
        job.track(spec.to_params(), uri=tracking_uri, kind=f"run:{spec.kind}")
        run_id = str(job.run_id)
        output = kind.run(RunContext(spec, folder, job, progress, run_id))
        elapsed = job.stages.close()
        output.report.facts["mlflow_run_id"] = run_id
        path = write_report(output.report, folder)
        result = ExperimentResult(spec.name, spec.reduced, output.headline, path, folder, run_id, elapsed, jsonable(output.data))  # fmt: skip
        job.log(text={"spec.toml": spec.text}, json={"result.json": result.to_json()}, files={"report": sorted(folder.iterdir())})  # fmt: skip
    return result
