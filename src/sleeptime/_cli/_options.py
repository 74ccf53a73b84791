"""Options several commands share, declared once: ``--json``, a workload source, the policy
scenario, the MLflow tracking URI. (The library is imported when a command runs, not when the
parser is built: ``--help`` stays fast, and thread limits are set before numpy loads.)"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sleeptime.workloads import ANSWER_KINDS, FORMATS

if TYPE_CHECKING:
    from sleeptime.experiments import ScenarioConfig

TRACKING_HELP = (
    "MLflow tracking URI (default $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)"
)


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (strict: null where a value does not exist)")  # fmt: skip


def tracking_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_HELP)


def tracking(parser: argparse.ArgumentParser) -> None:
    """``--tracking-uri`` and ``--no-track``: where the run is logged to MLflow, or not at all."""
    tracking_uri(parser)
    parser.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")


def seed(parser: argparse.ArgumentParser, what: str = "random seed") -> None:
    parser.add_argument("--seed", type=int, default=0, help=f"{what} (default 0)")


def panel(parser: argparse.ArgumentParser, *, model_help: str = "model (default gpt-4o-mini)") -> None:  # fmt: skip
    """``--benchmark`` and ``--model``: a panel of the paper's calibrated curves."""
    parser.add_argument("--benchmark", default="stateful-gsm-symbolic-p1", help="calibrated panel (default stateful-gsm-symbolic-p1)")  # fmt: skip
    parser.add_argument("--model", default="gpt-4o-mini", help=model_help)


def rho(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rho", type=float, default=0.5, help="correlation of observed and latent predictability (default 0.5)")  # fmt: skip


def workload_source(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """A workload file or ``builtin``, its format, and the columns of ``--format fields``."""
    if default is None:
        parser.add_argument(
            "source",
            help="a .jsonl or .csv file, a SQuAD or DROP .json file, or 'builtin' for the generator",
        )
    else:
        parser.add_argument("source", nargs="?", default=default, help=f"a .jsonl or .csv file, a SQuAD or DROP .json file, or 'builtin' for the generator (default {default})")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default=None, help="the file's format (default: detected: a .json file as SQuAD or DROP by its shape, else from the fields of the first record)")  # fmt: skip
    parser.add_argument("--limit", type=int, default=None, help="read only the first N records (builtin: generate N contexts)")  # fmt: skip
    group = parser.add_argument_group("your own columns (--format fields)")
    group.add_argument("--context-field", default=None, help="column holding the context text")
    group.add_argument("--question-field", default="question", help="column holding the question")
    group.add_argument("--answer-field", default="answer", help="column holding the gold answer")
    group.add_argument("--context-id-field", default=None, help="column grouping rows into contexts")  # fmt: skip
    group.add_argument("--query-id-field", default=None, help="column holding query ids")
    group.add_argument("--answer-kind", choices=ANSWER_KINDS, default="numeric", help="how answers are compared: numbers, AIME integers, whole strings, SQuAD spans (exact match and F1; an answer cell may be a JSON list of golds), choices, or judge (free text graded by an LLM judge against the gold as a reference; see --judge-prompt) (default: numeric)")  # fmt: skip


def workload_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`sleeptime.workloads.load_workload` from the options."""
    from sleeptime.workloads import FieldMap

    fields = None
    if args.format == "fields" or args.context_field is not None:
        fields = FieldMap(context=args.context_field or "context", question=args.question_field, answer=args.answer_field,
                          context_id=args.context_id_field, query_id=args.query_id_field, answer_kind=args.answer_kind)  # fmt: skip
    return {"source": args.source, "format": args.format, "fields": fields, "limit": args.limit}


def scenario(parser: argparse.ArgumentParser) -> None:
    """The policy scenario: built-in contexts, seed, panel, prices, rho, tracking URI."""
    parser.add_argument("--contexts", type=int, default=1400, help="built-in contexts to generate (default 1400)")  # fmt: skip
    seed(parser)
    panel(parser)
    parser.add_argument("--prices", default="list-2025", help="price book: list-2025, paper-abstract, or a file (see sleeptime prices)")  # fmt: skip
    rho(parser)
    tracking_uri(parser)


def scenario_config(args: argparse.Namespace) -> ScenarioConfig:
    from sleeptime.experiments import ScenarioConfig

    return ScenarioConfig(n_contexts=args.contexts, seed=args.seed, benchmark=args.benchmark, model=args.model,
                          prices=args.prices, rho_predictability=args.rho)  # fmt: skip


def budget(parser: argparse.ArgumentParser, default: float | None, help: str) -> None:
    parser.add_argument("--budget-usd-per-1k", type=float, default=default, help=help)


def features(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    parser.add_argument("--features", choices=("all", "cheap"), default=default, help=help)
