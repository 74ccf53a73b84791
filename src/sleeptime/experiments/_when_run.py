"""The when-to-sleep study (``sleeptime when-to-sleep``, ``kind = "when_to_sleep"``): triggers
by arrival law, refresh after edits, the size of ``c'``, idle capacity and pass@k, each with a
table and a figure. Every number is **simulated**."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sleeptime._lists import comma_list
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._scenario import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.policy import WHEN_SECTIONS as SECTIONS
from sleeptime.policy import (
    CountPrior,
    EditEffect,
    WhenConfig,
    WhenResult,
    cprime_sweep,
    edits_section,
    idle_section,
    pass_at_k,
    served_tables,
    trigger_section,
)
from sleeptime.reporting import Report, command_line, when_figures, when_tables
from sleeptime.reporting import when_headline as headline
from sleeptime.simulators import DEFAULT_LOAD
from sleeptime.workloads import parse_count_law, synthetic_access_log

if TYPE_CHECKING:
    from sleeptime.experiments._running import RunContext, RunOutput


def _scenario(cfg: WhenConfig, arrivals: str, log: str | None, *, fit: Any = None, train: bool = True) -> tuple[Any, CountPrior, Any]:  # fmt: skip
    """The policy scenario (the quickstart's) with the given arrival law: the scenario (its test
    items carry the true prior means), the true count law, the learned policy. ``fit``: the
    :class:`~sleeptime.workloads.ArrivalFit` of ``log``, for ``fitted``."""
    family, shape = parse_count_law(arrivals)
    sc_cfg = ScenarioConfig(n_contexts=cfg.contexts, seed=cfg.seed, benchmark=cfg.benchmark, model=cfg.model, prices=cfg.prices,
                            arrivals=family, dispersion=shape or 0.5, access_log=log)  # fmt: skip
    sc = build_scenario(sc_cfg, progress=False)
    ids = sc.test.context_ids or ()
    if family == "fitted":
        true, mean = CountPrior.from_fit(fit)
        means = np.full(len(ids), mean)
    else:
        domain = {c.context_id: str(c.meta.get("domain")) for c in sc.workload.contexts}
        means = np.array([sc_cfg.domain_query_means.get(domain[c], 4.0) for c in ids])
        true = CountPrior(family, shape)
    test = dataclasses.replace(sc.test, context_features={**sc.test.context_features, "true_mean_queries": means})  # fmt: skip
    return dataclasses.replace(sc, test=test), true, train_learned_policy(sc) if train else None


def when_to_sleep(cfg: WhenConfig, *, step: Callable[[str], Any] | None = None) -> WhenResult:
    """Run the study's sections (``cfg.sections``)."""
    from contextlib import nullcontext

    from sleeptime.workloads import fit_arrivals

    stage = step or (lambda name: nullcontext())
    result = WhenResult(cfg)
    effect = EditEffect(
        cfg.stale_effect, cfg.stale_loss, cfg.touched, cfg.incremental_cost, cfg.incremental_quality
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = cfg.access_log or str(
            synthetic_access_log(Path(tmp) / "synthetic_access_log.csv", seed=cfg.seed + 7)
        )
        fit = None
        laws = (cfg.arrivals if "triggers" in cfg.sections else ()) + ((cfg.edit_arrivals,) if "edits" in cfg.sections else ())  # fmt: skip
        if "fitted" in laws:  # one fit of the log for every section that samples it
            fit = fit_arrivals(log, seed=cfg.seed)
            result.fitted = {**fit.to_json(), "synthetic": cfg.access_log is None}
            if cfg.access_log is None:  # not the temporary file's name: the same run, the same JSON
                result.fitted["source"] = f"synthetic bursty log (self-exciting, mean 4, 2,000 contexts, seed {cfg.seed + 7})"  # fmt: skip
        if "triggers" in cfg.sections:
            for arrivals in cfg.arrivals:
                with stage(f"triggers: {arrivals}"):
                    sc, true, policy = _scenario(cfg, arrivals, log, fit=fit)
                    observed = np.concatenate([sc.train.observed_predictability, sc.test.observed_predictability])  # fmt: skip
                    result.triggers.append(trigger_section(sc.env, sc.train, sc.test, policy, true, arrivals=arrivals, n_boot=cfg.n_boot, seed=cfg.seed,
                                                           observed_all=observed, rho=sc.config.rho_predictability))  # fmt: skip
        if "edits" in cfg.sections:
            with stage("edits"):
                sc, _, policy = _scenario(cfg, cfg.edit_arrivals, log, fit=fit)
                result.edits = edits_section(sc.env, sc.train, sc.test, policy, rates=cfg.edit_rates, effect=effect, seed=cfg.seed)  # fmt: skip
        env: Any = None
        test: Any = None
        if {"cprime", "idle", "passk"} & set(cfg.sections):
            base, _, _ = _scenario(cfg, "geometric", log, train=False)
            env, test = base.env, base.test
        if "cprime" in cfg.sections:
            with stage("the size of c'"):
                result.cprime = cprime_sweep(env, scales=cfg.cprime_scales, rates=cfg.query_rates, saturation=cfg.saturation, n_contexts=min(cfg.contexts, 2000), seed=cfg.seed)  # fmt: skip
        if "idle" in cfg.sections:
            with stage("idle capacity"):
                price = env.prices.price(env.model)
                tt = served_tables(env, test)
                demand = (
                    float(tt.sleep_tokens[1].sum()) / 86_400.0
                )  # tokens per second over the day
                load = price.fleet_load or DEFAULT_LOAD
                idle_share = 1 - float(np.mean(load))
                caps = [price.fleet_tokens_per_s] if price.fleet_tokens_per_s > 0 else [m * demand / idle_share for m in cfg.fleet_multiples]  # fmt: skip
                deadline = cfg.deadline_s if cfg.deadline_s is not None else price.fleet_deadline_s
                energy = (
                    cfg.energy_usd_per_mtok
                    if cfg.energy_usd_per_mtok is not None
                    else price.fleet_usd_per_mtok
                )
                result.idle = idle_section(env, test, capacities=caps, load=load, energy_usd_per_mtok=energy, deadline_s=deadline, seed=cfg.seed)  # fmt: skip
                result.idle_setup = {"demand_tokens_per_s": demand, "mean_idle_share": idle_share, "deadline_s": deadline,
                                     "energy_usd_per_mtok": energy, "load": list(load), "fleet_multiples": list(cfg.fleet_multiples) if price.fleet_tokens_per_s <= 0 else None}  # fmt: skip
        if "passk" in cfg.sections:
            with stage("pass@k"):
                result.passk = pass_at_k(env, test, cfg.pass_k)
    return result


# ---------------------------------------------------------------------------- the spec kind
def study_steps(cfg: WhenConfig) -> tuple[str, ...]:
    """The steps :func:`when_to_sleep` enters, in its order (for a progress bar)."""
    steps = [f"triggers: {a}" for a in cfg.arrivals] if "triggers" in cfg.sections else []
    names = {"edits": "edits", "cprime": "the size of c'", "idle": "idle capacity", "passk": "pass@k"}  # fmt: skip
    return (*steps, *(names[s] for s in SECTIONS if s in cfg.sections and s != "triggers"))


def when_steps(spec: Any) -> tuple[str, ...]:
    return (*study_steps(when_config_from_spec(spec)), "report")


def when_job(cfg: WhenConfig, *, figures: str | Path | None = None, tracking_uri: str | None = None, progress: bool = True) -> tuple[WhenResult, dict[str, Any]]:  # fmt: skip
    """``sleeptime when-to-sleep``: the study, its figures where asked, logged to MLflow (the
    config as params, the headline numbers as metrics, the result and figures as artifacts).
    Returns the result and its JSON (with the package version and the MLflow run id)."""
    from sleeptime import __version__
    from sleeptime.tracking import Job

    with Job("when-to-sleep", study_steps(cfg), progress) as job:
        job.track(cfg.to_params(), uri=tracking_uri, kind="when-to-sleep")
        result = when_to_sleep(cfg, step=job.step)
        paths: list[Path] = []
        if figures:
            folder = Path(figures)
            folder.mkdir(parents=True, exist_ok=True)
            paths = [f.path for f in when_figures(result, folder)]
        metrics: dict[str, Any] = {}
        for t in result.triggers:
            p, name = t.point("learned trigger"), t.arrivals.replace(":", "_")
            metrics.update({f"{name}.learned_trigger.cost_change": p.cost_change, f"{name}.learned_trigger.gap_closed_count_blind": p.gap_closed,
                            f"{name}.learned_trigger.gap_closed_information_matched": p.gap_closed_observable})  # fmt: skip
        data = {**result.to_json(), "version": __version__, "figures": [str(x) for x in paths], "mlflow_run_id": job.run_id}  # fmt: skip
        job.log(metrics, json={"when_to_sleep.json": data}, files={"figures": paths})
    return result, data


def when_config_from_spec(spec: Any) -> WhenConfig:
    w = spec.when

    def floats(text: str) -> tuple[float, ...]:
        return comma_list(text, float)

    def ints(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in comma_list(text, float))

    return WhenConfig(
        contexts=spec.workload.contexts, seed=spec.seeds.workload, prices=spec.prices.book, benchmark=spec.model.benchmark, model=spec.model.name,
        arrivals=comma_list(w.arrivals), access_log=w.access_log or None,
        edit_rates=floats(w.edit_rates), edit_arrivals=w.edit_arrivals, stale_effect=w.stale_effect, stale_loss=w.stale_loss,
        touched=w.touched, incremental_cost=w.incremental_cost, cprime_scales=floats(w.cprime_scales),
        query_rates=ints(w.query_rates), saturation=w.saturation, fleet_multiples=floats(w.fleet_multiples),
        pass_k=ints(w.pass_k), sections=comma_list(w.sections),
        n_boot=w.n_boot,
    )  # fmt: skip


@experiment_kind("when_to_sleep", steps=when_steps, summary="when sleep-time work pays: triggers, refresh after edits, the size of c', idle capacity, pass@k")  # fmt: skip
def run_when(ctx: RunContext) -> RunOutput:
    from sleeptime.experiments._running import RunOutput

    cfg = when_config_from_spec(ctx.spec)
    result = when_to_sleep(cfg, step=ctx.job.step)
    with ctx.job.step("report"):
        figures = when_figures(result, ctx.folder)
        text = headline(result)
        notes = [
            "Every number is simulated: the outcome model calibrated to the paper's curves, the price book, and the stated assumptions (stale effect, c' gain share, fleet load); none was tuned toward a target.",
            "Oracles, each with the learned trigger's decision rule and the true arrival law's posterior: information-matched (the simulator's model and what a policy can observe, each question's observed predictability; no latent), count-blind (also the latents: true per-query outcomes: the bound of a policy deciding before the queries come); the hindsight oracle also knows each context's realized queries.",
        ]
        report = Report(title=f"sleeptime: {ctx.spec.name}", headline=text, intro=ctx.spec.description, figures=figures,
                        tables=when_tables(result), notes=notes, commands=[command_line()], spec_text=ctx.spec.text)  # fmt: skip
    return RunOutput(report, text, result.to_json())
