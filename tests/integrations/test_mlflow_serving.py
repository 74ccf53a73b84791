"""The policy as an MLflow pyfunc model: loaded back and served over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sleeptime.runtime import RuntimePolicy
from sleeptime.workloads import generate_workload
from tests._servers import free_port, stop, wait_http, with_scripts_on_path


def _rows(runtime: RuntimePolicy, n: int = 12) -> list[dict[str, Any]]:
    rows = []
    for i, c in enumerate(generate_workload(n, seed=21).contexts):
        q = c.queries[i % len(c.queries)].question
        rows.append({**runtime.context_features(c.context), "expected_queries": [1.5, 4.0, 8.0][i % 3],
                     "question_chars": float(len(q)), "sleep_level": runtime.sleep_levels[i % len(runtime.sleep_levels)],
                     "c_prime_ready": bool(i % 2), "prompt_tokens": 100.0 + 40 * i, "context_tokens": 80.0 + 30 * i})  # fmt: skip
    return rows


def _expected(runtime: RuntimePolicy, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = runtime.decide_test(r, sleep_level=r["sleep_level"], c_prime_ready=r["c_prime_ready"], prompt_tokens=r["prompt_tokens"])  # fmt: skip
        out.append({k: d[k] for k in ("budget", "max_tokens", "verbosity_prompt", "send_c_prime")})
    return out


@pytest.mark.slow
def test_pyfunc_model_loads_predicts_and_serves(exported: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import mlflow
    import pandas as pd

    from sleeptime.integrations.mlflow_model import log_policy_model

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("serving-test")
    path = exported["cheap"]["path"]
    runtime = RuntimePolicy.load(path)
    with mlflow.start_run():
        info = log_policy_model(path)
    assert info.signature is not None and "decision" in str(info.signature.params)
    rows = _rows(runtime)
    expected = _expected(runtime, rows)

    model = mlflow.pyfunc.load_model(info.model_uri)
    got = model.predict(pd.DataFrame(rows))
    assert [{k: r[k] for k in expected[0]} for r in got.to_dict(orient="records")] == expected
    sleep = model.predict(pd.DataFrame(rows), params={"decision": "sleep"})
    assert list(sleep["sleep_level"]) == [runtime.decide_sleep(r, context_tokens=r["context_tokens"])["sleep_level"] for r in rows]  # fmt: skip
    assert set(got["propensity"]) == {1.0}  # no exploration: every decision the policy's own

    # served with exploration and a decision log (set when the model is loaded)
    decisions = tmp_path / "decisions.jsonl"
    exploring = mlflow.pyfunc.load_model(info.model_uri, model_config={"explore": 0.5, "seed": 1, "decision_log": str(decisions)})  # fmt: skip
    tagged = [{**r, "request_id": f"r{i}", "context_id": f"c{i}", "query_id": "q0"} for i, r in enumerate(rows)]  # fmt: skip
    explored = exploring.predict(pd.DataFrame(tagged))
    logged = [json.loads(line) for line in decisions.read_text().splitlines()]
    assert [x["request_id"] for x in logged] == [r["request_id"] for r in tagged]
    assert [x["propensity"] for x in logged] == list(explored["propensity"])
    assert [x["action"] for x in logged] == list(explored["budget"])
    assert [x["greedy"] for x in logged] == [e["budget"] for e in expected]
    n_b = len(runtime.budgets)
    assert all(x["propensity"] == pytest.approx(0.5 + 0.5 / n_b if x["action"] == x["greedy"] else 0.5 / n_b) for x in logged)  # fmt: skip
    assert any(x["action"] != x["greedy"] for x in logged) and all(x["kind"] == "test" and x["epsilon"] == 0.5 for x in logged)  # fmt: skip

    port = free_port()
    log = tmp_path / "serve.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", info.model_uri, "--env-manager", "local",
         "--host", "127.0.0.1", "-p", str(port), "--workers", "1"],
        env=with_scripts_on_path({**os.environ, "MLFLOW_TRACKING_URI": uri}), stdout=log.open("w"),
        stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", server, log)
        body = json.dumps({"dataframe_records": rows}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as r:
            answer = json.loads(r.read())
        served = answer["predictions"]
        assert [{k: r[k] for k in expected[0]} for r in served] == expected
    finally:
        stop(server)
