"""Running an experiment spec end to end: simulate, compare, search, export, report, track."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.experiments._report import (  # fmt: skip
    Figure,
    Report,
    Table,
    command_line,
    table_from_rows,
    write_report,
)
from sleeptime.experiments._spec import ExperimentSpec

POLICY_COLUMNS = (
    ("name", "policy"), ("group", "group"), ("accuracy", "accuracy"), ("ci95", "95% CI"),
    ("usd_per_1k_queries", "USD / 1k queries"), ("test_tokens_per_query", "test tokens / query"),
    ("sleep_tokens_per_context", "sleep tokens / context"), ("latency_p95_s", "latency p95 (s)"),
)  # fmt: skip


@dataclass
class Stages:
    """A progress bar over the steps of a run (each slow step also has its own bar)."""

    bar: Any
    started: float

    @classmethod
    def start(cls, name: str, steps: int, progress: bool) -> Stages:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=name, unit="step", disable=not progress, leave=False)
        return cls(bar, time.perf_counter())

    def step(self, label: str) -> None:
        self.bar.set_postfix_str(label)
        self.bar.refresh()

    def done(self) -> None:
        self.bar.update(1)

    def close(self) -> float:
        self.bar.close()
        return time.perf_counter() - self.started


def _ci(row: Mapping[str, Any]) -> str:
    lo, hi = row.get("accuracy_ci95", (float("nan"), float("nan")))
    return f"{lo:.3f}–{hi:.3f}"


def _policy_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "ci95": _ci(r)} for r in rows]


def _fixed_curves(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    curves: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        name = str(r["name"])
        if name.startswith("fixed("):
            level = name[len("fixed(") :].split(",")[0]
            curves.setdefault(level, []).append((float(r["test_tokens_per_query"]), float(r["accuracy"])))  # fmt: skip
    return curves


def _pct(x: float) -> str:
    return f"{x:+.1%}"


# ---------------------------------------------------------------------------------- policy
def run_policy(spec: ExperimentSpec, folder: Path, stages: Stages, progress: bool, run_id: str) -> tuple[Report, dict[str, Any]]:  # fmt: skip
    """The main job: scenario, baselines, learned policies, a small study, export, report."""
    from sleeptime.experiments._export import export_policy, train_for_budget
    from sleeptime.experiments._scenario import (  # fmt: skip
        CHEAP_POLICY_FEATURES,
        ScenarioConfig,
        build_scenario,
        train_learned_policy,
    )
    from sleeptime.experiments._study import MLflowTrialLogger, PolicySearch, run_study
    from sleeptime.experiments._tracking import log_metrics
    from sleeptime.policy import ThresholdPolicy, compare_policies, paper_policy
    from sleeptime.simulators import load_price_book
    from sleeptime.simulators._figures import amortization_sweep, late_items, quintile_gains
    from sleeptime.simulators._plots import (  # fmt: skip
        plot_amortization,
        plot_decisions,
        plot_pareto,
        plot_quintiles,
        plot_test_tokens,
    )

    w, m, seeds = spec["workload"], spec["model"], spec["seeds"]
    stages.step("workload, LM features (cached), calibrated outcomes")
    config = ScenarioConfig(
        n_contexts=w["contexts"], seed=seeds["workload"], benchmark=m["benchmark"], model=m["name"],
        prices=spec["prices"]["book"], rho_predictability=spec["scenario"]["rho_predictability"],
        test_share=spec["scenario"]["test_share"],
    )  # fmt: skip
    scenario = build_scenario(config, progress=progress)
    env = scenario.env
    stages.done()

    stages.step("learned policies")
    learned = []
    if spec["policies"]["learned"]:
        learned.append(train_learned_policy(scenario))
    if spec["policies"]["cheap"]:
        learned.append(train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, name="learned-cheap"))  # fmt: skip
    threshold = ThresholdPolicy(float(np.median(scenario.train.context_features["predicted_predictability"])), 3.0)  # fmt: skip
    stages.done()

    stages.step("baselines, learned and oracle on held-out templates")
    result = compare_policies(env, scenario.test, learned=learned, extra=[paper_policy(), threshold], budget_usd_per_1k=spec["policies"]["budget_usd_per_1k"], seed=seeds["bootstrap"])  # fmt: skip
    s = result["summary"]
    stages.done()

    stages.step("Optuna study")
    search = PolicySearch(scenario, features=CHEAP_POLICY_FEATURES)
    study_name = spec["study"]["name"] or f"{spec.name}-{run_id[:8]}"
    study = run_study(search, n_trials=spec["study"]["trials"], study_name=study_name, seed=seeds["study"],
                      callbacks=[MLflowTrialLogger()], progress=progress)  # fmt: skip
    trials = [t for t in study.trials if t.values is not None]
    front = sorted(study.best_trials, key=lambda t: t.values[1])
    budget = spec["policies"]["budget_usd_per_1k"]
    within = [t for t in front if 1000 * t.values[1] <= budget]
    best = max(within, key=lambda t: t.values[0]) if within else front[0]
    stages.done()

    stages.step("export the best policy")
    exported: dict[str, Any] = {}
    if spec["export"]["enabled"]:
        hp = {"learning_rate": best.params["learning_rate"], "max_leaf_nodes": best.params["max_leaf_nodes"]}  # fmt: skip
        policy, info = train_for_budget(
            scenario, CHEAP_POLICY_FEATURES, budget, tables=result["tables"], **hp
        )
        artifact, _ = export_policy(scenario, policy, folder / "policy.json", config={**spec.to_params(), **hp}, mlflow_run_id=run_id, tables=result["tables"])  # fmt: skip
        exported = {"path": str(folder / "policy.json"), **info, "fidelity": artifact["fidelity"], "hyper_parameters": hp}  # fmt: skip
    stages.done()

    stages.step("figures and report")
    figs: list[Figure] = []
    rows = result["policies"]
    pareto_rows = [r for r in rows if "equal" in r["name"] or r["group"] != "learned"]
    figs.append(Figure(plot_pareto(pareto_rows, folder / "pareto.png", title=f"Policies on held-out templates, {m['name']} (simulated)"),
                       "Pareto front of all policies with the oracle", "Accuracy against USD per 1,000 queries on held-out templates; bars are 95% bootstrap intervals; the dashed line is the front."))  # fmt: skip
    figs.append(Figure(plot_test_tokens(_fixed_curves(rows), folder / "test_tokens.png", title=f"{m['name']}: accuracy vs test-time tokens (simulated)"),
                       "Accuracy vs test-time tokens, with and without sleep-time", "Each fixed strategy on the held-out contexts; sleep-time lines use c' when it is ready before the query."))  # fmt: skip
    book = load_price_book(spec["prices"]["book"])
    amort = amortization_sweep(
        env.outcome, book, m["name"], n_contexts=1000, seed=seeds["workload"]
    )
    figs.append(Figure(plot_amortization(amort, folder / "amortization.png"), "Cost per query by queries per context",
                       f"Sleep-time (one rewrite) at each budget, {spec['prices']['book']} prices, in units of one test-time output token; every query after the work is done (simulated)."))  # fmt: skip
    gains = quintile_gains(env.outcome, late_items(2000, seed=seeds["workload"]), book, m["name"])
    figs.append(Figure(plot_quintiles(gains, folder / "quintiles.png", title=f"{m['benchmark']} / {m['name']}, lowest budget"),
                       "Gain from sleep-time by predictability quintile", "Accuracy with sleep-time minus test-only at the lowest budget, by quintile of the simulator's latent predictability (simulated)."))  # fmt: skip
    headline_name = learned[0].name if learned else None
    decided: dict[str, Any] = {}
    if headline_name:
        sleep, test = result["decisions"][headline_name]["equal_accuracy"]
        breakdown = s[headline_name].get("decision_breakdown", {})
        shares = {b: float(np.mean(test == k)) for k, b in enumerate(env.outcome.budgets)}
        decided = {"decision_breakdown": breakdown, "budget_shares": shares, "sleep_share": float(np.mean(sleep > 0))}  # fmt: skip
        figs.append(Figure(plot_decisions(breakdown, shares, folder / "decisions.png"), "What the learned policy decided, and for which contexts",
                           f"At the accuracy of {s['best_static']}: share of held-out contexts given sleep-time compute by tercile of expected queries and of predicted predictability, and the share of queries per budget.", wide=True))  # fmt: skip

    sensitivity = s[headline_name].get("decision_sensitivity", {}) if headline_name else {}
    tables = [table_from_rows("Results on held-out templates (simulated)", _policy_rows(rows), POLICY_COLUMNS,
                              caption="Accuracy intervals: 95% bootstrap over contexts. For the learned policies and the oracle, '@ equal accuracy' is the first point of their lam sweep that reaches the best fixed strategy's accuracy and '@ equal cost' the most accurate point within its cost; the headline interpolates between sweep points (a mix of two lam values reaches the accuracy exactly).",
                              highlight=[i for i, r in enumerate(rows) if r["group"] in ("learned", "oracle", "oracle (count-blind)") and "equal accuracy" in r["name"]])]  # fmt: skip
    summary_rows = []
    for name in (p.name for p in learned):
        d = s[name]
        lo, hi = d["cost_reduction_at_reaching_point_ci95"]
        glo, ghi = d["accuracy_gain_ci95"]
        summary_rows.append([name, _pct(d["cost_reduction_at_equal_accuracy"]), f"{_pct(lo)} to {_pct(hi)}", f"{d['accuracy_gain_at_equal_cost']:+.3f}",
                             f"{glo:+.3f} to {ghi:+.3f}", f"{d['oracle_gap_closed']:.2f}", _pct(d["oracle_cost_reduction_at_equal_accuracy"]),
                             f"{d.get('count_blind_gap_closed', float('nan')):.2f}", _pct(d.get("count_blind_oracle_cost_reduction_at_equal_accuracy", float("nan")))])  # fmt: skip
    tables.append(Table(f"Against the best fixed strategy ({s['best_static']})",
                        ["policy", "cost reduction at equal accuracy", "95% CI (reaching point)", "accuracy gain at equal cost", "95% CI", "oracle gap closed", "oracle cost reduction",
                         "count-blind gap closed", "count-blind oracle cost reduction"],
                        summary_rows, caption="Cost at equal accuracy is read off each policy's lam sweep; intervals are a paired bootstrap over held-out contexts. "
                                              "The count-blind oracle sees every latent and arrival time but, like any policy deciding before the queries come, only the expected number of queries per context: "
                                              "the part of the oracle's saving beyond it comes from knowing realized query counts."))  # fmt: skip
    if sensitivity:
        tables.append(Table(f"What {headline_name}'s sleep decision follows (simulated, held-out contexts)", ["input moved (the rest of each context kept)", "lower", "as is", "higher"],
                            [[f"{feature} ({', '.join(by)})", *(f"{v:.0%}" for v in by.values())] for feature, by in sensitivity.items()],
                            caption="Share of contexts given sleep-time compute at the lam of the equal-accuracy point. Across contexts, predicted predictability is correlated with other inputs (context length, domain), so the breakdown by tercile mixes their effects; this table moves one input at a time."))  # fmt: skip
    tables.append(Table(f"Optuna study '{study_name}' ({len(trials)} trials, validation templates): Pareto front",
                        ["trial", "lam", "learning rate", "max leaf nodes", "accuracy", "USD / 1k queries"],
                        [[t.number, t.params["lam"], t.params["learning_rate"], t.params["max_leaf_nodes"], t.values[0], 1000 * t.values[1]] for t in front],
                        highlight=[front.index(best)]))  # fmt: skip
    if exported:
        f = exported["fidelity"]
        tables.append(Table("Exported policy (the study's best within budget, cheap features)",
                            ["", "value"],
                            [["artifact", "policy.json"], ["trees fitted on", f["transfer_set"]], ["target USD / 1k queries", budget], ["held-out USD / 1k (learned)", f["learned_usd_per_1k"]],
                             ["held-out accuracy (learned)", f["learned_accuracy"]], ["held-out USD / 1k (exported trees)", f["exported_usd_per_1k"]],
                             ["held-out accuracy (exported trees)", f["exported_accuracy"]], ["budget agreement", f["budget_agreement"]], ["sleep agreement", f["sleep_agreement"]]]))  # fmt: skip

    if headline_name:
        d = s[headline_name]
        headline = (f"Simulated: the learned policy spends {abs(d['cost_reduction_at_equal_accuracy']):.1%} {'less' if d['cost_reduction_at_equal_accuracy'] >= 0 else 'more'} per query "
                    f"than the best fixed strategy ({s['best_static']}) at equal accuracy ({s['best_static_accuracy']:.3f}); "
                    f"the oracle, which sees the simulator's latents and each context's realized number of queries, spends {d['oracle_cost_reduction_at_equal_accuracy']:.1%} less"
                    + (f", and {d['count_blind_oracle_cost_reduction_at_equal_accuracy']:.1%} less when it only knows the expected number of queries, as a policy does." if "count_blind_oracle_cost_reduction_at_equal_accuracy" in d else "."))  # fmt: skip
    else:
        headline = f"Simulated: best fixed strategy {s['best_static']} at accuracy {s['best_static_accuracy']:.3f}."
    log_metrics({"best_static_accuracy": s["best_static_accuracy"], "trials": len(trials),
                 **{f"{n}.{k}": v for n in (p.name for p in learned) for k, v in s[n].items() if isinstance(v, float)}})  # fmt: skip
    report = Report(
        title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description,
        figures=figs, tables=tables,
        notes=[
            "Everything here is simulated: outcomes come from models calibrated to the paper's digitized figures (see the README), not from calls to an LLM.",
            f"Workload: {scenario.workload.n_contexts} built-in contexts; {len(scenario.test_templates)} templates held out for evaluation (none seen in training).",
            f"Model {m['name']} on {m['benchmark']} curves; price book {spec['prices']['book']} (sleep-time at the batch discount).",
            "The oracle knows each item's latent difficulty and predictability and each context's actual number of queries; no real policy can, so it bounds what is reachable. "
            "The count-blind oracle knows the same latents but only each context's expected number of queries: a policy that decides sleep-time work before the queries come cannot know more about the count, so the gap between the two oracles is out of any policy's reach here.",
        ],
        commands=[command_line(), f"sleeptime run {spec.path or 'experiments/' + spec.name + '.toml'}"],
        spec_text=spec.text,
    )  # fmt: skip
    out = {
        "simulated": True,
        "policies": [
            {
                k: r[k]
                for k in (
                    "name",
                    "group",
                    "accuracy",
                    "usd_per_query",
                    "test_tokens_per_query",
                    "sleep_tokens_per_context",
                    "latency_p95_s",
                )
            }
            for r in rows
        ],
        "summary": {k: v for k, v in s.items() if not isinstance(v, dict)}
        | {
            n: {k: v for k, v in s[n].items() if k != "decision_breakdown"}
            for n in (p.name for p in learned)
        },
        "decisions": decided,
        "study": {"name": study_name, "trials": len(trials), "best_trial": best.number},
        "export": exported,
        "headline": headline,
    }
    stages.done()
    return report, out


# ---------------------------------------------------------------------------------- paper figures
def _paper_curves(benchmark: str, model: str, n: int, seed: int) -> tuple[dict[str, list[tuple[float, float]]], dict[str, list[tuple[float, float]]], Any]:  # fmt: skip
    """Simulated (tokens, accuracy) per sleep level and the digitized points per condition."""
    from sleeptime.simulators import fixed_actions, list_prices_2025, replay
    from sleeptime.simulators._figures import late_items, paper_calibration, paper_outcome_model

    outcome = paper_outcome_model(benchmark, model)
    items = late_items(n, queries=1, seed=seed)
    curves: dict[str, list[tuple[float, float]]] = {}
    for s, level in enumerate(outcome.sleep_levels):
        for b in range(len(outcome.budgets)):
            sleep, test = fixed_actions(items, s, b)
            agg = replay(items, sleep_action=sleep, test_action=test, outcome=outcome, prices=list_prices_2025(),
                         model=model, bootstrap=0, return_traces=False).aggregates  # fmt: skip
            curves.setdefault(level.name, []).append(
                (agg["test_tokens_per_query"], agg["accuracy"])
            )
    cal = paper_calibration()
    paper = {}
    for cond, key in (("test_only", "none"), ("sleep_time", outcome.sleep_levels[1].name)):
        c = cal.curve(benchmark, model, cond)
        paper[key] = list(zip(c.tokens, c.accuracy, strict=True))
    return curves, paper, outcome


def run_paper(spec: ExperimentSpec, folder: Path, stages: Stages, progress: bool, run_id: str) -> tuple[Report, dict[str, Any]]:  # fmt: skip
    """The paper's Figs. 3 and 10 (GSM) or Fig. 4 (AIME) in simulation, beside the digitized points."""
    from sleeptime.simulators import list_prices_2025
    from sleeptime.simulators._calibration import read_quintiles
    from sleeptime.simulators._figures import (
        late_items,
        paper_calibration,
        paper_data,
        quintile_gains,
    )
    from sleeptime.simulators._plots import plot_calibration, plot_quintiles, plot_test_tokens

    m, seeds = spec["model"], spec["seeds"]
    aime = spec.kind == "paper_aime"
    n = max(200, spec["workload"]["contexts"] * 4)
    stages.step("calibration")
    cal = paper_calibration()
    figs = [Figure(plot_calibration(cal, folder / "calibration.png"), "The paper's test-time scaling curves, fitted",
                   "Digitized points (markers) and the fitted saturating curves in log tokens, every panel of Figs. 3 and 4.", wide=True)]  # fmt: skip
    stages.done()
    stages.step("simulate fixed strategies")
    curves, paper, outcome = _paper_curves(m["benchmark"], m["name"], n, seeds["workload"])
    figs.append(Figure(plot_test_tokens(curves, folder / "test_tokens.png", paper=paper, title=f"{m['benchmark']} / {m['name']}"),
                       f"Fig. {4 if aime else 3} in simulation", "Simulated accuracy per sleep-time setting (lines) and the paper's digitized points (open markers; its sleep-time points are drawn in the color of the lowest sleep level)."))  # fmt: skip
    stages.done()
    stages.step("predictability quintiles")
    rows = []
    quint: dict[str, Any] = {}
    if not aime:
        gains = quintile_gains(
            outcome, late_items(n, seed=seeds["workload"]), list_prices_2025(), m["name"]
        )
        digitized = read_quintiles(paper_data("predictability_quintiles")).get(
            (m["benchmark"], m["name"])
        )
        figs.append(Figure(plot_quintiles(gains, folder / "quintiles.png", paper=digitized, title=f"{m['benchmark']} / {m['name']}, lowest budget"),
                           "Fig. 10 in simulation", "Gain from sleep-time by quintile of predictability: simulated bars, digitized markers."))  # fmt: skip
        quint = {"simulated": gains, "digitized": list(digitized) if digitized else None}
        rows.append(Table("Gain by predictability quintile", ["", "Q1", "Q2", "Q3", "Q4", "Q5"],
                          [["simulated", *gains]] + ([["digitized (Fig. 10)", *digitized]] if digitized else [])))  # fmt: skip
    stages.done()
    stages.step("report")
    pts = []
    for level, values in curves.items():
        for b, (tok, acc) in enumerate(values):
            pts.append([level, f"level-{b}", tok, acc])
    savings = [r for r in cal.token_savings() if ("aime" in r["benchmark"]) == aime]
    tables = [Table(f"Simulated accuracy per (sleep level, budget): {m['name']}", ["sleep level", "budget", "test tokens / query", "accuracy"], pts),
              Table("Test-time tokens saved at equal accuracy (the paper's headline ratio)", ["benchmark", "model", "ratio (fitted)", "ratio (digitized)"],
                    [[r["benchmark"], r["model"], r["ratio"], r["ratio_digitized"]] for r in savings]), *rows]  # fmt: skip
    best = max(savings, key=lambda r: r["ratio"]) if savings else None
    headline = (f"Simulated from the digitized figures: sleep-time reaches the same accuracy with up to {best['ratio']:.1f}x fewer test-time tokens "
                f"({best['benchmark']} / {best['model']}; digitized {best['ratio_digitized']:.1f}x).") if best else "Calibration of the paper's curves."  # fmt: skip
    report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                    notes=["Markers are digitized from the paper's figures; lines and bars are simulated by the calibrated outcome model."],
                    commands=[command_line()], spec_text=spec.text)  # fmt: skip
    stages.done()
    return report, {
        "simulated": True,
        "curves": curves,
        "token_savings": savings,
        "quintiles": quint,
        "headline": headline,
    }


