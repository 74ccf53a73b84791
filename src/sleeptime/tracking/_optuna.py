"""Optuna storages and the recovery of what a killed process left behind.

A study is stored in a journal file under ``mlruns/optuna/`` by default (safe for several
processes on one machine), or in a database (``postgresql://...``) for workers on several
machines, with a heartbeat. Every trial carries its owner (process id and host) from the moment
it is created, so a trial whose process died is told from a live worker's and marked failed.
"""

from __future__ import annotations

from typing import Any

from sleeptime.tracking._process import process_alive


def storage_for(url: str | None) -> Any:
    """Optuna storage: a journal file under ``mlruns/optuna/`` by default, else ``url``.

    An RDB URL (``postgresql://...``) gets a heartbeat, so that a worker that dies leaves its
    trial marked failed once the grace period has passed; ``postgresql://`` is served by
    psycopg 3 where psycopg2 is not installed."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    def journal(path: str) -> Any:
        return JournalStorage(JournalFileBackend(path, lock_obj=_flock(path)))

    if url:
        if url.endswith(".log") or url.startswith("journal:"):
            return journal(url.removeprefix("journal:"))
        if url.startswith("postgresql://"):
            import importlib.util

            if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return _rdb_storage(url)
    from sleeptime.tracking._mlflow import local_store

    folder = local_store() / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return journal(str(folder / "journal.log"))


def _flock(path: str) -> Any:
    """A journal lock held with ``flock``: the kernel releases it when its process dies, so a
    study killed with SIGKILL while writing never blocks the next run (Optuna's own file locks
    wait out a grace period)."""
    import fcntl
    import os
    import threading

    from optuna.storages.journal._file import BaseJournalFileLock

    class FlockLock(BaseJournalFileLock):
        def __init__(self) -> None:
            self._path = path + ".flock"
            self._local = threading.local()

        def acquire(self) -> bool:
            fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._local.fd = fd
            return True

        def release(self) -> None:
            fd = self._local.fd
            self._local.fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    return FlockLock()


#: Seconds between a running trial's heartbeats on an RDB storage.
HEARTBEAT_S = 20


def _rdb_storage(url: str, attempts: int = 5) -> Any:
    """Optuna's RDB storage with a heartbeat. Workers that start at once on a new database all
    try to create its tables; the ones that lose that race retry and find them made."""
    import time

    from optuna.storages import RDBStorage
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            return RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=3 * HEARTBEAT_S)
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


#: The user attributes of a trial naming the process that runs it (see :func:`record_owners`).
OWNER_PID, OWNER_HOST = "sleeptime.pid", "sleeptime.host"


def record_owners(study: Any) -> None:
    """Make every trial this ``study`` object creates carry its owner (this process's id and
    host, :data:`OWNER_PID` and :data:`OWNER_HOST`) from the moment it exists.

    Optuna creates a trial (RUNNING) in ``study.ask`` before the objective runs; an owner
    written by the objective would leave a window in which a killed process leaves a RUNNING
    trial that nothing can tell from a live worker's. Here the owner goes into the template
    trial that the storage creates the trial from: one journal record (``JournalStorage``) or
    one transaction (``RDBStorage``, behind Optuna's ``_CachedStorage``), so no trial is ever
    stored without its owner. Only this study object's storage is changed."""
    import os
    import socket
    from datetime import datetime

    from optuna.trial import FrozenTrial, TrialState

    storage = study._storage
    create = storage.create_new_trial

    def create_new_trial(study_id: int, template_trial: Any = None) -> int:
        if template_trial is None:  # a plain new trial (study.ask), not a copied one
            template_trial = FrozenTrial(
                number=-1, state=TrialState.RUNNING, value=None, datetime_start=datetime.now(),
                datetime_complete=None, params={}, distributions={}, system_attrs={},
                user_attrs={OWNER_PID: os.getpid(), OWNER_HOST: socket.gethostname()},
                intermediate_values={}, trial_id=-1,
            )  # fmt: skip
        trial_id: int = create(study_id, template_trial)
        return trial_id

    storage.create_new_trial = create_new_trial


def fail_orphaned_trials(study: Any) -> list[int]:
    """Mark failed the running trials of this study whose process on this machine is gone (a
    crash or SIGKILL); returns their numbers. Trials of live workers are left alone, and so
    are trials without an owner (none are stored since :func:`record_owners`)."""
    import socket

    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    host = socket.gethostname()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(OWNER_PID)
        if trial.user_attrs.get(OWNER_HOST) == host and isinstance(pid, int) and not process_alive(pid):  # fmt: skip
            try:
                study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            except UpdateFinishedTrialError:  # another process resuming the study failed it first
                continue
            failed.append(trial.number)
    return failed


def redact(url: str) -> str:
    """A storage URL without its password (it is logged as a parameter)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class MLflowTrialLogger:
    """Optuna callback: each finished trial becomes a nested MLflow run (params and values
    logged in one batch each). Call inside an active parent run."""

    def __init__(self, metric_names: tuple[str, ...] = ("accuracy", "usd_per_query")) -> None:
        self.metric_names = metric_names

    def __call__(self, study: Any, trial: Any) -> None:
        import mlflow

        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            mlflow.set_tags(
                {
                    "optuna.study": study.study_name,
                    "optuna.trial": str(trial.number),
                    "optuna.state": trial.state.name,
                }
            )
            mlflow.log_params({k: str(v) for k, v in trial.params.items()})
            if trial.values is not None:
                mlflow.log_metrics(dict(zip(self.metric_names, trial.values, strict=True)))


def resumed_seed(seed: int, storage: Any, study_name: str) -> int:
    """The sampler's seed: ``seed`` for a new study; for one that exists, a seed drawn from
    ``seed`` and the number of trials it holds, so that a resumed study does not replay the
    random draws (and so the parameters) of the trials it already ran."""
    try:
        done = len(
            storage.get_all_trials(storage.get_study_id_from_name(study_name), deepcopy=False)
        )
    except KeyError:
        return seed
    if done == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([seed, done]).generate_state(1)[0])
