"""``sleeptime compare``: every policy on held-out templates, at an operating point."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, learned_lines, number, policy_table
from sleeptime._lists import comma_list


def comparison_text(r: dict[str, Any]) -> str:
    d = r["details"]
    label = "measured" if r.get("measured") else "simulated"
    names = [n for n in d if isinstance(d[n], dict)]
    lines = [*policy_table(r["policies"]), ""]
    if r.get("measured"):
        lines[:0] = [f"{r['model']} on {r['contexts']['held_out']} held-out contexts ({r['queries_held_out']} queries; split by {r['split']}; "
                     f"{r['contexts']['train']} to train) of {r['traces']}; measured; USD: {r['prices']}", ""]  # fmt: skip
        lines += measured_lines(r)
    lines.append(f"operating point: the best fixed strategy within {d['budget_usd_per_1k']:g} USD / 1k queries, {d['best_static']} "
                 f"(accuracy {d['best_static_accuracy']:.3f}, {d['best_static_usd_per_1k']:.4f} USD / 1k; {label}); cost changes: negative is cheaper")  # fmt: skip
    if r.get("models"):
        m = r["models"]
        lines[:0] = [f"actions across models: {', '.join(m['models'])} (each its own calibrated curves); assumption: {m['transfer_assumption']}", ""]  # fmt: skip
    for name in names:
        lines.extend(learned_lines(name, d[name]))
    for name, mix in (r.get("model_mix") or {}).items():
        pairs = ", ".join(
            f"{k} {v:.0%}" for k, v in sorted(mix["queries_by_pair"].items(), key=lambda kv: -kv[1])
        )
        writers = ", ".join(
            f"{k} {v:.0%}"
            for k, v in sorted(mix["contexts_by_writer"].items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"{name}: queries by notes -> answer model: {pairs}; contexts by notes model: {writers}"
        )
    sweep = r.get("price_ratio_sweep") or []
    if sweep:
        strong, small = r["models"]["models"][:2]
        lines += ["", f"price-ratio sweep (simulated): {strong}'s token prices = ratio x {small}'s; learned retrained under each; cost change at equal accuracy against the best single-model fixed strategy",
                  f"  {'ratio':>6}  {'best fixed strategy':<36} {'accuracy':>8} {'USD/1k':>8}  {'learned (95% CI)':<26} {'count-blind':>11} {'oracle':>7}  learned: {strong} notes -> {small} answers"]  # fmt: skip
        for row in sweep:
            lo, hi = row["learned_cost_change_ci95"]
            cross = (
                (row["learned_model_mix"] or {})
                .get("queries_by_pair", {})
                .get(f"{strong} -> {small}", 0.0)
            )
            lines.append(f"  {row['ratio']:>6g}  {row['best_static']:<36} {row['best_static_accuracy']:>8.3f} {row['best_static_usd_per_1k']:>8.4f}  "
                         f"{row['learned_cost_change']:+.1%} ({lo:+.1%} to {hi:+.1%}){'':<4} {number(row['count_blind_cost_change'], '+.1%'):>11} {row['oracle_cost_change']:>+7.1%}  {cross:.0%} of queries")  # fmt: skip
    main = d[names[0]] if names else {}
    for name in names:
        for feature, by in (d[name].get("decision_breakdown") or {}).items():
            lines.append(f"{name}: contexts given sleep-time compute by {feature} tercile: " + ", ".join(f"{k} {v['sleep_share']:.0%}" for k, v in by.items()))  # fmt: skip
        for feature, by in (d[name].get("decision_sensitivity") or {}).items():
            lines.append(f"{name}: contexts given sleep-time compute with {feature} moved (the rest kept): " + ", ".join(f"{k} {v:.0%}" for k, v in by.items()))  # fmt: skip
    if main:
        lines.append(
            f"oracle: cost change at equal accuracy {-main['oracle_cost_reduction_at_equal_accuracy']:+.1%}"
        )
        blind = main.get("count_blind_oracle_cost_reduction_at_equal_accuracy")
        if blind is not None:
            lines.append(f"count-blind oracle ({'hindsight outcomes' if r.get('measured') else 'latents'}, but only expected query counts): {-blind:+.1%}; "
                         + "; ".join(f"{n} closes {number(d[n]['count_blind_gap_closed'], '.2f')} of its gap" for n in names))  # fmt: skip
    points = r["operating_points"]
    if points:
        swept = list(points[0]["cost_change_at_equal_accuracy"])
        lines += ["", f"cost change at equal accuracy against each fixed strategy on the fixed Pareto front ({label}; n/a: never reached):",
                  f"  {'fixed strategy':<18} {'accuracy':>8}  " + "  ".join(f"{n:>18}" for n in swept)]  # fmt: skip
        for pt in points:
            ch = pt["cost_change_at_equal_accuracy"]
            lines.append(f"  {pt['fixed']:<18} {pt['accuracy']:>8.3f}  " + "  ".join(f"{'n/a' if ch[n] is None else format(ch[n], '+.1%'):>18}" for n in swept))  # fmt: skip
    for pt in r.get("operating_point_intervals") or []:
        if pt is (r.get("operating_point_intervals") or [None])[0]:
            lines += ["", "at each fixed Pareto point, each policy's first swept point reaching its accuracy: cost change (paired 95% interval over contexts):"]  # fmt: skip
        cells = [f"{n} {'n/a' if v is None else format(v['cost_change_at_reaching_point'], '+.1%') + ' (' + format(v['ci95'][0], '+.1%') + ' to ' + format(v['ci95'][1], '+.1%') + ')'}" for n, v in pt["policies"].items()]  # fmt: skip
        lines.append(f"  {pt['fixed']:<18} {pt['accuracy']:.3f}: " + "; ".join(cells))
    if "plot" in r:
        lines.append(f"wrote {r['plot']}")
    lines += [f"wrote {path}" for path in (r.get("figures") or {}).values()]
    if r.get("mlflow_run_id"):
        lines.append(f"MLflow run {r['mlflow_run_id']}")
    return "\n".join(lines)


def measured_lines(r: dict[str, Any]) -> list[str]:
    """A measured comparison's intervals, the other view's fixed strategies, and the outcome
    models' held-out errors."""
    lines = ["95% intervals over held-out contexts (accuracy; USD / 1k queries; test tokens):"]
    for p in r["policies"] + r["other_view"]:
        (a, b), (u, v), (t, w) = p["accuracy_ci95"], p.get("usd_per_query_ci95") or (None, None), p.get("test_tokens_per_query_ci95") or (None, None)  # fmt: skip
        lines.append(f"  {p['name']:<36} {number(a, '.3f')}-{number(b, '.3f')}  {number(u and 1000 * u, '.4f')}-{number(v and 1000 * v, '.4f')}  {number(t, '.1f')}-{number(w, '.1f')}")  # fmt: skip
    if r["other_view"]:
        lines += ["", "fixed strategies of the other sleep-time view (not a policy's action here):", *policy_table(r["other_view"])[1:]]  # fmt: skip
    lines += ["", "held-out accuracy per action: measured, and predicted by the outcome model fitted to the training contexts' traces and by the paper-calibrated one (gpt-4o-mini, a different model):",
              f"  {'action':<12} {'n':>4} {'measured':>9} {'traces':>8} {'error':>7} {'paper':>7} {'error':>7}   test tokens: measured, traces, paper"]  # fmt: skip
    for e in r["outcome_model_errors"]:
        lines.append(f"  {e['sleep_level'] + ',' + e['budget']:<12} {e['queries']:>4} {e['measured_accuracy']:>9.3f} {e['trace_model_accuracy']:>8.3f} {e['trace_model_error']:>+7.3f} "
                     f"{e['paper_model_accuracy']:>7.3f} {e['paper_model_error']:>+7.3f}   {e['measured_test_tokens']:.1f}, {e['trace_model_test_tokens']:.1f}, {e['paper_model_test_tokens']:.1f}")  # fmt: skip
    return [*lines, ""]


