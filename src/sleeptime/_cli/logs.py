"""``sleeptime evaluate-logs``: a candidate policy estimated off-policy on a router's logged
decisions and their outcomes (DM, IPS, SNIPS, DR with intervals over contexts)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def evaluate_text(r: dict[str, Any]) -> str:
    dropped = f", {r['dropped']} without an outcome left out" if r["dropped"] else ""
    lines = [
        f"{r['candidate']} on {r['log']}: {r['queries']} answered queries in {r['contexts']} contexts"
        f"{dropped}; "
        f"the candidate takes the logged action on {100 * r['matched']:.1f}% of them",
        "",
        f"{'estimator':<10}{'accuracy':>9}{'95% CI':>16}{'USD/1k q':>10}{'95% CI':>18}{'ESS':>9}",
    ]  # fmt: skip
    for name, e in r["estimates"].items():
        lo, hi = e["reward_ci95"]
        clo, chi = e["cost_ci95"]
        lines.append(f"{name:<10}{e['reward']:>9.3f}{lo:>8.3f}-{hi:<7.3f}{1000 * e['cost']:>10.3f}{1000 * clo:>9.3f}-{1000 * chi:<8.3f}{e['effective_sample_size']:>9.1f}")  # fmt: skip
    lines.append("\nintervals resample contexts (a context's sleep-time decision is shared by its queries); ESS: the queries the importance weights are worth")  # fmt: skip
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> None:
    from sleeptime.experiments import evaluate_log_files

    result = evaluate_log_files(args.logs, args.outcomes, args.policy, missing="drop" if args.drop_missing else "error",
                                n_boot=args.n_boot, seed=args.seed, obp=args.obp, vw=args.vw,
                                tracking_uri=args.tracking_uri, track=not args.no_track)  # fmt: skip
    emit(args, result.to_json(), evaluate_text)


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate-logs", help="estimate a candidate policy off-policy on a router's logged decisions (DM, IPS, SNIPS, DR)")  # fmt: skip
    p.add_argument("logs", help="the decision log (JSONL or Parquet; a folder: a Parquet dataset) a router wrote with sleeptime.runtime.DecisionLog")  # fmt: skip
    p.add_argument("--outcomes", required=True, help="the outcomes, joined by request_id: rows with reward and usd, or a deployment's trace file")  # fmt: skip
    p.add_argument("--policy", required=True, metavar="CANDIDATE.json", help="the candidate policy artifact to estimate")  # fmt: skip
    p.add_argument("--drop-missing", action="store_true", help="leave out decisions whose outcome never came (counted in the report) instead of failing")  # fmt: skip
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap draws over contexts (default 500)")  # fmt: skip
    p.add_argument("--obp", default=None, metavar="FILE.npz", help="also write the log as Open Bandit Pipeline bandit feedback")  # fmt: skip
    p.add_argument("--vw", default=None, metavar="FILE", help="also write the log in Vowpal Wabbit's contextual-bandit format")  # fmt: skip
    opt.seed(p)
    opt.tracking_uri(p)
    p.add_argument("--no-track", action="store_true", help="do not log the run to MLflow")
    opt.json_flag(p)
    p.set_defaults(handler=_evaluate)
