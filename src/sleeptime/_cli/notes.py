"""``sleeptime export-notes``: a run's sleep-time outputs as fine-tuning data (measured)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, number


def notes_text(r: dict[str, Any]) -> str:
    return (
        f"wrote {r['examples']} chat examples ({r['sleep_outputs']} sleep-time outputs, one example per rewrite) to {r['out']} "
        f"from {len(r['files'])} trace file(s); they served {r['queries_served']} answers: accuracy with the notes "
        f"{number(r['accuracy_with_notes'], '.3f')}, without them at the same budgets {number(r['accuracy_without_notes'], '.3f')} (measured)"
    )  # fmt: skip


def _export_notes(args: argparse.Namespace) -> None:
    from sleeptime.experiments import export_notes

    kwargs = opt.workload_kwargs(args)
    result = export_notes(args.traces, args.out, prompts=args.prompts, **kwargs)
    emit(args, result, notes_text)


def register(sub: Any) -> None:
    p = sub.add_parser("export-notes", help="write a run's sleep-time outputs (context, c') with the queries they served as chat examples for fine-tuning")  # fmt: skip
    p.add_argument("traces", help="a trace file of sleeptime collect, or a folder of them (each with NAME.sleep.jsonl beside it)")  # fmt: skip
    p.add_argument("--out", required=True, help="the JSONL file to write (chat format: messages, metadata)")  # fmt: skip
    p.add_argument("--workload", dest="source", default="builtin", help="the workload the run was collected on (default builtin)")  # fmt: skip
    p.add_argument("--format", default=None, help="the workload file's format (default: detected)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--context-field", default=None, help=argparse.SUPPRESS)
    p.add_argument("--prompts", default="auto", help="the prompts the run used: auto (default: the workload's own, as collect chooses), a built-in family or a TOML file")  # fmt: skip
    opt.json_flag(p)
    p.set_defaults(handler=_export_notes)
