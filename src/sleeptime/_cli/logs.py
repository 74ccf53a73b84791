"""``sleeptime evaluate-logs``: a candidate policy estimated off-policy on a router's logged
decisions and their outcomes (DM, IPS, SNIPS, DR with intervals over contexts); ``sleeptime
update``: the next policy learned from those logs, written only when the estimate admits it."""

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
                                n_boot=args.n_boot, seed=args.seed, obp=args.obp, vw=args.vw, part_rows=args.part_rows, memory_limit=args.memory_limit,
                                tracking_uri=args.tracking_uri, track=not args.no_track)  # fmt: skip
    emit(args, result.to_json(), evaluate_text)


def update_text(r: dict[str, Any]) -> str:
    lines = [
        f"{r['queries']} answered queries of {', '.join(r['logs'])}: candidates built on {r['fit_contexts']} contexts, "
        f"estimated (doubly robust) on the other {r['estimate_contexts']}; value = accuracy - {r['lam']:g} x USD per query",
        "",
        f"{'policy':<28}{'value':>9}{'95% CI':>20}{'accuracy':>10}{'USD/1k q':>10}{'agrees':>8}{'ESS':>8}",
    ]  # fmt: skip
    for name, e in (("current", r["current"]), *r["candidates"].items()):
        lo, hi = e["value_ci95"]
        lines.append(f"{name[-28:]:<28}{e['value']:>9.4f}{lo:>10.4f}-{hi:<9.4f}{e['accuracy']:>10.3f}{1000 * e['usd_per_query']:>10.3f}{100 * e['matched']:>7.0f}%{e['effective_sample_size']:>8.1f}")  # fmt: skip
    verdict = (f"admitted: {r['admitted']} (its lower bound beats the current estimate); written to {r['out']}" if r["admitted"]
               else "no candidate's lower bound beats the current policy's estimate: nothing written, the current policy stays")  # fmt: skip
    return "\n".join([*lines, "", verdict])


def _update(args: argparse.Namespace) -> None:
    from sleeptime.experiments import update_from_log_files

    result = update_from_log_files(args.logs, args.outcomes, args.policy, args.out, candidates=tuple(args.candidate),
                                   lam=args.lam, refit=not args.no_refit, missing="drop" if args.drop_missing else "error",
                                   n_boot=args.n_boot, seed=args.seed, tracking_uri=args.tracking_uri, track=not args.no_track)  # fmt: skip
    emit(args, {**result.to_json(), "out": args.out if result.admitted else None}, update_text)


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate-logs", help="estimate a candidate policy off-policy on a router's logged decisions (DM, IPS, SNIPS, DR)")  # fmt: skip
    p.add_argument("logs", help="the decision log (JSONL or Parquet; a folder: a Parquet dataset) a router wrote with sleeptime.runtime.DecisionLog")  # fmt: skip
    p.add_argument("--outcomes", required=True, help="the outcomes, joined by request_id: rows with reward and usd, or a deployment's trace file")  # fmt: skip
    p.add_argument("--policy", required=True, metavar="CANDIDATE.json", help="the candidate policy artifact to estimate")  # fmt: skip
    p.add_argument("--drop-missing", action="store_true", help="leave out decisions whose outcome never came (counted in the report) instead of failing")  # fmt: skip
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap draws over contexts (default 500)")  # fmt: skip
    p.add_argument("--obp", default=None, metavar="FILE.npz", help="also write the log as Open Bandit Pipeline bandit feedback")  # fmt: skip
    p.add_argument("--vw", default=None, metavar="FILE", help="also write the log in Vowpal Wabbit's contextual-bandit format")  # fmt: skip
    p.add_argument("--part-rows", type=int, default=2_000_000, metavar="N", help="a Parquet log of more decisions is split by context (DuckDB, out of core) and read one part of about N at a time (default 2,000,000; not with --obp or --vw)")  # fmt: skip
    p.add_argument("--memory-limit", default="2GB", help="DuckDB's memory while it splits a large log; beyond it, it spills to disk (default 2GB)")  # fmt: skip
    opt.seed(p)
    opt.tracking(p)
    opt.json_flag(p)
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("update", help="learn the next policy from a router's logs; write it only when its off-policy estimate beats the current one")  # fmt: skip
    p.add_argument("--logs", required=True, help="the decision log the current policy's router wrote (JSONL or Parquet)")  # fmt: skip
    p.add_argument("--outcomes", required=True, help="the outcomes, joined by request_id (rows with reward and usd, or a deployment's trace file)")  # fmt: skip
    p.add_argument("--policy", required=True, metavar="CURRENT.json", help="the policy artifact that served the logs")  # fmt: skip
    p.add_argument("--out", required=True, metavar="NEXT.json", help="where the admitted policy is written (nothing is written where none is admitted)")  # fmt: skip
    p.add_argument("--candidate", action="append", default=[], metavar="FILE.json", help="also weigh this artifact (repeat for several); 'repriced' and 'refit' are built from the logs")  # fmt: skip
    p.add_argument("--lam", type=float, default=None, help="the operating point: value = accuracy - LAM x USD per query (default the current policy's)")  # fmt: skip
    p.add_argument("--no-refit", action="store_true", help="do not refit the trees (weigh 'repriced' and the brought candidates only)")  # fmt: skip
    p.add_argument("--drop-missing", action="store_true", help="leave out decisions whose outcome never came instead of failing")  # fmt: skip
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap draws over contexts (default 500)")  # fmt: skip
    opt.seed(p)
    opt.tracking(p)
    opt.json_flag(p)
    p.set_defaults(handler=_update)
