"""Studies that crash, are interrupted, or run on several workers against PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests._servers import free_port, stop, wait_http, with_scripts_on_path

CONTEXTS = "140"


def _env(tmp_path: Path, tracking: str | None = None) -> dict[str, str]:
    return with_scripts_on_path(
        {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "MLFLOW_TRACKING_URI": tracking or f"sqlite:///{tmp_path / 'mlflow.db'}",
        }
    )


def _optimize(name: str, trials: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sleeptime", "optimize", "--contexts", CONTEXTS, "--trials", str(trials),
            "--study-name", name, "--json", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def warm_scores() -> None:
    """Score the scenario's contexts once, so that worker processes only read the cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sleeptime.experiments import ScenarioConfig, build_scenario

    build_scenario(ScenarioConfig(n_contexts=int(CONTEXTS)), progress=False)


def _journal(tmp_path: Path) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    folder = tmp_path / "mlruns" / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(folder / "journal.log")))


#: Seconds without any progress (a new trial or a state change) after which a wait gives up. A
#: busy machine makes trials slow, not absent: the wait follows progress, not a total deadline.
STALL_S = 900


def _wait_for(study_name: str, storage: Any, proc: subprocess.Popen[bytes], done: int, *, running: bool) -> Any:  # fmt: skip
    """Poll the study until ``done`` trials are complete (and one is running, if asked)."""
    import optuna
    from optuna.trial import TrialState

    seen: tuple[Any, ...] = ()
    last_progress = time.monotonic()
    while time.monotonic() - last_progress < STALL_S:
        assert proc.poll() is None, "the study ended before it could be stopped"
        try:
            trials = optuna.load_study(study_name=study_name, storage=storage).get_trials(deepcopy=False)  # fmt: skip
        except KeyError:
            trials = []
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if len(complete) >= done and (not running or any(t.state == TrialState.RUNNING for t in trials)):  # fmt: skip
            return trials
        state = tuple(t.state for t in trials)
        if state != seen:
            seen, last_progress = state, time.monotonic()
        time.sleep(0.02)
    raise AssertionError(f"the study made no progress for {STALL_S} s (trials: {len(seen)})")


def _no_temporary_files(root: Path) -> None:
    leftovers = [p for p in root.rglob(".*") if p.is_file() and (".tmp" in p.name or p.suffix in (".png", ".json", ".tmp"))]  # fmt: skip
    assert not leftovers, f"half-written files left: {leftovers}"


