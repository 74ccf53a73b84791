"""Running an experiment spec end to end: the kinds of experiment, and the run that writes the
report and logs everything to MLflow."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.experiments._collect_run import collect_steps, run_collect
from sleeptime.experiments._live_run import live_steps, run_live
from sleeptime.experiments._paper_run import (  # fmt: skip
    amortization_steps,
    paper_steps,
    run_amortization,
    run_paper,
)
from sleeptime.experiments._policy_run import policy_steps, run_policy
from sleeptime.experiments._running import RunContext, RunOutput, Stages
from sleeptime.experiments._what_if_run import run_what_if, what_if_steps
from sleeptime.experiments._when_run import run_when, when_steps

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec


@dataclass(frozen=True)
class ExperimentKind:
    """A kind of experiment a spec names (``kind = "..."``): its runner and its steps (the
    progress bar's, derived from the spec)."""

    name: str
    run: Callable[[RunContext], RunOutput]
    steps: Callable[[ExperimentSpec], tuple[str, ...]]
    summary: str


#: Every kind of experiment; the spec validator and the runner both read this.
KINDS: Mapping[str, ExperimentKind] = {
    k.name: k
    for k in (
        ExperimentKind(
            "policy",
            run_policy,
            policy_steps,
            "the main job: every policy on held-out templates, a study, the export",
        ),
        ExperimentKind(
            "paper_gsm", run_paper, paper_steps, "the paper's Figs. 3 and 10 in simulation"
        ),
        ExperimentKind("paper_aime", run_paper, paper_steps, "the paper's Fig. 4 in simulation"),
        ExperimentKind(
            "amortization",
            run_amortization,
            amortization_steps,
            "Fig. 9: cost per query by queries per context",
        ),
        ExperimentKind(
            "what_if_prices",
            run_what_if,
            what_if_steps,
            "the same policy under another price book and query rate",
        ),
        ExperimentKind(
            "collect",
            run_collect,
            collect_steps,
            "a real run against the [live] endpoint (measured)",
        ),
        ExperimentKind(
            "live",
            run_live,
            live_steps,
            "a real run, every policy judged on its held-out contexts, the simulator against it, the export (measured)",
        ),
        ExperimentKind(
            "when_to_sleep",
            run_when,
            when_steps,
            "when sleep-time work pays: triggers, refresh after edits, the size of c', idle capacity, pass@k",
        ),
    )
}


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
        return {**self.data, "headline": self.headline, "report": str(self.report), "folder": str(self.folder),
                "mlflow_run_id": self.mlflow_run_id, "seconds": self.seconds, "spec": self.spec, "reduced": self.reduced}  # fmt: skip


def run_experiment(
    spec: ExperimentSpec, *, out: str | Path | None = None, tracking_uri: str | None = None, progress: bool = True
) -> ExperimentResult:  # fmt: skip
    """Run ``spec``; write its report (HTML and PNG) under ``out`` (default ``reports/NAME-TIME``)
    and log the resolved spec, metrics and report to MLflow."""
    from sleeptime._json import jsonable
    from sleeptime.experiments._report import write_report
    from sleeptime.experiments._tracking import log_file, log_json, log_text, mlflow_run

    kind = KINDS[spec.kind]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else Path("reports") / f"{spec.name}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    stages = Stages(spec.name, kind.steps(spec), progress)
    with mlflow_run(spec.name, params=spec.to_params(), uri=tracking_uri, kind=f"run:{spec.kind}") as run:  # fmt: skip
        try:
            output = kind.run(RunContext(spec, folder, stages, progress, run.info.run_id))
        finally:
            elapsed = stages.close()
        output.report.facts["mlflow_run_id"] = run.info.run_id
        path = write_report(output.report, folder)
        result = ExperimentResult(spec.name, spec.reduced, output.headline, path, folder, run.info.run_id, elapsed, jsonable(output.data))  # fmt: skip
        log_text(spec.text, "spec.toml")
        log_json(result.to_json(), "result.json")
        for file in sorted(folder.iterdir()):
            log_file(file, "report")
    return result