# ---------------------------------------------------------------------------------- amortization
def run_amortization(spec: ExperimentSpec, folder: Path, stages: Stages, progress: bool, run_id: str) -> tuple[Report, dict[str, Any]]:  # fmt: skip
    """Fig. 9: cost per query as queries per context grow, with the paper's abstract cost and the spec's price book."""
    from sleeptime.simulators import load_price_book, paper_abstract_prices
    from sleeptime.simulators._figures import (
        amortization_ratio,
        amortization_sweep,
        paper_amortization_points,
        paper_outcome_model,
    )
    from sleeptime.simulators._plots import plot_amortization

    m, seeds = spec["model"], spec["seeds"]
    outcome = paper_outcome_model(m["benchmark"], m["name"])
    n = max(200, spec["workload"]["contexts"] * 4)
    stages.step("paper's abstract cost")
    abstract = amortization_sweep(
        outcome, paper_abstract_prices(), m["name"], n_contexts=n, seed=seeds["workload"]
    )
    paper_rows = paper_amortization_points(m["benchmark"], m["name"])
    figs = [Figure(plot_amortization(abstract, folder / "amortization_abstract.png", paper=paper_rows), "Fig. 9 in simulation (the paper's abstract cost)",
                   "Cost per query in test-token units, a test token costing ten sleep-time tokens; digitized points as markers.")]  # fmt: skip
    stages.done()
    stages.step(f"{spec['prices']['book']} prices")
    listed = amortization_sweep(outcome, load_price_book(spec["prices"]["book"]), m["name"], n_contexts=n, seed=seeds["workload"])  # fmt: skip
    figs.append(Figure(plot_amortization(listed, folder / "amortization_prices.png"), f"The same with {spec['prices']['book']} prices",
                       "Sleep-time work through the batch API at its discount; cost in units of one test-time output token."))  # fmt: skip
    stages.done()
    stages.step("report")

    ra, rl, rp = (
        amortization_ratio(abstract),
        amortization_ratio(listed),
        amortization_ratio(paper_rows),
    )
    tables = [Table("Cost per query, 1 vs 10 queries per context", ["budget", "abstract cost (simulated)", "digitized", f"{spec['prices']['book']} (simulated)"],
                    [[b, ra[b], rp.get(b, ""), rl.get(b, "")] for b in ra]),
              table_from_rows("Simulated cost per query", abstract, (("budget", "budget"), ("queries_per_context", "queries per context"), ("cost", "cost (test tokens)"), ("accuracy", "accuracy")))]  # fmt: skip
    first = next(iter(ra))
    headline = f"Simulated: with the paper's abstract cost, one query per context costs {ra[first]:.2f}x as much per query as ten at the lowest budget (digitized {rp.get(first, float('nan')):.2f}x)."  # fmt: skip
    report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                    notes=["Sleep-time work is shared by all queries of a context; every query here arrives after the work is done."],
                    commands=[command_line()], spec_text=spec.text)  # fmt: skip
    stages.done()
    return report, {
        "simulated": True,
        "ratio_1_to_10": {"abstract": ra, "digitized": rp, "prices": rl},
        "headline": headline,
    }


