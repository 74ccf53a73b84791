"""One job of the command line: its progress over declared steps and its MLflow run, together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from sleeptime.tracking._progress import Stages


class Job:
    """A job's progress bar over its declared steps (:class:`Stages`) and, once :meth:`track`
    opens it, its MLflow run; a context manager that closes both, whatever happens.

    Used by every job (``compare``, ``compare --traces``, ``train``, ``export``, ``optimize``,
    ``collect``, ``simulate``, ``when-to-sleep``, ``run``) in the same shape::

        with Job("compare", steps, progress) as job:
            with job.step("workload and LM features"):
                scenario = ...
            job.track(params, uri=tracking_uri, kind="compare")
            ...
            job.log(metrics, json={"compare.json": result.to_json()}, files={"plots": [path]})

    A failure inside marks the run FAILED (Ctrl-C: KILLED) and still closes the bar.
    :meth:`log` is a no-op while no run is open, so a job run with ``track=False`` reads the
    same. ``seconds`` holds the job's wall time once it has ended.
    """

    def __init__(self, name: str, steps: Iterable[str] = (), progress: bool = True) -> None:
        declared = tuple(steps)
        self.name = name
        self.stages = Stages(name, declared, progress and bool(declared))
        self.seconds: float | None = None
        self._run: Any = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Job:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:  # fmt: skip
        try:
            return bool(self._stack.__exit__(kind, exc, tb))
        finally:
            self.seconds = self.stages.close()

    # ------------------------------------------------------------------ progress
    def step(self, label: str) -> contextlib.AbstractContextManager[None]:
        """Run one declared step (the next in order); see :meth:`Stages.step`."""
        return self.stages.step(label)

    def start(self, label: str) -> None:
        """Start a declared step from a callback; see :meth:`Stages.start`."""
        self.stages.start(label)

    # ------------------------------------------------------------------ tracking
    def track(self, params: Mapping[str, Any], *, uri: str | None = None, kind: str = "", enabled: bool = True, name: str | None = None) -> None:  # fmt: skip
        """Open the job's MLflow run (named ``name``, default the job's), its ``params`` logged;
        it stays open until the job ends. ``enabled=False`` opens nothing."""
        if not enabled:
            return
        if self._run is not None:
            raise RuntimeError(f"{self.name}: the MLflow run is already open")
        from sleeptime.tracking._mlflow import mlflow_run

        self._run = self._stack.enter_context(mlflow_run(name or self.name, params=params, uri=uri, kind=kind))  # fmt: skip

    @property
    def tracked(self) -> bool:
        """Whether an MLflow run is open."""
        return self._run is not None

    @property
    def run_id(self) -> str | None:
        """The open MLflow run's id (None where the job is not tracked)."""
        return None if self._run is None else str(self._run.info.run_id)

    def log(self, metrics: Mapping[str, Any] | None = None, *, json: Mapping[str, Any] | None = None, files: Mapping[str, Iterable[str | Path]] | None = None, text: Mapping[str, str] | None = None) -> None:  # fmt: skip
        """Log to the open run: the finite numbers of ``metrics``; each ``json`` value as strict
        JSON under its name; each ``text`` value as a file of that name; each existing file of
        ``files`` under its folder (a key ``""``: the artifacts' root). Nothing without a run."""
        if self._run is None:
            return
        from sleeptime.tracking._mlflow import log_file, log_json, log_metrics, log_text

        if metrics:
            log_metrics(metrics)
        for name, obj in (json or {}).items():
            log_json(obj, name)
        for name, body in (text or {}).items():
            log_text(body, name)
        for folder, paths in (files or {}).items():
            for path in paths:
                if Path(path).is_file():
                    log_file(path, folder or None)
