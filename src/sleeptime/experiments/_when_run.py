"""The when-to-sleep study (``sleeptime when-to-sleep``, ``kind = "when_to_sleep"``): triggers
by arrival law, refresh after edits, the size of ``c'``, idle capacity and pass@k, each with a
table and a figure. Every number is **simulated**."""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._scenario import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.experiments._when_config import SECTIONS, WhenConfig
from sleeptime.experiments._when_sections import (
    CprimeSweep,
    EditRow,
    IdleRow,
    cprime_sweep,
    edits_section,
    idle_section,
    passk_at_equal_tokens,
)
from sleeptime.experiments._when_triggers import TriggerSection, trigger_section
from sleeptime.policy import CountPrior, EditEffect, PassKPoint, pass_at_k, served_tables
from sleeptime.reporting import Figure, Report, Table, command_line
from sleeptime.simulators import DEFAULT_LOAD
from sleeptime.workloads import parse_count_law

if TYPE_CHECKING:
    from sleeptime.experiments._running import RunContext, RunOutput


def synthetic_access_log(path: Path, *, contexts: int = 2000, mean: float = 4.0, delay_s: float = 600.0, seed: int = 7) -> Path:  # fmt: skip
    """A synthetic access log of bursty traffic (self-exciting, ``mean`` queries per context)
    as CSV ``context_id,timestamp``: what a user's own log would be, for the fitted scenario."""
    from sleeptime._atomic import atomic_write_text
    from sleeptime.workloads import ArrivalProcess, ExponentialDurations, SelfExcitingCount

    arr = ArrivalProcess(queries=SelfExcitingCount.with_mean(mean, delay_s), idle=ExponentialDurations(3600.0)).sample(contexts, seed=seed)  # fmt: skip
    starts = np.random.default_rng(seed + 1).random(contexts) * 30 * 86_400.0
    t = starts[arr.query_context] + arr.query_time_s
    lines = [
        "context_id,timestamp",
        *(f"doc{c},{x:.3f}" for c, x in zip(arr.query_context, t, strict=True)),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


@dataclass
class WhenResult:
    """The study's numbers, section by section (None where a section was not run)."""

    config: WhenConfig
    triggers: list[TriggerSection] = field(default_factory=list)
    fitted: dict[str, Any] | None = None
    edits: list[EditRow] | None = None
    cprime: CprimeSweep | None = None
    idle: list[IdleRow] | None = None
    idle_setup: dict[str, Any] | None = None
    passk: tuple[list[PassKPoint], list[PassKPoint]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"simulated": True, "config": self.config.to_params()}
        if self.triggers:
            out["triggers"] = [s.to_json() for s in self.triggers]
        if self.fitted is not None:
            out["fitted_access_log"] = self.fitted
        if self.edits is not None:
            out["edits"] = [r.to_json() for r in self.edits]
        if self.cprime is not None:
            out["cprime"] = self.cprime.to_json()
        if self.idle is not None:
            out["idle"] = {**(self.idle_setup or {}), "rows": [r.to_json() for r in self.idle]}
        if self.passk is not None:
            pk, sl = self.passk
            out["passk"] = {"pass_at_k": [p.to_json() for p in pk],
                            "sleep_time": [{**p.to_json(), "best_pass_at_k_at_equal_tokens": passk_at_equal_tokens(pk, p)} for p in sl]}  # fmt: skip
        return out


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
        true, mean = _fitted_prior(fit)
        means = np.full(len(ids), mean)
    else:
        domain = {c.context_id: str(c.meta.get("domain")) for c in sc.workload.contexts}
        means = np.array([sc_cfg.domain_query_means.get(domain[c], 4.0) for c in ids])
        true = CountPrior(family, shape)
    test = dataclasses.replace(sc.test, context_features={**sc.test.context_features, "true_mean_queries": means})  # fmt: skip
    return dataclasses.replace(sc, test=test), true, train_learned_policy(sc) if train else None


def _fitted_prior(fit: Any) -> tuple[CountPrior, float]:
    """The count law an access-log fit samples, as a prior (families without a per-mean form,
    Poisson and power law, as geometric with the same mean), and its mean."""
    q = fit.process.queries
    mean = (
        float(q.mean) if fit.best == "power-law" else fit.mean_count
    )  # the other MLEs keep the log's mean
    if fit.best == "gamma-poisson":
        return CountPrior("gamma-poisson", float(q.shape)), mean
    return CountPrior("self-exciting" if fit.best == "self-exciting" else "geometric", 0.0), mean


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


# ---------------------------------------------------------------------------- report and figures
def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.1f}%"


