"""The policy experiment's result and its report: headline, figures and tables (presentation
only; the numbers come from :mod:`sleeptime.experiments._policy_run`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sleeptime.experiments._compare import headline_policy
from sleeptime.experiments._scenario import Scenario
from sleeptime.policy import Comparison, Group, LearnedPolicy, PolicyRow
from sleeptime.reporting import Figure, Report, Table, command_line, cost_change, interval

if TYPE_CHECKING:
    from sleeptime.experiments._running import RunContext


@dataclass(frozen=True)
class StudyOutcome:
    """The study's name, its completed trials, its Pareto front and the trial chosen for export
    (the most accurate within the budget)."""

    name: str
    trials: tuple[Any, ...]
    front: tuple[Any, ...]
    best: Any


@dataclass(frozen=True)
class PolicyExperiment:
    """Everything a policy experiment computed (simulated)."""

    scenario: Scenario
    policies: tuple[LearnedPolicy, ...]
    comparison: Comparison
    study: StudyOutcome
    export: dict[str, Any]


#: Columns of a table of policy rows: (header, value of a row).
ROW_COLUMNS = ("policy", "group", "accuracy", "95% CI", "USD / 1k queries", "test tokens / query",
               "sleep tokens / context", "latency p95 (s)")  # fmt: skip


def row_cells(r: PolicyRow) -> list[object]:
    lo, hi = r.accuracy_ci95
    return [r.name, r.group, r.accuracy, interval((lo, hi)), r.usd_per_1k_queries, r.test_tokens_per_query,
            r.sleep_tokens_per_context, r.latency_p95_s]  # fmt: skip


def policy_headline(c: Comparison, *, exported: str | None = None) -> str:
    """The run's closing sentence: the best learned policy (and the other), the two oracles."""
    best = headline_policy(c)
    point = c.operating_point
    if best is None:
        return (
            f"Simulated: best fixed strategy {point.best_static} at accuracy {point.accuracy:.3f}."
        )
    s = c.learned[best]
    lo, hi = s.cost_reduction_at_reaching_point_ci95

    def spends(reduction: float) -> str:
        return f"{abs(reduction):.1%} {'less' if reduction >= 0 else 'more'}"

    label = {"learned": "the learned policy", "learned-cheap": "the learned policy on cheap features"}.get(best, best)  # fmt: skip
    exported_note = " (the one exported)" if best == exported else ""
    variants = {"learned": "on all features (learned)", "learned-cheap": "on cheap features (learned-cheap)"}  # fmt: skip
    others = [f"{variants.get(n, n)} it spends {spends(o.cost_reduction_at_equal_accuracy)}" for n, o in c.learned.items() if n != best]  # fmt: skip
    blind = s.count_blind_oracle_cost_reduction_at_equal_accuracy
    return (
        f"Simulated: {label}{exported_note} spends {spends(s.cost_reduction_at_equal_accuracy)} per query than the best fixed strategy "
        f"({point.best_static}) at equal accuracy ({point.accuracy:.3f}), mixing two of its operating points; its first single operating "
        f"point that reaches that accuracy spends {spends(s.cost_reduction_at_reaching_point)} (95% interval {spends(lo)} to {spends(hi)})"
        + (f"; {', '.join(others)}" if others else "")
        + f". The oracle, which sees the simulator's latents and each context's realized number of queries, spends {s.oracle_cost_reduction_at_equal_accuracy:.1%} less"
        + (f", and {blind:.1%} less when it only knows the expected number of queries, as a policy does." if blind is not None else ".")
    )  # fmt: skip


