"""The off-policy experiment (``kind = "off_policy"``): the estimators validated where the truth
is known, and the update loop under drift (simulated)."""

from __future__ import annotations

import copy
import dataclasses

from sleeptime._lists import comma_list
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.experiments._scenario import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.policy import (  # fmt: skip
    CHEAP_POLICY_FEATURES,
    FixedPolicy,
    domain_drift,
    drift_scenario,
    paper_policy,
    price_drift,
    validate_estimators,
)
from sleeptime.reporting import (
    Figure,
    Report,
    command_line,
    drift_table,
    estimator_table,
    plot_drift,
    plot_estimators,
)

STEPS = ("behaviour policy", "validation", "drift scenario", "report")


@experiment_kind("off_policy", steps=lambda spec: STEPS, summary="off-policy estimators against the truth, and the update loop under drift")  # fmt: skip
def run_off_policy(ctx: RunContext) -> RunOutput:
    """Log a learned policy with exploration, estimate three candidates by every estimator over
    seeds against the simulator's exact values; then serve a drift (``[off_policy] drift``)
    with a frozen, an updating and a retrained policy."""
    spec, job, op = ctx.spec, ctx.job, ctx.spec.off_policy
    seeds = min(op.seeds, spec.reduced_size.seeds) if spec.reduced else op.seeds
    drift_n = min(op.drift_contexts, spec.reduced_size.contexts) if spec.reduced else op.drift_contexts  # fmt: skip
    eps = comma_list(op.epsilons, float)
    world = ScenarioConfig(n_contexts=spec.workload.contexts, seed=spec.seeds.workload, benchmark=spec.model.benchmark,
                           model=spec.model.name, prices=spec.prices.book)  # fmt: skip
    with job.step("behaviour policy"):
        sc = build_scenario(world, progress=ctx.progress)
        behaviour = train_learned_policy(sc, features=CHEAP_POLICY_FEATURES, name="learned-cheap")
        behaviour.set_params(lam=op.lam)
        cheaper = copy.deepcopy(behaviour)
        cheaper.set_params(lam=op.lam / 3)
        cheaper.name = f"learned-lam{op.lam / 3:g}"
        candidates = {cheaper.name: cheaper, "paper(k1,b0)": paper_policy(), "fixed(none,b1)": FixedPolicy(0, 1)}  # fmt: skip
    with job.step("validation"):
        quality = validate_estimators(behaviour, candidates, sc.test, sc.env, features=list(CHEAP_POLICY_FEATURES), epsilons=eps,
                                      seeds=seeds, n_boot=op.n_boot, seed=spec.seeds.bootstrap)  # fmt: skip
    with job.step("drift scenario"):
        dsc = build_scenario(dataclasses.replace(world, n_contexts=drift_n), progress=ctx.progress)
        initial = train_learned_policy(dsc, features=CHEAP_POLICY_FEATURES, name="learned-cheap")
        initial.set_params(lam=op.lam)
        if op.drift == "domain":
            moved = build_scenario(dataclasses.replace(world, n_contexts=drift_n, seed=world.seed + 1, benchmark=op.drift_benchmark), progress=ctx.progress)  # fmt: skip
            periods = domain_drift((dsc.test, dsc.env, world.benchmark), (moved.test, moved.env, op.drift_benchmark), periods=op.periods)  # fmt: skip
            change = f"traffic from {world.benchmark} to {op.drift_benchmark}"
        elif op.drift == "batch":
            periods = price_drift(dsc.test, dsc.env, periods=op.periods, batch_discount=op.batch_discount)  # fmt: skip
            change = f"sleep-time work at {op.batch_discount:g} of the list price"
        else:
            periods = price_drift(dsc.test, dsc.env, periods=op.periods, ratio=op.price_ratio)
            change = f"price x{op.price_ratio:g}"
        half = op.periods // 2
        rows, grid_usd = drift_scenario(initial, periods, epsilon=op.epsilon, seed=spec.seeds.bootstrap, retrain_at=half)  # fmt: skip
    with job.step("report"):
        mid = eps[len(eps) // 2]  # the middle exploration rate (0.1 by default)
        dr = {q.candidate: q for q in quality if q.estimator == "dr" and q.epsilon == mid}
        last = rows[-1]
        headline = (f"Simulated: at exploration {mid:g} doubly robust estimates of USD per query were off by "
                    + ", ".join(f"{100 * q.usd_relative_bias:+.1f}% ({n}, coverage {q.usd_coverage:.2f})" for n, q in dr.items())
                    + f"; after the change ({change}), the updating policy's value was {last.value['updating']:+.3f} against "
                    f"{last.value['frozen']:+.3f} frozen and {last.value['retrained']:+.3f} retrained on a {grid_usd:.2f} USD grid.")  # fmt: skip
        fig = plot_drift(rows, ctx.folder / "drift.png", lam=op.lam, change=half, label=change)
        report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description,
                        figures=[Figure(plot_estimators(quality, ctx.folder / "estimators.png"), "Estimators against the truth",
                                        f"Each candidate's USD per query as estimated on {seeds} logs per exploration rate, against its exact value (simulated).", wide=True),
                                 Figure(fig, f"The update loop under drift: {change}", "Value per period of each policy's own decisions (simulated).", wide=True)],
                        tables=[estimator_table(quality), drift_table(rows, grid_usd, op.lam)],
                        notes=[f"Behaviour: the learned cheap-feature policy at lam {op.lam:g} on {sc.test.n_contexts} held-out contexts; a log's sleep-time decisions are per context, "
                               "so the context is the unit of every interval and every sum."], commands=[command_line()], spec_text=spec.text)  # fmt: skip
    data = {"simulated": True, "seeds": seeds, "epsilons": list(eps), "validation": [q.to_json() for q in quality],
            "drift": {"change": change, "periods": [r.to_json() for r in rows], "grid_usd": grid_usd, "contexts": drift_n}}  # fmt: skip
    return RunOutput(report, headline, data)
