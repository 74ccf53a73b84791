"""``sleeptime optimize``: an Optuna study of the learned policy (resumable, distributable)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def _optimize(args: argparse.Namespace) -> None:
    from sleeptime.experiments import optimize

    result = optimize(opt.scenario_config(args), trials=args.trials, study_name=args.study_name, storage=args.storage,
                      tracking_uri=args.tracking_uri, progress=not args.json)  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        lines = [f"study {r['study_name']}: {r['trials']} trials; Pareto front (validation templates, simulated):"]  # fmt: skip
        if r["recovered_trials"]:
            lines.insert(0, f"resumed: trials {r['recovered_trials']} of a process that is gone are marked failed")  # fmt: skip
        for p in r["pareto_front"]:
            lines.append(f"  trial {p['trial']:>4}  accuracy {p['accuracy']:.3f}  USD/1k {1000 * p['usd_per_query']:.4f}  lam {p['lam']:.4g}")  # fmt: skip
        lines.append(f"MLflow run {r['mlflow_run_id']}")
        return "\n".join(lines)

    emit(args, result, human)


def register(sub: Any) -> None:
    o = sub.add_parser("optimize", help="Optuna search (accuracy up, USD down) over the learned policy")  # fmt: skip
    opt.scenario(o)
    o.add_argument("--trials", type=int, default=50, help="trials to run now (default 50)")
    o.add_argument("--study-name", default="sleeptime-policy", help="an existing name resumes that study")  # fmt: skip
    o.add_argument("--storage", default=None, help="journal file (default mlruns/optuna/journal.log) or an RDB URL, e.g. postgresql://...")  # fmt: skip
    opt.json_flag(o)
    o.set_defaults(handler=_optimize)
