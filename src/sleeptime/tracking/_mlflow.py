"""MLflow tracking: every simulate, train, compare and optimize run is logged.

The default store is SQLite with artifacts beside it, under ``mlruns/`` of the working folder
(``sqlite:///mlruns/mlflow.db``). Set ``MLFLOW_TRACKING_URI`` (or pass ``uri``) for a team's
tracking server. mlflow is imported only here, when a run starts.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sleeptime import __version__

EXPERIMENT = "sleeptime"


def local_store() -> Path:
    """``mlruns/`` of the working folder, the default local store of runs and studies; created
    on first use with a line on stderr saying so (only commands that track create it)."""
    folder = Path("mlruns")
    if not folder.is_dir():
        import sys

        folder.mkdir(parents=True, exist_ok=True)
        print(f"sleeptime: created {folder.resolve()} for MLflow runs and Optuna studies "
              "(set MLFLOW_TRACKING_URI or pass --tracking-uri to log elsewhere)", file=sys.stderr)  # fmt: skip
    return folder


def tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else SQLite under ``mlruns/``."""
    if uri:
        return uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{local_store().resolve() / 'mlflow.db'}"


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:500]
    return out


@contextlib.contextmanager
def mlflow_run(
    name: str,
    *,
    params: Mapping[str, Any] | None = None,
    uri: str | None = None,
    nested: bool = False,
    kind: str = "",
) -> Iterator[Any]:
    """Start an MLflow run (params logged in one batch); a failure marks it FAILED."""
    # stdout belongs to the command's own output (--json): no "View run at" lines from MLflow,
    # and no lines from the migrations that create a new database
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    quiet_mlflow()
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri(uri))
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        artifacts = local_store() / "artifacts"
        location = (
            None
            if str(mlflow.get_tracking_uri()).startswith("http")
            else artifacts.resolve().as_uri()
        )
        try:
            mlflow.create_experiment(EXPERIMENT, artifact_location=location)
        except MlflowException:
            # several workers starting at once: another one created it first
            if mlflow.get_experiment_by_name(EXPERIMENT) is None:
                raise
    mlflow.set_experiment(EXPERIMENT)
    if not nested:
        close_orphaned_runs()
    with mlflow.start_run(run_name=name, nested=nested) as run:
        mlflow.set_tags({"sleeptime.version": __version__, "sleeptime.kind": kind or name,
                         "sleeptime.pid": str(os.getpid()), "sleeptime.host": socket.gethostname()})  # fmt: skip
        if params:
            mlflow.log_params(_flatten(params))
        try:
            yield run
        except BaseException as exc:
            mlflow.end_run(status="KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
            raise


def quiet_mlflow() -> None:
    """Keep MLflow's and alembic's INFO lines (table creation, migrations) off the terminal."""
    import logging

    for name in ("alembic", "alembic.runtime.migration", "mlflow.store.db.utils", "mlflow.tracking.fluent"):  # fmt: skip
        logging.getLogger(name).setLevel(logging.WARNING)


def close_orphaned_runs() -> list[str]:
    """Mark KILLED the runs still RUNNING whose process on this machine is gone (SIGKILL, a
    crash), so that no dead run looks healthy; returns their ids. Needs an active experiment."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from sleeptime.tracking._process import process_alive

    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    host = socket.gethostname()
    client = MlflowClient()
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`sleeptime.host` = '{host}'",
    )
    closed = []
    for run in runs:
        pid = run.data.tags.get("sleeptime.pid", "")
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            client.set_tag(run.info.run_id, "sleeptime.closed_as_orphan", "true")
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(run.info.run_id)
    return closed


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Log the finite numbers of ``metrics`` in one batch."""
    import math

    import mlflow

    clean = {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }
    if clean:
        mlflow.log_metrics(clean, step=step)


def log_json(obj: Any, name: str) -> None:
    """Log ``obj`` as strict JSON (NaN as null) under ``name``."""
    from sleeptime._json import dumps

    log_text(dumps(obj), name)


def log_text(text: str, name: str) -> None:
    """Log ``text`` as an artifact file ``name`` (a path within the active run's artifacts)."""
    import mlflow

    mlflow.log_text(text, name)


def log_file(path: str | Path, folder: str | None = None) -> None:
    """Log the file at ``path`` as an artifact of the active run, under ``folder`` (default:
    the artifacts' root)."""
    import mlflow

    mlflow.log_artifact(str(path), artifact_path=folder)