def _ci(ci: Sequence[float] | None, pct: bool = True) -> str:
    if ci is None or not all(math.isfinite(v) for v in ci):
        return "n/a"
    return f"{100 * ci[0]:+.1f}% to {100 * ci[1]:+.1f}%" if pct else f"{ci[0]:.2f} to {ci[1]:.2f}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)


def when_tables(r: WhenResult) -> list[Table]:
    """The study's tables (also the text output of ``sleeptime when-to-sleep``)."""
    out = []
    for s in r.triggers:
        rows = [[p.name, _num(p.usd_per_1k_at_equal_accuracy, ".4f"), _pct(p.cost_change), _ci(p.cost_change_ci95),
                 _num(p.gap_closed), _ci(p.gap_closed_ci95, pct=False), _num(p.gap_closed_observable), _ci(p.gap_closed_observable_ci95, pct=False),
                 _num(p.sleep_share)] for p in s.points]  # fmt: skip
        prior = s.prior
        out.append(Table(f"Triggers, arrivals {s.arrivals}: at the accuracy of {s.reference} ({s.accuracy:.3f}, {s.usd_per_1k:.4f} USD/1k)",
                         ["policy", "USD/1k at equal accuracy", "cost change", "95% CI", "gap closed (count-blind)", "95% CI", "gap closed (information-matched)", "95% CI", "contexts slept"], rows,
                         caption=f"Simulated. The learned policy's count prior, fitted to the training contexts: {prior.family}"
                                 + (f" (shape {prior.param:.2f})" if prior.family == "gamma-poisson" else "")
                                 + "; held-out log-likelihood per context " + ", ".join(f"{k} {v:.3f}" for k, v in prior.heldout_loglik.items())
                                 + ". Gap closed: the share of an oracle's saving, the trigger policy against the trigger oracle, at arrival against at arrival. "
                                 "Count-blind (the bound of a policy deciding before the queries come): the simulator's true outcomes and the true arrival law's posterior, not the realized queries. "
                                 "Information-matched: the simulator's model and what a policy can observe (each question's observed predictability), not the latents. "
                                 "Intervals: paired bootstrap over contexts, the whole sweep re-read in each draw.",
                         highlight=[0]))  # fmt: skip
    if r.triggers:
        rules = list(r.triggers[0].fixed)
        out.append(Table("Trigger rules without a model: accuracy and USD/1k by arrival law",
                         ["rule", *(s.arrivals for s in r.triggers)],
                         [[rule, *(f"{s.fixed[rule][0]:.3f} / {1000 * s.fixed[rule][1]:.4f}" for s in r.triggers)] for rule in rules],
                         caption="Simulated. Sleep-time work submitted at the context's arrival, after its m-th query, or once the posterior expected number of queries still to come (the fitted count prior) reaches a threshold; never: test-only at the same budget."))  # fmt: skip
    if r.edits is not None:
        kinds = list(r.edits[0].usd_per_1k) if r.edits else []
        out.append(Table("Refresh after edits: USD/1k at the accuracy of fixed(k1,b1) refreshed after every edit",
                         ["edits per context", "accuracy", *kinds, "learned vs never", "learned vs always", "edits refreshed (learned)"],
                         [[f"{e.edit_rate:g}", f"{e.accuracy:.3f}", *(_num(e.usd_per_1k[k], ".4f") for k in kinds), _pct(-e.saving_vs_never), _pct(-e.saving_vs_always), _num(e.refresh_share)] for e in r.edits],
                         caption=f"Simulated. Stale effect: {r.config.stale_effect} (" + (f"a stale c' keeps {1 - r.config.stale_loss:.0%} of the gain" if r.config.stale_effect == "share" else f"{r.config.touched:.0%} of stale answers ask about the edited part and are wrong")
                                 + f"); an incremental rewrite costs {r.config.incremental_cost:.0%} of a whole one. Negative is cheaper."))  # fmt: skip
    if r.cprime is not None:
        c = r.cprime
        out.append(Table("The size of c': sleep-time saving against test-only at equal accuracy (fixed(k1,b1))",
                         ["queries per context", *(f"{t:.0f} tok" for t in c.cprime_tokens), "break-even c' tokens"],
                         [[f"{q:g}", *(_pct(v) for v in row), _num(be, ".0f") if be is not None else ("never pays" if all(v < 0 for v in row) else "beyond the sweep")] for q, row, be in zip(c.query_rates, c.savings, c.break_even_tokens, strict=True)],
                         caption=f"Simulated. The calibrated c' is {c.cprime_tokens[list(r.config.cprime_scales).index(1.0)] if 1.0 in r.config.cprime_scales else float('nan'):.0f} tokens; gain share (1-exp(-x/{c.saturation:g}))/(1-exp(-1/{c.saturation:g})) of the calibrated gain at x times its length (an assumption). Positive is a saving."))  # fmt: skip
    if r.idle is not None:
        out.append(Table("Idle capacity: sleep-time work in a self-hosted fleet's idle hours against the batch API",
                         ["fleet tokens/s", "share in idle capacity", "sleep USD/1k", "batch sleep USD/1k", "USD saved", "accuracy", "batch accuracy", "served without c'", "batch: without c'"],
                         [[f"{i.capacity_tokens_per_s:.1f}", f"{i.idle_share:.2f}", f"{i.sleep_usd_per_1k:.4f}", f"{i.batch_sleep_usd_per_1k:.4f}", f"{i.usd_saved_share:.0%}",
                           f"{i.accuracy:.3f}", f"{i.batch_accuracy:.3f}", f"{i.served_without_cprime:.3f}", f"{i.batch_served_without_cprime:.3f}"] for i in r.idle],
                         caption=f"Simulated. Every context sleeps at k1 and answers at b1; its work must finish within {_num((r.idle_setup or {}).get('deadline_s'), '.0f')} s of its arrival in the fleet, else it goes to the batch API. Demand: {_num((r.idle_setup or {}).get('demand_tokens_per_s'), '.2f')} tokens/s over the day."))  # fmt: skip
    if r.passk is not None:
        pk, sl = r.passk
        out.append(Table("Sleep-time compute against pass@k at equal test-time tokens",
                         ["strategy", "accuracy", "test tokens", "USD/1k", "best pass@k at <= tokens"],
                         [[p.name, f"{p.accuracy:.3f}", f"{p.test_tokens:.0f}", f"{p.usd_per_1k:.4f}", _num(passk_at_equal_tokens(pk, p), ".3f")] for p in sl],
                         caption="Simulated. pass@k: k test-only samples with an oracle verifier (right if any is), k times the output tokens; every query served with c'."))  # fmt: skip
    return out


