"""``sleeptime compare``: every policy on held-out templates, at an operating point."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, learned_lines, policy_table


def comparison_text(r: dict[str, Any]) -> str:
    d = r["details"]
    names = [n for n in d if isinstance(d[n], dict)]
    lines = [*policy_table(r["policies"]), ""]
    lines.append(f"operating point: the best fixed strategy within {d['budget_usd_per_1k']:g} USD / 1k queries, {d['best_static']} "
                 f"(accuracy {d['best_static_accuracy']:.3f}, {d['best_static_usd_per_1k']:.4f} USD / 1k; simulated); cost changes: negative is cheaper")  # fmt: skip
    for name in names:
        lines.extend(learned_lines(name, d[name]))
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
            lines.append(f"count-blind oracle (latents, but only expected query counts): {-blind:+.1%}; "
                         + "; ".join(f"{n} closes {d[n]['count_blind_gap_closed']:.2f} of its gap" for n in names))  # fmt: skip
    points = r["operating_points"]
    if points:
        swept = list(points[0]["cost_change_at_equal_accuracy"])
        lines += ["", "cost change at equal accuracy against each fixed strategy on the fixed Pareto front (simulated; n/a: never reached):",
                  f"  {'fixed strategy':<18} {'accuracy':>8}  " + "  ".join(f"{n:>18}" for n in swept)]  # fmt: skip
        for pt in points:
            ch = pt["cost_change_at_equal_accuracy"]
            lines.append(f"  {pt['fixed']:<18} {pt['accuracy']:>8.3f}  " + "  ".join(f"{'n/a' if ch[n] is None else format(ch[n], '+.1%'):>18}" for n in swept))  # fmt: skip
    if "plot" in r:
        lines.append(f"wrote {r['plot']}")
    lines.append(f"MLflow run {r['mlflow_run_id']}")
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> None:
    from sleeptime.experiments import compare

    run = compare(opt.scenario_config(args), budget_usd_per_1k=args.budget_usd_per_1k, plot=args.plot,
                  tracking_uri=args.tracking_uri, progress=not args.json)  # fmt: skip
    emit(args, run, comparison_text)


def register(sub: Any) -> None:
    from sleeptime.experiments import DEFAULT_BUDGET_USD_PER_1K

    cmp_ = sub.add_parser("compare", help="evaluate fixed, baseline, learned and oracle policies on held-out templates")  # fmt: skip
    opt.scenario(cmp_)
    opt.budget(cmp_, DEFAULT_BUDGET_USD_PER_1K, f"operating point: the best fixed strategy within this spend, USD per 1,000 queries (default {DEFAULT_BUDGET_USD_PER_1K:g}, the README's)")  # fmt: skip
    cmp_.add_argument("--plot", default=None, help="write the Pareto plot to this PNG")
    opt.json_flag(cmp_)
    cmp_.set_defaults(handler=_compare)
