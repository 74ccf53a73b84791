"""The ``sleeptime`` command: human-readable output by default, strict JSON with ``--json``.

This module only registers the commands; each lives in a module of its own that parses its
options, calls one public function of :mod:`sleeptime.experiments` (or
:mod:`sleeptime.workloads`) and renders the result.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sleeptime import __version__
from sleeptime._cli import (
    compare,
    grade,
    live,
    logs,
    notes,
    optimize,
    run,
    score,
    server,
    simulate,
    train,
    when,
    workload,
)
from sleeptime._errors import SleeptimeError

COMMANDS = (
    run,
    score,
    simulate,
    compare,
    train,
    optimize,
    server,
    live,
    grade,
    logs,
    notes,
    when,
    workload,
)


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"sleeptime {__version__}")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for numpy, scikit-learn and torch (default $SLEEPTIME_THREADS, else the cores "
                             "that are free when the command starts: more would thrash on a shared machine)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="sleeptime", description="Learn how to split LLM compute between sleep time and test time.")  # fmt: skip
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 bad input, 130 interrupted)."""
    from sleeptime._threads import limit_threads

    argv = list(sys.argv[1:] if argv is None else argv)
    # threads first: the numeric libraries read their limits when they load
    early = argparse.ArgumentParser(add_help=False)
    _global_options(early)
    known, _ = early.parse_known_args([a for a in argv if a not in ("--version", "-h", "--help")])
    try:
        limit_threads(known.threads)
        args = build_parser().parse_args(argv)
        args.handler(args)
    except SleeptimeError as exc:
        print(f"sleeptime: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sleeptime: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
