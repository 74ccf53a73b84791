"""``sleeptime quickstart`` and ``sleeptime run SPEC``: experiments as files."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, learned_lines, policy_table


def run_text(r: dict[str, Any]) -> str:
    lines = [
        f"sleeptime {r['spec']}{' (reduced)' if r['reduced'] else ''}: done in {r['seconds']:.0f} s"
    ]
    if "policies" in r:
        # the table keeps the middle budget of each sleep level; the report has all
        shown = [p for p in r["policies"] if p["group"] != "fixed sleep-time" or p["name"].endswith("b1)")]  # fmt: skip
        lines.extend(policy_table(shown))
        summary = r.get("summary", {})
        learned = [n for n, v in summary.items() if isinstance(v, dict)]
        if learned:
            lines.append("")
            lines.append(f"against {summary['best_static']} (accuracy {summary['best_static_accuracy']:.3f}); cost changes: negative is cheaper")  # fmt: skip
            for name in learned:
                lines.extend(learned_lines(name, summary[name]))
    lines += ["", r["headline"]]
    if r.get("export"):
        lines.append(f"exported policy: {r['export']['path']}")
    lines.append(f"report: {r['report']}")
    lines.append(
        f"MLflow run {r['mlflow_run_id']} (mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db)"
    )
    return "\n".join(lines)


def _quickstart(args: argparse.Namespace) -> None:
    """The main job: the quickstart spec (experiments/quickstart.toml, or its defaults)."""
    from sleeptime.experiments import quickstart_spec, run_experiment

    spec = quickstart_spec(reduced=True if args.reduced else None)
    emit(args, run_experiment(spec, out=args.out, tracking_uri=args.tracking_uri, progress=not args.json), run_text)  # fmt: skip


def _run(args: argparse.Namespace) -> None:
    from sleeptime.experiments import load_spec, run_experiment

    spec = load_spec(args.spec, reduced=True if args.reduced else None)
    if args.source:
        import dataclasses

        spec = dataclasses.replace(
            spec, workload=dataclasses.replace(spec.workload, source=args.source)
        )
    emit(args, run_experiment(spec, out=args.out, tracking_uri=args.tracking_uri, progress=not args.json), run_text)  # fmt: skip


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reduced", action="store_true", help="the spec's [reduced] size (also SLEEPTIME_REDUCED=1): a quick look, or CI")  # fmt: skip
    parser.add_argument("--out", default=None, help="report folder (default reports/NAME-TIME)")
    opt.tracking_uri(parser)
    opt.json_flag(parser)


def _spec_help() -> str:
    from sleeptime.experiments import KINDS, spec_keys

    kinds = "; ".join(f"{k.name}: {k.summary}" for k in KINDS.values())
    keys = "\n".join(
        f"  [{t}] {k} ({kind}, default {json.dumps(d)}): {doc}"
        for t, k, kind, d, doc in spec_keys()
    )
    return f"A spec has name, kind and description, then any of these tables and keys.\nkinds: {kinds}\n{keys}"


def register(sub: Any) -> None:
    quick = sub.add_parser("quickstart", help="run the main job: experiments/quickstart.toml (or its defaults), with report and export")  # fmt: skip
    _run_args(quick)
    quick.set_defaults(handler=_quickstart)

    run = sub.add_parser("run", help="run an experiment spec (experiments/NAME.toml)", formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    run.add_argument("spec", help="path of a TOML experiment spec")
    run.add_argument(
        "--source", default=None, help="the workload file instead of the spec's [workload] source"
    )
    _run_args(run)
    run.set_defaults(handler=_run)
    plain = run.format_help

    def format_help() -> str:  # the spec's keys, read from the library only when help is asked
        run.epilog = _spec_help()
        return str(plain())

    run.format_help = format_help