def when_figures(r: WhenResult, folder: Path) -> list[Figure]:
    """Savings against burstiness, against edit rate, against c' length; the idle share; pass@k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sleeptime._atomic import atomic_path

    figs = []

    def save(fig: Any, name: str) -> Path:
        path = folder / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
        plt.close(fig)
        return path

    if r.triggers:
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        names = [
            "learned trigger",
            "learned at arrival",
            "oracle (information-matched) trigger",
            "oracle (count-blind) trigger",
            "oracle (hindsight)",
        ]
        names = [n for n in names if all(any(p.name == n for p in t.points) for t in r.triggers)]
        width = 0.8 / len(names)
        x = np.arange(len(r.triggers))
        for i, n in enumerate(names):
            ax.bar(
                x + (i - (len(names) - 1) / 2) * width,
                [-100 * s.point(n).cost_change for s in r.triggers],
                width,
                label=n,
            )
        ax.set_xticks(x, [s.arrivals for s in r.triggers], rotation=15, fontsize=8)
        ax.set_ylabel("saving at equal accuracy, %")
        ax.set_title("Savings against fixed(k1,b1) by arrival law (simulated)", fontsize=10)
        ax.legend(fontsize=7)
        figs.append(Figure(save(fig, "triggers.png"), "Savings against burstiness", "Cost saved at the accuracy of fixed(k1,b1) slept at arrival; arrival laws from memoryless to bursty (simulated).", wide=True))  # fmt: skip
    if r.edits:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        rates = [e.edit_rate for e in r.edits]
        for kind in r.edits[0].usd_per_1k:
            ax.plot(rates, [e.usd_per_1k[kind] for e in r.edits], marker="o", label=kind)
        ax.set_xlabel("edits per context lifetime")
        ax.set_ylabel("USD per 1k queries at equal accuracy")
        ax.set_title("Refresh after edits (simulated)", fontsize=10)
        ax.legend(fontsize=7)
        figs.append(Figure(save(fig, "edits.png"), "Savings against edit rate", "Each refresh strategy's cost at the accuracy of fixed(k1,b1) refreshed after every edit (simulated)."))  # fmt: skip
    if r.cprime is not None:
        c = r.cprime
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        for q, row, be in zip(c.query_rates, c.savings, c.break_even_tokens, strict=True):
            (line,) = ax.plot(
                c.cprime_tokens,
                [100 * v for v in row],
                marker="o",
                ms=3,
                label=f"{q:g} queries/context",
            )
            if be is not None:
                ax.plot([be], [0], marker="x", ms=9, color=line.get_color())
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_ylim(max(-100, ax.get_ylim()[0]), None)
        ax.set_xlabel("c' length, tokens")
        ax.set_ylabel("saving against test-only, %")
        ax.set_title("The size of c' (simulated; x: break-even)", fontsize=10)
        ax.legend(fontsize=7)
        figs.append(Figure(save(fig, "cprime.png"), "Savings against c' length", "Sleep-time (k1, b1) against test-only at equal accuracy by c' length and query rate; crosses mark the break-even (simulated)."))  # fmt: skip
    if r.idle:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        caps = [i.capacity_tokens_per_s for i in r.idle]
        series = (("idle_share", "o", "share of sleep-time work in idle capacity"), ("usd_saved_share", "s", "sleep-time USD saved vs batch"),
                  ("served_without_cprime", "^", "queries served without c'"))  # fmt: skip
        for key, marker, label in series:
            ax.plot(caps, [getattr(i, key) for i in r.idle], marker=marker, label=label)
        ax.axhline(
            r.idle[0].batch_served_without_cprime,
            color="gray",
            ls="--",
            lw=0.8,
            label="batch: queries without c'",
        )
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(caps, [f"{c:.1f}" for c in caps])
        ax.set_xlabel("fleet capacity, tokens/s")
        ax.set_ylabel("share")
        ax.set_title("Idle capacity (simulated)", fontsize=10)
        ax.legend(fontsize=7)
        figs.append(Figure(save(fig, "idle.png"), "Sleep-time work in idle capacity", "How much fits before the deadline, what it saves, and what the first queries lose (simulated)."))  # fmt: skip
    if r.passk is not None:
        pk, sl = r.passk
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        budgets = sorted({p.name.split()[-1] for p in pk})
        for b in budgets:
            pts = [p for p in pk if p.name.endswith(b)]
            ax.plot(
                [p.test_tokens for p in pts],
                [p.accuracy for p in pts],
                marker="o",
                ms=3,
                ls="--",
                label=f"pass@k, {b}",
            )
        for lvl in sorted({p.name.split(",")[0] for p in sl}):
            pts = [p for p in sl if p.name.startswith(lvl + ",")]
            ax.plot(
                [p.test_tokens for p in pts],
                [p.accuracy for p in pts],
                marker="s",
                ms=4,
                label=f"sleep-time {lvl.removeprefix('fixed(')}",
            )
        ax.set_xscale("log")
        ax.set_xlabel("test-time output tokens per query")
        ax.set_ylabel("accuracy")
        ax.set_title("Sleep-time compute vs pass@k (simulated)", fontsize=10)
        ax.legend(fontsize=6, ncol=2)
        figs.append(Figure(save(fig, "passk.png"), "Against pass@k at equal test-time tokens", "pass@k with an oracle verifier (dashed) and sleep-time levels (solid), as the paper's Fig. 5 compares (simulated)."))  # fmt: skip
    return figs


def headline(r: WhenResult) -> str:
    """The study's closing sentence: per arrival law, the learned trigger against fixed(k1,b1)
    and the shares of the information-matched and count-blind oracles' savings it closes."""
    parts = []
    for s in r.triggers:
        p = s.point("learned trigger")
        parts.append(f"{s.arrivals}: learned trigger {_pct(p.cost_change)} at the accuracy of {s.reference}, closing {_num(p.gap_closed_observable)} of the "
                     f"information-matched oracle's saving and {_num(p.gap_closed)} of the count-blind one's")  # fmt: skip
    return "Simulated. " + ("; ".join(parts) + "." if parts else "When-to-sleep study.")


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
    from sleeptime.tracking import Stages, log_file, log_json, log_metrics, mlflow_run

    stages = Stages("when-to-sleep", study_steps(cfg), progress)
    try:
        with mlflow_run("when-to-sleep", params=cfg.to_params(), uri=tracking_uri, kind="when-to-sleep") as run:  # fmt: skip
            result = when_to_sleep(cfg, step=stages.step)
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
            log_metrics(metrics)
            data = {**result.to_json(), "version": __version__, "figures": [str(x) for x in paths], "mlflow_run_id": run.info.run_id}  # fmt: skip
            log_json(data, "when_to_sleep.json")
            for path in paths:
                log_file(path, "figures")
    finally:
        stages.close()
    return result, data


