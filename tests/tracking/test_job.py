"""The job wrapper every command runs in: steps in order, one MLflow run, closed whatever happens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeptime.tracking import Job


def _runs(uri: str) -> list[object]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return list(mlflow.search_runs(search_all_experiments=True, output_format="list"))


def test_a_tracked_job_logs_params_metrics_json_and_files_and_finishes(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"png")
    with Job("demo", ("load", "fit"), progress=False) as job:
        with job.step("load"):
            pass
        assert not job.tracked and job.run_id is None
        job.log({"ignored": 1.0})  # no run yet: nothing to log into, and no error
        job.track({"seed": 3, "nested": {"a": 1}}, uri=uri, kind="demo-kind")
        job.start("fit")
        job.log({"accuracy": 0.5, "flag": True, "nan": float("nan"), "text": "x"}, json={"out.json": {"v": [1, 2]}},
                files={"plots": [plot, tmp_path / "missing.png"]}, text={"spec.toml": "a = 1\n"})  # fmt: skip
        run_id = job.run_id
    assert job.seconds is not None and job.seconds >= 0
    (run,) = _runs(uri)
    assert run.info.run_id == run_id and run.info.status == "FINISHED"  # type: ignore[attr-defined]
    assert run.data.params == {"seed": "3", "nested.a": "1"}  # type: ignore[attr-defined]
    # only finite numbers, bools left out
    assert run.data.metrics == {"accuracy": 0.5}  # type: ignore[attr-defined]
    assert run.data.tags["sleeptime.kind"] == "demo-kind"  # type: ignore[attr-defined]
    import mlflow

    client = mlflow.MlflowClient(uri)
    names = sorted(a.path for a in client.list_artifacts(run_id)) + sorted(a.path for a in client.list_artifacts(run_id, "plots"))  # fmt: skip
    assert names == ["out.json", "plots", "spec.toml", "plots/plot.png"]
    local = client.download_artifacts(run_id, "out.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == {"v": [1, 2]}


def test_a_failing_job_marks_its_run_failed_and_closes_its_bar(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    job = Job("demo", ("one", "two"), progress=False)
    with pytest.raises(ValueError, match="boom"), job:
        job.track({}, uri=uri)
        with job.step("one"):
            raise ValueError("boom")
    (run,) = _runs(uri)
    assert run.info.status == "FAILED"  # type: ignore[attr-defined]
    assert job.seconds is not None  # the bar was closed on the way out


def test_an_untracked_job_logs_nothing_and_refuses_a_second_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with Job("demo", progress=False) as job:
        job.track({"a": 1}, uri=uri, enabled=False)
        assert not job.tracked and job.run_id is None
        job.log({"accuracy": 1.0})
    with Job("demo", progress=False) as job:
        job.track({}, uri=uri)
        with pytest.raises(RuntimeError, match="already open"):
            job.track({}, uri=uri)
    assert [r.info.status for r in _runs(uri)] == ["FINISHED"]  # type: ignore[attr-defined]


def test_steps_out_of_order_fail_and_closing_twice_keeps_the_first_time() -> None:
    with Job("demo", ("one", "two"), progress=False) as job:
        with pytest.raises(AssertionError, match="out of order"):
            job.start("two")
        first = job.stages.close()
    assert job.seconds == first