# ---------------------------------------------------------------------------------- what-if
def run_what_if(spec: ExperimentSpec, folder: Path, stages: Stages, progress: bool, run_id: str) -> tuple[Report, dict[str, Any]]:  # fmt: skip
    """The same learned policy under another price book and query rate, against retraining."""
    from sleeptime.experiments._scenario import (  # fmt: skip
        DOMAIN_QUERY_MEANS,
        ScenarioConfig,
        build_scenario,
        train_learned_policy,
    )
    from sleeptime.policy import compare_policies
    from sleeptime.simulators._plots import plot_pareto

    w, m, seeds, wi = spec["workload"], spec["model"], spec["seeds"], spec["what_if"]
    base = ScenarioConfig(n_contexts=w["contexts"], seed=seeds["workload"], benchmark=m["benchmark"], model=m["name"],
                          prices=spec["prices"]["book"], rho_predictability=spec["scenario"]["rho_predictability"])  # fmt: skip
    stages.step("train under the base prices and query rate")
    scenario = build_scenario(base, progress=progress)
    original = train_learned_policy(scenario, name="learned (trained on base)")
    stages.done()
    stages.step("the what-if scenario")
    rate = wi["query_rate"]
    other = ScenarioConfig(**{**base.__dict__, "prices": wi["prices"], "domain_query_means": {d: v * rate for d, v in DOMAIN_QUERY_MEANS.items()}})  # fmt: skip
    what_if = build_scenario(other, progress=progress)
    retrained = train_learned_policy(what_if, name="learned (retrained)")
    stages.done()
    stages.step("compare under the what-if prices")
    result = compare_policies(
        what_if.env, what_if.test, learned=[original, retrained], seed=seeds["bootstrap"]
    )
    s = result["summary"]
    stages.done()
    stages.step("report")
    rows = result["policies"]
    figs = [Figure(plot_pareto([r for r in rows if "equal" in r["name"] or r["group"] != "learned"], folder / "pareto.png", title=f"Under {wi['prices']}, query rate x{rate:g} (simulated)"),
                   "Policies under the what-if prices and query rate", "Fixed strategies, the policy trained under the base prices, a retrained one, and the oracle.")]  # fmt: skip
    from sleeptime.simulators import load_price_book
    from sleeptime.simulators._figures import amortization_sweep
    from sleeptime.simulators._plots import plot_amortization

    for book, fname in (
        (spec["prices"]["book"], "amortization_base.png"),
        (wi["prices"], "amortization_what_if.png"),
    ):
        sweep = amortization_sweep(
            what_if.env.outcome,
            load_price_book(book),
            m["name"],
            n_contexts=1000,
            seed=seeds["workload"],
        )
        figs.append(
            Figure(
                plot_amortization(sweep, folder / fname),
                f"Cost per query by queries per context, {book} prices",
                "Sleep-time (one rewrite) at each budget, in units of one test-time output token (simulated).",
            )
        )
    tables = [table_from_rows(f"Under {wi['prices']} prices, query rate x{rate:g} (simulated)", _policy_rows(rows), POLICY_COLUMNS),
              Table(f"Against the best fixed strategy under the what-if ({s['best_static']})", ["policy", "cost reduction at equal accuracy", "accuracy gain at equal cost", "oracle gap closed"],
                    [[n, _pct(s[n]["cost_reduction_at_equal_accuracy"]), f"{s[n]['accuracy_gain_at_equal_cost']:+.3f}", f"{s[n]['oracle_gap_closed']:.2f}"] for n in (original.name, retrained.name)])]  # fmt: skip
    a, b = s[original.name], s[retrained.name]
    headline = (f"Simulated: under {wi['prices']} prices and x{rate:g} the query rate, the policy trained on {spec['prices']['book']} changes cost at equal accuracy by "
                f"{-a['cost_reduction_at_equal_accuracy']:+.1%} against the best fixed strategy; retrained, {-b['cost_reduction_at_equal_accuracy']:+.1%}.")  # fmt: skip
    report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                    notes=["The base policy keeps the cost tables it was trained with; it is swept over lam under the new prices, so only its predictions of accuracy carry over."],
                    commands=[command_line()], spec_text=spec.text)  # fmt: skip
    stages.done()
    return report, {"simulated": True, "summary": {n: {k: v for k, v in s[n].items() if k != "decision_breakdown"} for n in (original.name, retrained.name)},
                    "best_static": s["best_static"], "headline": headline}  # fmt: skip


