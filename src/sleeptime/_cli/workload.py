"""``sleeptime workload inspect | convert | generate``."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def summary_text(s: dict[str, Any]) -> str:
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
    if "scenario_queries_per_context" in report:
        means = report["scenario_queries_per_context"]["mean_by_domain"]
        lines.append(
            "in the policy scenarios (quickstart, compare): each context gets a geometric number of these"
        )
        lines.append("                     queries, mean by domain: " + ", ".join(f"{d} {m:g}" for d, m in means.items()))  # fmt: skip
    if "out" in s:
        lines.append(f"wrote                {s['out']}")
    return "\n".join(lines)


def _inspect(args: argparse.Namespace) -> None:
    from sleeptime.workloads import load_workload

    emit(args, load_workload(**opt.workload_kwargs(args)).summary(), summary_text)


def _convert(args: argparse.Namespace) -> None:
    from sleeptime.workloads import load_workload, save_workload

    workload = load_workload(**opt.workload_kwargs(args))
    path = save_workload(workload, args.out)
    emit(args, {**workload.summary(), "out": str(path)}, summary_text)


def _generate(args: argparse.Namespace) -> None:
    from sleeptime.workloads import generate_workload, save_workload

    workload = generate_workload(args.contexts, seed=args.seed, domains=args.domains)
    path = save_workload(workload, args.out)
    emit(args, {**workload.summary(), "seed": args.seed, "out": str(path)}, summary_text)


def register(sub: Any) -> None:
    from sleeptime.workloads import BUILTIN_CONTEXTS

    workload = sub.add_parser("workload", help="inspect, convert and generate workloads")
    wsub = workload.add_subparsers(dest="workload_command", metavar="ACTION", required=True)

    inspect = wsub.add_parser("inspect", help="count contexts and queries of a workload")
    opt.workload_source(inspect)
    opt.json_flag(inspect)
    inspect.set_defaults(handler=_inspect)

    convert = wsub.add_parser("convert", help="write a workload in the native JSONL format")
    opt.workload_source(convert)
    convert.add_argument("--out", required=True, help="the .jsonl file to write")
    opt.json_flag(convert)
    convert.set_defaults(handler=_convert)

    generate = wsub.add_parser("generate", help="write a built-in workload")
    generate.add_argument("--contexts", type=int, default=BUILTIN_CONTEXTS, help=f"number of contexts (default {BUILTIN_CONTEXTS}, the quickstart's)")  # fmt: skip
    opt.seed(generate)
    generate.add_argument("--domains", nargs="+", default=None, help="keep only these domains")
    generate.add_argument("--out", required=True, help="the .jsonl file to write")
    opt.json_flag(generate)
    generate.set_defaults(handler=_generate)