def _compare(args: argparse.Namespace) -> None:
    from sleeptime.experiments import (
        DEFAULT_BUDGET_USD_PER_1K,
        MeasuredOptions,
        compare,
        compare_traces,
    )

    if args.traces:
        options = MeasuredOptions(source=args.workload, view=args.view, split=args.split, test_share=args.test_share, prices=args.prices,
                                  price_model=args.price_model, sleep_price=args.sleep_price, seed=args.seed, outcome=args.outcome)  # fmt: skip
        measured = compare_traces(args.traces, options, budget_usd_per_1k=args.budget_usd_per_1k, figures_dir=args.figures,
                                  tracking_uri=args.tracking_uri, progress=not args.json)  # fmt: skip
        emit(args, measured, comparison_text)
        return
    if args.budget_usd_per_1k is None:
        args.budget_usd_per_1k = DEFAULT_BUDGET_USD_PER_1K
    config = opt.scenario_config(args)
    if args.models:
        config = dataclasses.replace(config, models=comma_list(args.models), transfer=args.transfer)
    run = compare(config, budget_usd_per_1k=args.budget_usd_per_1k, plot=args.plot, tracking_uri=args.tracking_uri,
                  progress=not args.json, price_ratios=comma_list(args.price_ratios or "", float))  # fmt: skip
    emit(args, run, comparison_text)