RUNNERS: dict[str, tuple[Callable[..., tuple[Report, dict[str, Any]]], int]] = {
    "policy": (run_policy, 6),
    "paper_gsm": (run_paper, 4),
    "paper_aime": (run_paper, 4),
    "amortization": (run_amortization, 3),
    "what_if_prices": (run_what_if, 4),
}


def run_experiment(
    spec: ExperimentSpec, *, out: str | Path | None = None, tracking_uri: str | None = None, progress: bool = True
) -> dict[str, Any]:  # fmt: skip
    """Run ``spec``; write its report (HTML and PNG) under ``out`` (default ``reports/NAME-TIME``)
    and log the resolved spec, metrics and report to MLflow. Returns the result with paths."""
    from sleeptime.experiments._tracking import log_file, log_json, mlflow_run

    runner, n_steps = RUNNERS[spec.kind]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else Path("reports") / f"{spec.name}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    stages = Stages.start(spec.name, n_steps, progress)
    with mlflow_run(
        spec.name, params=spec.to_params(), uri=tracking_uri, kind=f"run:{spec.kind}"
    ) as run:
        try:
            report, result = runner(spec, folder, stages, progress, run.info.run_id)
        finally:
            elapsed = stages.close()
        report.facts["mlflow_run_id"] = run.info.run_id
        path = write_report(report, folder)
        result.update(report=str(path), folder=str(folder), mlflow_run_id=run.info.run_id, seconds=elapsed, spec=spec.name, reduced=spec.reduced)  # fmt: skip
        import mlflow

        mlflow.log_text(spec.text, "spec.toml")
        log_json(result, "result.json")
        for file in sorted(folder.iterdir()):
            log_file(file, "report")
    return result