def when_config_from_spec(spec: Any) -> WhenConfig:
    w = spec.when

    def floats(text: str) -> tuple[float, ...]:
        return tuple(float(x) for x in text.split(",") if x.strip())

    return WhenConfig(
        contexts=spec.workload.contexts, seed=spec.seeds.workload, prices=spec.prices.book, benchmark=spec.model.benchmark, model=spec.model.name,
        arrivals=tuple(a.strip() for a in w.arrivals.split(",") if a.strip()), access_log=w.access_log or None,
        edit_rates=floats(w.edit_rates), edit_arrivals=w.edit_arrivals, stale_effect=w.stale_effect, stale_loss=w.stale_loss,
        touched=w.touched, incremental_cost=w.incremental_cost, cprime_scales=floats(w.cprime_scales),
        query_rates=tuple(int(x) for x in floats(w.query_rates)), saturation=w.saturation, fleet_multiples=floats(w.fleet_multiples),
        pass_k=tuple(int(x) for x in floats(w.pass_k)), sections=tuple(s.strip() for s in w.sections.split(",") if s.strip()),
        n_boot=w.n_boot,
    )  # fmt: skip


@experiment_kind("when_to_sleep", steps=when_steps, summary="when sleep-time work pays: triggers, refresh after edits, the size of c', idle capacity, pass@k")  # fmt: skip
def run_when(ctx: RunContext) -> RunOutput:
    from sleeptime.experiments._running import RunOutput

    cfg = when_config_from_spec(ctx.spec)
    result = when_to_sleep(cfg, step=ctx.stages.step)
    with ctx.stages.step("report"):
        figures = when_figures(result, ctx.folder)
        text = headline(result)
        notes = [
            "Every number is simulated: the outcome model calibrated to the paper's curves, the price book, and the stated assumptions (stale effect, c' gain share, fleet load); none was tuned toward a target.",
            "Oracles, each with the learned trigger's decision rule and the true arrival law's posterior: information-matched (the simulator's model and what a policy can observe, each question's observed predictability; no latent), count-blind (also the latents: true per-query outcomes: the bound of a policy deciding before the queries come); the hindsight oracle also knows each context's realized queries.",
        ]
        report = Report(title=f"sleeptime: {ctx.spec.name}", headline=text, intro=ctx.spec.description, figures=figures,
                        tables=when_tables(result), notes=notes, commands=[command_line()], spec_text=ctx.spec.text)  # fmt: skip
    return RunOutput(report, text, result.to_json())