@pytest.mark.slow
def test_sigkill_mid_study_then_resume(tmp_path: Path, warm_scores: None) -> None:
    import mlflow
    import optuna
    from optuna.trial import TrialState

    env = _env(tmp_path)
    proc = subprocess.Popen(_optimize("crash", 400), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    storage = _journal(tmp_path)
    try:
        _wait_for("crash", storage, proc, 5, running=True)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = optuna.load_study(study_name="crash", storage=_journal(tmp_path)).get_trials(deepcopy=False)  # fmt: skip
    complete_before = {t.number: t.values for t in before if t.state == TrialState.COMPLETE}
    running_before = [t.number for t in before if t.state == TrialState.RUNNING]
    assert len(complete_before) >= 5 and len(running_before) <= 1

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    killed = mlflow.search_runs(experiment_names=["sleeptime"], filter_string="tags.`sleeptime.kind` = 'optimize'")  # fmt: skip
    assert list(killed["status"]) == ["RUNNING"]  # what a SIGKILL leaves behind
    killed_id = killed.iloc[0]["run_id"]

    again = subprocess.run(_optimize("crash", 5), cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=1800)  # fmt: skip
    out = json.loads(again.stdout)
    assert out["recovered_trials"] == running_before
    after = optuna.load_study(study_name="crash", storage=_journal(tmp_path)).get_trials(deepcopy=False)  # fmt: skip
    numbers = [t.number for t in after]
    assert numbers == list(range(len(after)))  # unique, none lost
    for t in after:
        if t.number in complete_before:
            assert t.state == TrialState.COMPLETE and t.values == complete_before[t.number]
        assert t.state != TrialState.RUNNING
    for n in running_before:
        assert after[n].state == TrialState.FAIL  # the interrupted trial: failed, not counted
    assert sum(t.state == TrialState.COMPLETE for t in after) == len(complete_before) + 5
    assert out["trials"] == len(complete_before) + 5

    runs = mlflow.search_runs(experiment_names=["sleeptime"], filter_string="tags.`sleeptime.kind` = 'optimize'")  # fmt: skip
    status = dict(zip(runs["run_id"], runs["status"], strict=True))
    assert status[killed_id] == "KILLED" and status[out["mlflow_run_id"]] == "FINISHED"
    _no_temporary_files(tmp_path)


#: ``sleeptime optimize`` (arguments as for ``python -m sleeptime``) in a process that SIGKILLs
#: itself as soon as ``study.ask`` has created trial number ``$KILL_AT_TRIAL`` (stored, RUNNING),
#: before the objective or any callback has run: the earliest moment a trial can be orphaned.
DIE_AFTER_CREATING_A_TRIAL = """
import os, signal, sys
import optuna

ask = optuna.Study.ask

def ask_then_die(self, *args, **kwargs):
    trial = ask(self, *args, **kwargs)
    if trial.number == int(os.environ["KILL_AT_TRIAL"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return trial

optuna.Study.ask = ask_then_die
from sleeptime._cli.main import main
sys.exit(main())
"""


@pytest.mark.slow
def test_sigkill_right_after_a_trial_is_created_then_resume(tmp_path: Path, warm_scores: None) -> None:  # fmt: skip
    import socket

    import optuna
    from optuna.trial import TrialState

    env = _env(tmp_path)
    command = [sys.executable, "-c", DIE_AFTER_CREATING_A_TRIAL, *_optimize("early", 400)[3:]]
    proc = subprocess.Popen(command, cwd=tmp_path, env={**env, "KILL_AT_TRIAL": "3"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    _, err = proc.communicate(timeout=1800)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-4000:]
    before = optuna.load_study(study_name="early", storage=_journal(tmp_path)).get_trials(deepcopy=False)  # fmt: skip
    assert [t.state for t in before] == [TrialState.COMPLETE] * 3 + [TrialState.RUNNING]
    orphan = before[3]
    assert orphan.params == {}  # the objective never ran, yet the trial names its owner
    assert orphan.user_attrs == {"sleeptime.pid": proc.pid, "sleeptime.host": socket.gethostname()}  # fmt: skip

    again = subprocess.run(_optimize("early", 2), cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=1800)  # fmt: skip
    out = json.loads(again.stdout)
    assert out["recovered_trials"] == [3]
    after = optuna.load_study(study_name="early", storage=_journal(tmp_path)).get_trials(deepcopy=False)  # fmt: skip
    assert [t.number for t in after] == list(range(6))  # unique, none lost
    assert [t.state for t in after] == [TrialState.COMPLETE] * 3 + [TrialState.FAIL] + [TrialState.COMPLETE] * 2  # fmt: skip
    assert [t.values for t in after[:3]] == [t.values for t in before[:3]]
    assert out["trials"] == 5
    _no_temporary_files(tmp_path)


@pytest.mark.slow
def test_ctrl_c_ends_cleanly_and_the_study_resumes(tmp_path: Path, warm_scores: None) -> None:
    import mlflow
    import optuna
    from optuna.trial import TrialState

    env = _env(tmp_path)
    proc = subprocess.Popen(_optimize("interrupt", 400), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    _wait_for("interrupt", _journal(tmp_path), proc, 3, running=False)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=900)
    text = err.decode()
    assert proc.returncode == 130, text[-4000:]
    assert "sleeptime: interrupted" in text and "Traceback" not in text
    trials = optuna.load_study(study_name="interrupt", storage=_journal(tmp_path)).get_trials(deepcopy=False)  # fmt: skip
    assert not any(t.state == TrialState.RUNNING for t in trials)
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["sleeptime"], filter_string="tags.`sleeptime.kind` = 'optimize'")  # fmt: skip
    assert list(runs["status"]) == ["KILLED"]
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    again = subprocess.run(_optimize("interrupt", 2), cwd=tmp_path, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(again.stdout)["trials"] == done + 2
    _no_temporary_files(tmp_path)


@pytest.mark.slow
def test_three_workers_share_one_study_on_postgresql(tmp_path: Path, warm_scores: None, postgres_url: str) -> None:  # fmt: skip
    import mlflow
    import optuna
    from optuna.trial import TrialState

    from sleeptime.policy import pareto_points
    from sleeptime.tracking import storage_for

    port = free_port()
    mlflow_db = postgres_url.format(db="mlflow").replace("postgresql://", "postgresql+psycopg://")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", mlflow_db, "--default-artifact-root",
         (tmp_path / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        # without MLflow's job runner (five more processes for GenAI jobs the study never asks for)
        env={**_env(tmp_path), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, stdout=subprocess.DEVNULL, stderr=(tmp_path / "mlflow-server.log").open("w"),
    )  # fmt: skip
    tracking = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{tracking}/health", server, tmp_path / "mlflow-server.log")
        storage_url = postgres_url.format(db="optuna")
        env = _env(tmp_path, tracking)
        # one study, one objective: the three workers evaluate the same scenario (``--seed``
        # draws it; the one warm_scores scored), as workers of a shared study do; one thread
        # each (SLEEPTIME_THREADS), as three workers on a machine of two cores would run
        env["SLEEPTIME_THREADS"] = "1"
        workers = [
            subprocess.Popen(
                _optimize("shared", 4, "--storage", storage_url, "--seed", "0"),
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        outs = []
        for w in workers:
            out, err = w.communicate(timeout=1800)
            assert w.returncode == 0, err.decode()[-2000:]
            outs.append(json.loads(out))
        study = optuna.load_study(study_name="shared", storage=storage_for(storage_url))
        trials = study.get_trials(deepcopy=False)
        assert sorted(t.number for t in trials) == list(range(12))  # unique, none lost
        assert all(t.state == TrialState.COMPLETE for t in trials)
        front = {(t.values[0], t.values[1]) for t in study.best_trials}
        assert front == set(pareto_points([(t.values[0], t.values[1]) for t in trials]))
        assert max(o["trials"] for o in outs) == 12  # the last worker to finish sees them all

        mlflow.set_tracking_uri(tracking)
        runs = mlflow.search_runs(experiment_names=["sleeptime"])
        parents = runs[runs["tags.sleeptime.kind"] == "optimize"]
        assert sorted(parents["run_id"]) == sorted(o["mlflow_run_id"] for o in outs)
        assert set(parents["status"]) == {"FINISHED"}
        trial_runs = runs[runs["tags.optuna.study"] == "shared"]
        assert sorted(int(x) for x in trial_runs["tags.optuna.trial"]) == list(range(12))
    finally:
        stop(server)