def register(sub: Any) -> None:
    from sleeptime.experiments import DEFAULT_BUDGET_USD_PER_1K, DEFAULT_TRANSFER

    cmp_ = sub.add_parser("compare", help="evaluate fixed, baseline, learned and oracle policies on held-out templates")  # fmt: skip
    opt.scenario(cmp_)
    opt.budget(cmp_, None, f"operating point: the best fixed strategy within this spend, USD per 1,000 queries (default {DEFAULT_BUDGET_USD_PER_1K:g}, the quickstart's; with --traces the most accurate fixed strategy)")  # fmt: skip
    cmp_.add_argument("--plot", default=None, help="write the Pareto plot to this PNG")
    across = cmp_.add_argument_group("across models (simulated): one model may write the notes at sleep time and another answer")  # fmt: skip
    across.add_argument("--models", default=None, metavar="A,B", help="the models the actions may use, each with its own calibrated curves of --benchmark (e.g. gpt-4o,gpt-4o-mini); priced from --prices")  # fmt: skip
    across.add_argument("--transfer", type=float, default=DEFAULT_TRANSFER, help=f"assumption: the share of the gap between the writer's accuracy with its notes and the reader's with its own that a reader closes with the writer's notes (0 to 1, default {DEFAULT_TRANSFER:g})")  # fmt: skip
    across.add_argument("--price-ratios", default=None, metavar="R,R", help="also compare with the first model's token prices set to each ratio times the second's (e.g. 1,4,16), the learned policy retrained under each")  # fmt: skip
    real = cmp_.add_argument_group("on a real run (measured): every policy judged on the held-out contexts of an exploration run")  # fmt: skip
    real.add_argument("--traces", default=None, metavar="TRACES.jsonl", help="the trace file of a sleeptime collect exploration run")  # fmt: skip
    real.add_argument("--workload", default="builtin", help="the workload the run was collected on (default builtin)")  # fmt: skip
    real.add_argument("--view", choices=("both", "c_prime"), default="both", help="what a sleep-time answer sees: c and c' (default) or c' alone")  # fmt: skip
    real.add_argument("--split", choices=("context", "template"), default="context", help="hold out contexts at random (default) or whole templates")  # fmt: skip
    real.add_argument("--test-share", type=float, default=0.5, help="share of contexts held out (default 0.5)")  # fmt: skip
    real.add_argument("--outcome", choices=("correct", "score"), default="correct", help="what the policies maximize: the 0/1 verdict (default) or the graded score (a span's F1)")  # fmt: skip
    real.add_argument("--price-model", default="gpt-4o-mini", help="price the measured tokens as this model of the book (default gpt-4o-mini); a run across models prices each model as the run did (its records' price_model)")  # fmt: skip
    real.add_argument("--sleep-price", choices=("batch", "live"), default="batch", help="sleep-time work at the book's batch discount (default) or its live price")  # fmt: skip
    real.add_argument("--figures", default=None, metavar="DIR", help="write the measured figures (Figs. 3-4, 9, 10 and the Pareto plot) here")  # fmt: skip
    opt.json_flag(cmp_)
    cmp_.set_defaults(handler=_compare)
