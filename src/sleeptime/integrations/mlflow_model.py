"""The policy as an MLflow pyfunc model: served by ``mlflow models serve`` like any model.

The model is logged *from code* (``_mlflow_model_code.py``), with the JSON artifact as its only
file: nothing is pickled. ``predict`` takes a table with one row per decision and returns the
request parameters; ``params={"decision": "sleep"}`` asks for sleep-time decisions instead of
per-query ones. Columns in: the artifact's features (query features for ``test``, context
features for ``sleep``), and ``sleep_level``, ``c_prime_ready``, ``prompt_tokens`` (``test``)
or ``context_tokens`` (``sleep``).

Learning from the traffic it serves: the model's config (``model_config`` when logged, or at
``mlflow.pyfunc.load_model(..., model_config=...)``) may set ``explore`` (epsilon) and ``seed``
for exploration around the policy's decisions, and ``decision_log`` (a JSONL file): every
decision is then logged with its propensity, under the row's ``request_id`` (and
``context_id``, ``query_id``) where given. The output's ``propensity`` column says how likely
each decision was (1 without exploration).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc

from sleeptime import __version__
from sleeptime.runtime import DecisionLog, Exploration, RuntimePolicy, decision_row, load_artifact

TEST_OUTPUTS = ("budget", "max_tokens", "reasoning_effort", "verbosity_prompt", "send_c_prime", "propensity")  # fmt: skip
SLEEP_OUTPUTS = ("sleep_level", "run", "n_rewrites", "reasoning_effort", "max_tokens", "batch", "propensity")  # fmt: skip


class PolicyPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Decisions of an exported policy, as a pyfunc model."""

    def load_context(self, context: Any) -> None:
        """Load the policy artifact MLflow logged with the model (``artifacts["policy"]``), with
        the exploration and decision log its config names."""
        config = dict(getattr(context, "model_config", None) or {})
        eps = float(config.get("explore", 0.0))
        explore = Exploration(eps, int(config.get("seed", 0))) if eps else None
        self.policy = RuntimePolicy.load(context.artifacts["policy"], exploration=explore)
        self.log = DecisionLog(config["decision_log"]) if config.get("decision_log") else None

    def predict(self, context: Any, model_input: Any, params: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
        """One decision per row of the DataFrame ``model_input``: with ``params={"decision":
        "sleep"}`` the sleep-time decision (rows need ``context_tokens``; columns
        :data:`SLEEP_OUTPUTS`), else the test-time one (rows need ``prompt_tokens``, may give
        ``sleep_level`` and ``c_prime_ready``; columns :data:`TEST_OUTPUTS`). Rows also carry
        the policy's features."""
        import pandas as pd

        decision = (params or {}).get("decision", "test")
        rows = model_input.to_dict(orient="records")
        out = []
        for row in rows:
            if decision == "sleep":
                tokens = float(row["context_tokens"])
                d = self.policy.decide_sleep(row, context_tokens=tokens)
                out.append({**{k: d.get(k) for k in SLEEP_OUTPUTS}, "propensity": d.get("propensity", 1.0)})  # fmt: skip
            else:
                tokens, level, ready = float(row["prompt_tokens"]), str(row.get("sleep_level", "none")), bool(row.get("c_prime_ready", False))  # fmt: skip
                d = self.policy.decide_test(row, sleep_level=level, c_prime_ready=ready, prompt_tokens=tokens)  # fmt: skip
                out.append({**{k: d.get(k) for k in TEST_OUTPUTS}, "propensity": d.get("propensity", 1.0)})  # fmt: skip
            if self.log is not None:
                feats = {k: v for k, v in row.items() if k not in _NOT_FEATURES}
                ids = {k: str(row.get(k) or "") for k in ("context_id", "query_id")}
                self.log.write(decision_row(decision, d, request_id=str(row.get("request_id") or self.log.new_request_id()), policy=self.policy,
                                            features=feats, tokens=tokens, expected_queries=row.get("expected_queries") if decision == "sleep" else None,
                                            sleep_level=None if decision == "sleep" else level, c_prime_ready=None if decision == "sleep" else ready, **ids))  # fmt: skip
        return pd.DataFrame(out, columns=list(SLEEP_OUTPUTS if decision == "sleep" else TEST_OUTPUTS))  # fmt: skip


#: request columns that are not features
_NOT_FEATURES = frozenset({"request_id", "context_id", "query_id", "sleep_level", "c_prime_ready", "prompt_tokens", "context_tokens"})  # fmt: skip


def signature_for(artifact: Mapping[str, Any]) -> Any:
    """Input, output and params schema of the pyfunc model for an artifact."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    names = [f["name"] for f in artifact["features"]["query"]]
    names += [f["name"] for f in artifact["features"]["context"] if f["name"] not in names]
    columns: list[Any] = [ColSpec("double", n) for n in names]
    columns += [ColSpec("string", "sleep_level", required=False), ColSpec("boolean", "c_prime_ready", required=False),
                ColSpec("double", "prompt_tokens", required=False), ColSpec("double", "context_tokens", required=False),
                ColSpec("string", "request_id", required=False), ColSpec("string", "context_id", required=False),
                ColSpec("string", "query_id", required=False)]  # fmt: skip
    outputs: list[Any] = [ColSpec("string", "budget"), ColSpec("long", "max_tokens", required=False),
                          ColSpec("string", "reasoning_effort", required=False), ColSpec("string", "verbosity_prompt", required=False),
                          ColSpec("boolean", "send_c_prime"), ColSpec("double", "propensity")]  # fmt: skip
    return ModelSignature(inputs=Schema(columns), outputs=Schema(outputs), params=ParamSchema([ParamSpec("decision", "string", "test")]))  # fmt: skip


def input_example(artifact: Mapping[str, Any]) -> dict[str, list[Any]]:
    """One request row with every column (MLflow checks the model on it when logging)."""
    names = [f["name"] for f in (*artifact["features"]["query"], *artifact["features"]["context"])]
    row: dict[str, Any] = dict.fromkeys(names, 1.0)
    row.update(sleep_level="none", c_prime_ready=False, prompt_tokens=300.0, context_tokens=250.0)
    return {k: [v] for k, v in row.items()}


def log_policy_model(artifact_path: str | Path, name: str = "policy_model", model_config: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """Log the artifact at ``artifact_path`` as a pyfunc model in the active MLflow run
    (``model_config``: ``explore``, ``seed``, ``decision_log``; see the module)."""
    artifact = load_artifact(artifact_path)
    code = Path(__file__).with_name("_mlflow_model_code.py")
    return mlflow.pyfunc.log_model(
        name=name, python_model=str(code), artifacts={"policy": str(artifact_path)},
        signature=signature_for(artifact), input_example=input_example(artifact),
        pip_requirements=[f"sleeptime=={__version__}", f"mlflow=={mlflow.__version__}"],
        # the keys must exist when logged for load_model(model_config=...) to set them later
        model_config={"explore": 0.0, "seed": 0, "decision_log": "", **(model_config or {})},
    )  # fmt: skip
