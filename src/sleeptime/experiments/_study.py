"""Optuna search over the learned policy's hyper-parameters and its price of cost ``lam``.

Two objectives, accuracy up and USD per query down, on validation contexts (templates held out
from training); ``study.best_trials`` is the Pareto front. Storage: a journal file under
``mlruns/`` by default (safe for several processes on one machine); pass an RDB URL such as
``postgresql://...`` for workers on several machines. A study name that exists is resumed.
Each trial is logged to MLflow as a nested run through :class:`~sleeptime.tracking.MLflowTrialLogger`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._errors import SleeptimeError
from sleeptime.experiments._scenario import Scenario, ScenarioConfig, exploration_data
from sleeptime.policy import ALL_FEATURES, ActionTables, LearnedTables, fit_policy
from sleeptime.simulators import SimItems
from sleeptime.tracking import (
    MLflowTrialLogger,
    fail_orphaned_trials,
    record_owners,
    redact,
    resumed_seed,
    stop_on_interrupt,
    storage_for,
)

#: The search space: every hyper-parameter takes one of these values.
SPACE: dict[str, tuple[Any, ...]] = {
    "lam": tuple(float(v) for v in np.geomspace(100.0, 30000.0, 12)),
    "learning_rate": (0.05, 0.1, 0.2),
    "max_leaf_nodes": (15, 31),
}


@dataclass
class PolicySearch:
    """Evaluates (hyper-parameters, lam) on validation items, fitting each model once."""

    scenario: Scenario
    features: tuple[str, ...] = ALL_FEATURES
    validation_share: float = 0.3
    _cache: dict[tuple[Any, ...], LearnedTables] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sc = self.scenario
        templates = sorted(sc.train_templates)
        rng = np.random.default_rng(sc.config.seed + 5)
        n_val = max(1, round(len(templates) * self.validation_share))
        val = set(rng.choice(templates, size=n_val, replace=False).tolist())
        template_of = {ctx.context_id: str(ctx.meta["template"]) for ctx in sc.workload.contexts}
        ctx_template = np.array([template_of[cid] for cid in (sc.train.context_ids or ())])
        fit_idx = np.flatnonzero(~np.isin(ctx_template, sorted(val)))
        val_idx = np.flatnonzero(np.isin(ctx_template, sorted(val)))
        self.fit_items: SimItems = sc.train.subset(fit_idx)
        self.val_items: SimItems = sc.train.subset(val_idx)
        self._fit_scenario = Scenario(
            sc.config,
            sc.env,
            sc.workload,
            self.fit_items,
            sc.test,
            tuple(sorted(set(templates) - val)),
            tuple(sorted(val)),
        )
        self.data = exploration_data(self._fit_scenario, self.features)
        self.tables: ActionTables = sc.env.action_tables(self.val_items)

    def evaluate(self, params: Mapping[str, Any]) -> tuple[float, float]:
        """(accuracy, USD per query) on the validation items."""
        key = (params["learning_rate"], params["max_leaf_nodes"])
        if key not in self._cache:
            policy = fit_policy(self.data, self.features, seed=self.scenario.config.seed,
                                learning_rate=key[0], max_leaf_nodes=key[1])  # fmt: skip
            self._cache[key] = LearnedTables.build(policy, self.val_items)
        sleep, test = self._cache[key].decide(
            self.val_items, self.scenario.env, float(params["lam"])
        )
        return self.tables.evaluate(sleep, test)

    def grid(self) -> list[dict[str, Any]]:
        """Every point of :data:`SPACE`, evaluated."""
        out = []
        for values in itertools.product(*SPACE.values()):
            params = dict(zip(SPACE, values, strict=True))
            acc, usd = self.evaluate(params)
            out.append({**params, "accuracy": acc, "usd_per_query": usd})
        return out


def run_study(
    search: PolicySearch,
    *,
    n_trials: int,
    study_name: str,
    storage: str | None = None,
    seed: int = 0,
    callbacks: list[Any] | None = None,
    progress: bool = False,
) -> Any:
    """Create or resume the study and run ``n_trials`` more trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = storage_for(storage)
    study = optuna.create_study(
        study_name=study_name, storage=store, directions=["maximize", "minimize"],
        sampler=optuna.samplers.TPESampler(seed=resumed_seed(seed, store, study_name)), load_if_exists=True,
    )  # fmt: skip

    record_owners(study)
    study.set_user_attr("sleeptime.recovered_trials", fail_orphaned_trials(study))

    def objective(trial: Any) -> tuple[float, float]:
        params = {
            name: trial.suggest_categorical(name, list(values)) for name, values in SPACE.items()
        }
        return search.evaluate(params)

    with stop_on_interrupt() as interrupted:

        def stop_if_interrupted(study: Any, trial: Any) -> None:
            if interrupted():
                study.stop()

        study.optimize(
            objective,
            n_trials=n_trials,
            callbacks=[*(callbacks or []), stop_if_interrupted],
            show_progress_bar=progress,
        )
    if interrupted():
        raise KeyboardInterrupt
    return study


def optimize(
    config: ScenarioConfig,
    *,
    trials: int = 50,
    study_name: str = "sleeptime-policy",
    storage: str | None = None,
    tracking_uri: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``sleeptime optimize``: run (or resume) an Optuna study of the learned policy on
    validation templates, every trial logged to MLflow; its Pareto front."""
    from sleeptime.experiments._scenario import build_scenario
    from sleeptime.reporting import plot_pareto
    from sleeptime.tracking import Job

    if trials < 1:
        raise SleeptimeError(f"--trials must be at least 1, got {trials}")
    with Job("optimize", ("workload and LM features", "exploration data", "trials"), progress) as job:  # fmt: skip
        with job.step("workload and LM features"):
            scenario = build_scenario(config, progress=progress)
        params = {**scenario.config.to_params(), "trials": trials, "study_name": study_name,
                  "storage": redact(storage) if storage else "journal"}  # fmt: skip
        job.track(params, uri=tracking_uri, kind="optimize")
        with job.step("exploration data"):
            search = PolicySearch(scenario)
        with job.step("trials"):
            study = run_study(search, n_trials=trials, study_name=study_name, storage=storage,
                              seed=config.seed, callbacks=[MLflowTrialLogger()], progress=progress)  # fmt: skip
        complete = [t for t in study.trials if t.values is not None]
        front = sorted(({"trial": t.number, **t.params, "accuracy": t.values[0], "usd_per_query": t.values[1]} for t in study.best_trials),
                       key=lambda r: r["usd_per_query"])  # fmt: skip
        out = {"simulated": True, "study_name": study.study_name, "trials": len(complete), "pareto_front": front,
               "recovered_trials": study.user_attrs.get("sleeptime.recovered_trials", []), "mlflow_run_id": job.run_id}  # fmt: skip
        job.log(
            {"trials": len(complete), "pareto_points": len(front)}, json={"pareto_front.json": out}
        )
        if front:
            import tempfile

            pts = [{"name": f"t{t.number}", "group": "trials", "usd_per_1k_queries": 1000 * t.values[1], "accuracy": t.values[0]} for t in complete]  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="sleeptime-") as tmp:
                path = plot_pareto(pts, Path(tmp) / f"{study.study_name}-pareto.png", title="Optuna trials (simulated)")  # fmt: skip
                job.log(files={"plots": [path]})
    return out