def _figures(ctx: RunContext, result: PolicyExperiment) -> list[Figure]:
    from sleeptime.reporting import (
        plot_amortization,
        plot_decisions,
        plot_pareto,
        plot_quintiles,
        plot_test_tokens,
    )
    from sleeptime.simulators import (
        amortization_sweep,
        load_price_book,
        paper_quintile_gains,
        quintile_gains,
    )

    spec, folder, c = ctx.spec, ctx.folder, result.comparison
    env, m = result.scenario.env, spec.model
    book = load_price_book(spec.prices.book)
    curves: dict[str, list[tuple[float, float]]] = {}
    for r in c.fixed_rows:
        level = r.name[len("fixed(") :].split(",")[0]
        curves.setdefault(level, []).append((r.test_tokens_per_query, r.accuracy))
    figs = [
        Figure(plot_pareto(c.rows, folder / "pareto.png", title=f"Policies on held-out templates, {m.name} (simulated)", reference=c.operating_point.best_static),
               "Pareto front of all policies with the oracles",
               f"Accuracy against USD per 1,000 queries on held-out templates; bars are 95% bootstrap intervals; the dashed line is the front; {c.operating_point.best_static}, the operating point, is in bold. Fixed strategies are coloured by sleep level and marked by budget.", wide=True),
        Figure(plot_test_tokens(curves, folder / "test_tokens.png", title=f"{m.name}: accuracy vs test-time tokens (simulated)"),
               "Accuracy vs test-time tokens, with and without sleep-time", "Each fixed strategy on the held-out contexts (points b0, b1, b2 from left to right); sleep-time lines use c' when it is ready before the query."),
        Figure(plot_amortization(amortization_sweep(env.outcome, book, m.name, n_contexts=1000, seed=spec.seeds.workload), folder / "amortization.png"),
               "Cost per query by queries per context",
               f"Sleep-time (one rewrite) at each budget, {spec.prices.book} prices, in units of one test-time output token; every query after the work is done (simulated)."),
    ]  # fmt: skip
    items = result.scenario.test
    observed = quintile_gains(env.outcome, items, book, m.name, by="observed")
    latent = quintile_gains(env.outcome, items, book, m.name, by="latent")
    figs.append(Figure(plot_quintiles(observed, folder / "quintiles.png", paper=paper_quintile_gains(m.benchmark, m.name), latent=latent,
                                      title=f"{m.benchmark} / {m.name}, lowest budget, held-out queries"),
                       "Gain from sleep-time by predictability quintile",
                       "Accuracy with sleep-time minus test-only at the lowest budget (simulated), by quintile of each held-out query's observed log p(q | c) under the default LM, as the paper binned (it used a larger LM); "
                       "the digitized bars are the paper's; the markers bin the same queries by the simulator's latent predictability, the scale the outcome model is calibrated on (observed and latent correlate at the spec's rho)."))  # fmt: skip
    name = headline_policy(c)
    if name is not None and c.learned[name].decision_breakdown:
        _sleep, test = c.swept[name].at_equal_accuracy
        shares = {b: float(np.mean(test == k)) for k, b in enumerate(env.outcome.budgets)}
        figs.append(Figure(plot_decisions(c.learned[name].decision_breakdown or {}, shares, folder / "decisions.png",
                                          title=f"What {name} decided (simulated)"),
                           f"What {name} decided, and for which contexts",
                           f"At the accuracy of {c.operating_point.best_static}: share of held-out contexts given sleep-time compute by tercile of expected queries and of predicted predictability, and the share of queries per budget.", wide=True))  # fmt: skip
    return figs


