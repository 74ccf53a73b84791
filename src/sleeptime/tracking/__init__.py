"""Where runs are recorded and how their progress shows: MLflow runs, Optuna storages, the
recovery of what a killed process left open, and the progress bar over a run's steps.

This part imports no experiment, policy or simulator: everything that records or shows a run
goes through it.
"""

from sleeptime.tracking._job import Job
from sleeptime.tracking._mlflow import (
    EXPERIMENT,
    close_orphaned_runs,
    local_store,
    log_file,
    log_json,
    log_metrics,
    log_text,
    mlflow_run,
    quiet_mlflow,
    tracking_uri,
)
from sleeptime.tracking._optuna import (
    HEARTBEAT_S,
    OWNER_HOST,
    OWNER_PID,
    MLflowTrialLogger,
    fail_orphaned_trials,
    record_owners,
    redact,
    resumed_seed,
    storage_for,
)
from sleeptime.tracking._process import process_alive
from sleeptime.tracking._progress import Stages, stop_on_interrupt

__all__ = [
    "EXPERIMENT",
    "HEARTBEAT_S",
    "OWNER_HOST",
    "OWNER_PID",
    "Job",
    "MLflowTrialLogger",
    "Stages",
    "close_orphaned_runs",
    "fail_orphaned_trials",
    "local_store",
    "log_file",
    "log_json",
    "log_metrics",
    "log_text",
    "mlflow_run",
    "process_alive",
    "quiet_mlflow",
    "record_owners",
    "redact",
    "resumed_seed",
    "stop_on_interrupt",
    "storage_for",
    "tracking_uri",
]
