"""Train for a dollar budget, distil, and export: what ``sleeptime train`` and ``sleeptime export`` run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError
from sleeptime.experiments._scenario import (
    Scenario,
    ScenarioConfig,
    build_scenario,
    train_learned_policy,
)
from sleeptime.policy import (
    ActionTables,
    DistilledPolicy,
    LearnedPolicy,
    chars_per_token,
    distill,
    feature_set,
    fidelity,
    policy_artifact,
    write_artifact,
)
from sleeptime.tracking import Job


def train_for_budget(
    scenario: Scenario,
    features: Sequence[str],
    budget_usd_per_1k: float,
    *,
    tables: ActionTables | None = None,
    **params: Any,
) -> tuple[LearnedPolicy, dict[str, Any]]:
    """Fit the learned policy and set its ``lam`` by bisection on its own predicted spend over
    the traffic it will serve (no outcomes used); report the realized held-out numbers
    (``tables``: the held-out items' action tables, where the caller has them already)."""
    from sleeptime.policy import LearnedTables, bisect_lam, predicted_usd_per_query

    policy = train_learned_policy(scenario, features=features, **params)
    env, served = scenario.env, scenario.test
    lt = LearnedTables.build(policy, served)
    target = budget_usd_per_1k / 1000
    lam = bisect_lam(lambda x: predicted_usd_per_query(lt, served, env, x), target, at_least=False)
    policy.set_params(lam=lam)
    tables = env.action_tables(served) if tables is None else tables
    acc, usd = tables.evaluate(*lt.decide(served, env, lam))
    return policy, {
        "simulated": True,
        "lam": lam,
        "target_usd_per_1k": budget_usd_per_1k,
        "predicted_usd_per_1k": 1000 * predicted_usd_per_query(lt, served, env, lam),
        "held_out_usd_per_1k": 1000 * usd,
        "held_out_spend_error": usd / target - 1,
        "held_out_accuracy": acc,
    }


def export_policy(
    scenario: Scenario,
    learned: LearnedPolicy,
    out: str | Path,
    *,
    config: Mapping[str, Any],
    mlflow_run_id: str | None,
    max_depth: int | None = 10,
    min_samples_leaf: int = 4,
    tables: ActionTables | None = None,
    transfer_served: bool = True,
) -> tuple[dict[str, Any], DistilledPolicy]:
    """Distil ``learned`` on the training contexts (and, with ``transfer_served``, on the
    features of the held-out contexts it will serve: the learned policy labels them, no outcome
    is read, as a router's operator would distil on the contexts in its store), measure it on
    the held-out contexts, write the artifact to ``out`` (atomically) and return it with the
    distilled policy."""
    # the transfer set: the training contexts and the served traffic's features (no outcomes)
    transfer = scenario.test if transfer_served else None
    distilled = distill(learned, scenario.train, transfer=transfer, max_depth=max_depth, min_samples_leaf=min_samples_leaf, seed=scenario.config.seed)  # fmt: skip
    fid = fidelity(scenario.env, scenario.test, learned, distilled, tables)
    fid["transfer_set"] = (
        "training contexts and served contexts (features only)"
        if transfer_served
        else "training contexts"
    )
    cfg = {**config, "distill.max_depth": max_depth, "distill.min_samples_leaf": min_samples_leaf,
           "distill.transfer_served": transfer_served}  # fmt: skip
    artifact = policy_artifact(distilled, scenario.env, config=cfg, mlflow_run_id=mlflow_run_id,
                               chars_per_token=chars_per_token(scenario.workload, scenario.train), fidelity=fid)  # fmt: skip
    write_artifact(artifact, out)
    return artifact, distilled


def train(
    config: ScenarioConfig,
    *,
    features: str = "all",
    budget_usd_per_1k: float = 0.12,
    tracking_uri: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``sleeptime train``: fit the learned policy on the scenario's training templates, set
    ``lam`` for the dollar target, report the held-out spend and accuracy (simulated)."""
    with Job("train", ("workload and LM features", "train and set lam"), progress) as job:
        with job.step("workload and LM features"):
            scenario = build_scenario(config, progress=progress)
        params = {**scenario.config.to_params(), "features": features, "budget_usd_per_1k": budget_usd_per_1k}  # fmt: skip
        job.track(params, uri=tracking_uri, kind="train")
        with job.step("train and set lam"):
            policy, info = train_for_budget(scenario, feature_set(features), budget_usd_per_1k)
        out = {"features": features, **info, "mlflow_run_id": job.run_id}
        job.log(out, json={"policy.json": {"params": policy.get_params(), "test_usd": policy.test_usd_, "sleep_usd": policy.sleep_usd_,
                                           "ready_share": policy.ready_share_, **out}})  # fmt: skip
    return out


def export(
    config: ScenarioConfig,
    out: str | Path,
    *,
    features: str = "cheap",
    budget_usd_per_1k: float = 0.12,
    max_depth: int = 10,
    transfer_set: str = "training+served",
    semantic_router: str | Path | None = None,
    mlflow_model: bool = False,
    tracking_uri: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``sleeptime export``: train for the dollar target, distil, write the artifact a router
    loads (and, where asked, vLLM Semantic Router decisions and an MLflow pyfunc model)."""
    from sleeptime._atomic import atomic_write_text

    if transfer_set not in TRANSFER_SETS:
        raise SleeptimeError(f"--transfer-set must be one of {', '.join(TRANSFER_SETS)}, got {transfer_set!r}")  # fmt: skip
    with Job("export", ("workload and LM features", "train and set lam", "distil and write"), progress) as job:  # fmt: skip
        with job.step("workload and LM features"):
            scenario = build_scenario(config, progress=progress)
        params = {**scenario.config.to_params(), "features": features, "budget_usd_per_1k": budget_usd_per_1k,
                  "max_depth": max_depth, "transfer_set": transfer_set}  # fmt: skip
        job.track(params, uri=tracking_uri, kind="export")
        with job.step("train and set lam"):
            tables = scenario.env.action_tables(scenario.test)  # held-out outcomes, computed once
            policy, info = train_for_budget(scenario, feature_set(features), budget_usd_per_1k, tables=tables)  # fmt: skip
        with job.step("distil and write"):
            artifact, _ = export_policy(scenario, policy, out, config=params, mlflow_run_id=job.run_id,
                                        max_depth=max_depth, tables=tables, transfer_served=transfer_set == "training+served")  # fmt: skip
        fid = artifact["fidelity"]
        result: dict[str, Any] = {"simulated": True, "artifact": str(out), "features": features, **info,
                                  "fidelity": fid, "bytes": Path(out).stat().st_size, "mlflow_run_id": job.run_id}  # fmt: skip
        if semantic_router:
            from sleeptime.integrations.semantic_router import semantic_router_yaml

            shares = fid["budget_shares"]
            atomic_write_text(semantic_router, semantic_router_yaml(artifact, default_level=max(shares, key=shares.get)))  # fmt: skip
            result["semantic_router"] = str(semantic_router)
        job.log({**info, **{f"exported.{k}": v for k, v in fid.items()}}, files={"export": [out, *([semantic_router] if semantic_router else [])]})  # fmt: skip
        if mlflow_model:
            from sleeptime.integrations.mlflow_model import log_policy_model

            result["mlflow_model_uri"] = log_policy_model(out).model_uri
    return result


#: What the distilled trees may be fitted on (``sleeptime export --transfer-set``).
TRANSFER_SETS = ("training+served", "training")