def _tables(ctx: RunContext, result: PolicyExperiment) -> list[Table]:
    c, study, spec = result.comparison, result.study, ctx.spec
    point = c.operating_point
    hl = [i for i, r in enumerate(c.rows) if r.name == point.best_static or (r.group in (Group.LEARNED, Group.ORACLE, Group.COUNT_BLIND) and "equal accuracy" in r.name)]  # fmt: skip
    tables = [Table("Results on held-out templates (simulated)", ROW_COLUMNS, [row_cells(r) for r in c.rows],
                    caption="Accuracy intervals: 95% bootstrap over contexts. For the learned policies and the oracles, '@ equal accuracy' is the first point of their lam sweep that reaches the best fixed strategy's accuracy and '@ equal cost' the most accurate point within its cost.",
                    highlight=hl)]  # fmt: skip
    rows = []
    for name, s in c.learned.items():
        lo, hi = s.cost_reduction_at_reaching_point_ci95
        glo, ghi = s.accuracy_gain_ci95
        rows.append([name, cost_change(s.cost_reduction_at_equal_accuracy), cost_change(s.cost_reduction_at_reaching_point), f"{cost_change(hi)} to {cost_change(lo)}",
                     f"{s.accuracy_gain_at_equal_cost:+.3f}", f"{glo:+.3f} to {ghi:+.3f}", f"{s.oracle_gap_closed:.2f}", cost_change(s.oracle_cost_reduction_at_equal_accuracy),
                     "n/a" if s.count_blind_gap_closed is None else f"{s.count_blind_gap_closed:.2f}", cost_change(s.count_blind_oracle_cost_reduction_at_equal_accuracy)])  # fmt: skip
    tables.append(Table(f"Against the best fixed strategy ({point.best_static}, accuracy {point.accuracy:.3f}, {point.usd_per_1k:.4f} USD / 1k)",
                        ["policy", "cost change at equal accuracy", "cost change at the first point reaching it", "95% CI (that point)", "accuracy gain at equal cost",
                         "95% CI", "oracle gap closed", "oracle cost change", "count-blind gap closed", "count-blind oracle cost change"], rows,
                        caption="Negative is cheaper. 'At equal accuracy' mixes the two points of the policy's lam sweep around the fixed strategy's accuracy (a share of contexts at each reaches it exactly: the headline's number); "
                                "'the first point reaching it' is one lam alone, which overshoots the accuracy and so saves less; its interval is a paired bootstrap over held-out contexts. "
                                "The count-blind oracle sees every latent and arrival time but, like any policy deciding before the queries come, only the expected number of queries per context: "
                                "the part of the oracle's saving beyond it comes from knowing realized query counts."))  # fmt: skip
    points = c.operating_points()
    names = list(c.swept)
    tables.append(Table("Cost change at equal accuracy against every fixed strategy on the fixed Pareto front (simulated)", ["fixed strategy", "accuracy", *names],
                        [[p.fixed, p.accuracy, *(cost_change(-p.cost_change_at_equal_accuracy[n]) for n in names)] for p in points],
                        caption="Negative is cheaper; n/a where the policy never reaches that accuracy.",
                        highlight=[i for i, p in enumerate(points) if p.fixed == point.best_static]))  # fmt: skip
    best = headline_policy(c)
    sensitivity = c.learned[best].decision_sensitivity if best else None
    if sensitivity:
        tables.append(Table(f"What {best}'s sleep decision follows (simulated, held-out contexts)", ["input moved (the rest of each context kept)", "lower", "as is", "higher"],
                            [[f"{feature} ({', '.join(by)})", *(f"{v:.0%}" for v in by.values())] for feature, by in sensitivity.items()],
                            caption="Share of contexts given sleep-time compute at the lam of the equal-accuracy point. Across contexts, predicted predictability is correlated with other inputs (context length, domain), so the breakdown by tercile mixes their effects; this table moves one input at a time."))  # fmt: skip
    tables.append(Table(f"Optuna study '{study.name}' ({len(study.trials)} trials, validation templates): Pareto front",
                        ["trial", "lam", "learning rate", "max leaf nodes", "accuracy", "USD / 1k queries"],
                        [[t.number, t.params["lam"], t.params["learning_rate"], t.params["max_leaf_nodes"], t.values[0], 1000 * t.values[1]] for t in study.front],
                        highlight=[study.front.index(study.best)]))  # fmt: skip
    if result.export:
        f = result.export["fidelity"]
        tables.append(Table("Exported policy (the study's best within budget, cheap features)", ["", "value"],
                            [["artifact", "policy.json"], ["trees fitted on", f["transfer_set"]], ["target USD / 1k queries", spec.policies.budget_usd_per_1k],
                             ["held-out USD / 1k (learned)", f["learned_usd_per_1k"]], ["held-out accuracy (learned)", f["learned_accuracy"]],
                             ["held-out USD / 1k (exported trees)", f["exported_usd_per_1k"]], ["held-out accuracy (exported trees)", f["exported_accuracy"]],
                             ["budget agreement", f["budget_agreement"]], ["sleep agreement", f["sleep_agreement"]]]))  # fmt: skip
    return tables


def policy_report(ctx: RunContext, result: PolicyExperiment, headline: str) -> Report:
    from sleeptime.simulators import MultiModelOutcome

    spec = ctx.spec
    return Report(
        title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description,
        figures=_figures(ctx, result), tables=_tables(ctx, result),
        notes=[
            "Every number here is simulated: outcome models calibrated to points digitized from the paper's figures; the LM features (log p(q | c), context entropy) are computed for real under the default model.",
            f"Held-out templates: {', '.join(result.scenario.test_templates)}. The learned policies never saw them in training.",
            f"Model {spec.model.models or spec.model.name} on {spec.model.benchmark} curves; price book {spec.prices.book} (sleep-time at the batch discount)."
            + (f" Actions across models; assumption: {o.describe()['transfer_assumption']}." if isinstance(o := result.scenario.env.outcome, MultiModelOutcome) else ""),
            "The oracle knows each item's latent difficulty and predictability and each context's actual number of queries; no real policy can, so it bounds what is reachable. "
            "The count-blind oracle knows the same latents but only each context's expected number of queries: a policy that decides sleep-time work before the queries come cannot know more about the count, so the gap between the two oracles is out of any policy's reach here.",
        ],
        commands=[command_line(), f"sleeptime run {spec.path or 'experiments/' + spec.name + '.toml'}"],
        spec_text=spec.text,
    )  # fmt: skip
