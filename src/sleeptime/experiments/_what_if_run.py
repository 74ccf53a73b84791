"""The what-if experiment (``kind = "what_if_prices"``): the same learned policy under another
price book and query rate, against a policy retrained there."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sleeptime.experiments._compare import compare_steps
from sleeptime.experiments._policy_report import ROW_COLUMNS, row_cells
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.experiments._scenario import (
    DOMAIN_QUERY_MEANS,
    ScenarioConfig,
    build_scenario,
    train_learned_policy,
)
from sleeptime.policy import compare_policies
from sleeptime.reporting import (
    Figure,
    Report,
    Table,
    command_line,
    cost_change,
    plot_amortization,
    plot_pareto,
)
from sleeptime.simulators import amortization_sweep, load_price_book

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec

ORIGINAL, RETRAINED = "learned (trained on base)", "learned (retrained)"


def what_if_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    return ("train under the base prices and query rate", "the what-if scenario",
            *compare_steps([ORIGINAL, RETRAINED]), "report")  # fmt: skip


@experiment_kind("what_if_prices", steps=what_if_steps, summary="the same policy under another price book and query rate")  # fmt: skip
def run_what_if(ctx: RunContext) -> RunOutput:
    """The same learned policy under another price book and query rate, against retraining."""
    spec, folder, job = ctx.spec, ctx.folder, ctx.job
    m, seeds, wi = spec.model, spec.seeds, spec.what_if
    base = ScenarioConfig(n_contexts=spec.workload.contexts, seed=seeds.workload, benchmark=m.benchmark, model=m.name,
                          prices=spec.prices.book, rho_predictability=spec.scenario.rho_predictability)  # fmt: skip
    with job.step("train under the base prices and query rate"):
        scenario = build_scenario(base, progress=ctx.progress)
        original = train_learned_policy(scenario, name=ORIGINAL)
    with job.step("the what-if scenario"):
        rate = wi.query_rate
        other = dataclasses.replace(base, prices=wi.prices, domain_query_means={d: v * rate for d, v in DOMAIN_QUERY_MEANS.items()})  # fmt: skip
        what_if = build_scenario(other, progress=ctx.progress)
        retrained = train_learned_policy(what_if, name=RETRAINED)
    c = compare_policies(what_if.env, what_if.test, learned=[original, retrained], seed=seeds.bootstrap, progress=job.start)  # fmt: skip
    with job.step("report"):
        point = c.operating_point
        figs = [Figure(plot_pareto(c.rows, folder / "pareto.png", title=f"Under {wi.prices}, query rate x{rate:g} (simulated)", reference=point.best_static),
                       "Policies under the what-if prices and query rate", "Fixed strategies, the policy trained under the base prices, a retrained one, and the oracles.", wide=True)]  # fmt: skip
        for book, fname in (
            (spec.prices.book, "amortization_base.png"),
            (wi.prices, "amortization_what_if.png"),
        ):
            sweep = amortization_sweep(what_if.env.outcome, load_price_book(book), m.name, n_contexts=1000, seed=seeds.workload)  # fmt: skip
            figs.append(Figure(plot_amortization(sweep, folder / fname), f"Cost per query by queries per context, {book} prices",
                               "Sleep-time (one rewrite) at each budget, in units of one test-time output token (simulated)."))  # fmt: skip
        a, b = c.learned[ORIGINAL], c.learned[RETRAINED]
        tables = [Table(f"Under {wi.prices} prices, query rate x{rate:g} (simulated)", ROW_COLUMNS, [row_cells(r) for r in c.rows]),
                  Table(f"Against the best fixed strategy under the what-if ({point.best_static})", ["policy", "cost change at equal accuracy", "accuracy gain at equal cost", "oracle gap closed"],
                        [[n, cost_change(s.cost_reduction_at_equal_accuracy), f"{s.accuracy_gain_at_equal_cost:+.3f}", f"{s.oracle_gap_closed:.2f}"] for n, s in ((ORIGINAL, a), (RETRAINED, b))],
                        caption="Negative is cheaper.")]  # fmt: skip
        headline = (f"Simulated: under {wi.prices} prices and x{rate:g} the query rate, the policy trained on {spec.prices.book} changes cost at equal accuracy by "
                    f"{cost_change(a.cost_reduction_at_equal_accuracy)} against the best fixed strategy; retrained, {cost_change(b.cost_reduction_at_equal_accuracy)}.")  # fmt: skip
        report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                        notes=["The base policy keeps the cost tables it was trained with; it is swept over lam under the new prices, so only its predictions of accuracy carry over."],
                        commands=[command_line()], spec_text=spec.text)  # fmt: skip
    summary = {n: {k: v for k, v in s.to_json().items() if k != "decision_breakdown"} for n, s in ((ORIGINAL, a), (RETRAINED, b))}  # fmt: skip
    return RunOutput(report, headline, {"simulated": True, "summary": summary, "best_static": point.best_static})  # fmt: skip
