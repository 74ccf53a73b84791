"""The update loop measured on the local server: a policy learned on a small exploration run is
deployed through ``litellm.Router`` with exploration 0.1 and logs its decisions; a second
policy is estimated off-policy on that log (``sleeptime evaluate-logs``) and weighed by
``sleeptime update``; the second policy is then deployed on as many fresh queries and what it
served is set beside its estimate. Every number is measured (the embedded server's model).

    python results/off_policy/loop.py run OUT      # every step; resumes where it stopped
    python results/off_policy/loop.py check OUT    # the comparison (--json)

Contexts: the built-in workload's first ``--explore-contexts`` for the exploration grid, the
next ``--serve-contexts`` for the first deployment and the next as many (fresh) for the second,
``--questions`` each. Each step calls the command line a user would call.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SLEEPTIME = [sys.executable, "-m", "sleeptime"]


def _sh(args: list[str], out: Path | None = None) -> None:
    print("$ sleeptime " + " ".join(args[len(SLEEPTIME) :]), flush=True)
    done = subprocess.run(args, capture_output=out is not None, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {done.stderr[-3000:] if out else ''}")
    if out is not None:
        out.write_text(done.stdout)


def _workloads(out: Path, explore: int, serve: int) -> dict[str, Path]:
    from sleeptime.workloads import Workload, load_workload, save_workload

    ctx = load_workload("builtin", limit=explore + 2 * serve).contexts
    parts = {"explore": ctx[:explore], "a": ctx[explore : explore + serve], "b": ctx[explore + serve :]}  # fmt: skip
    paths = {}
    for name, cs in parts.items():
        paths[name] = out / f"{name}.workload.jsonl"
        if not paths[name].exists():
            save_workload(Workload(tuple(cs), "native", name), paths[name])
    return paths


def _train(out: Path) -> None:
    """Policy A (learned on the cheap features at the λ where it matches the most accurate
    fixed strategy's accuracy on the held-out half, as ``compare --traces`` sets it) and B
    (the same policy at 1/10 of that λ: it spends more for accuracy)."""
    import copy
    import math

    from sleeptime.experiments import MeasuredOptions, compare_traces
    from sleeptime.policy import export_measured_policy

    judged = compare_traces(out / "explore.jsonl", MeasuredOptions(source=str(out / "explore.workload.jsonl"), sleep_price="live"),
                            track=False, progress=False)  # fmt: skip
    cheap = next(p for p in judged.policies if p.name == "learned-cheap")
    lam = judged.comparison.swept["learned-cheap"].lam_at_equal_accuracy
    lam = lam if math.isfinite(lam) else cheap.lam
    for name, at in (("a", lam), ("b", lam / 10)):
        p = copy.deepcopy(cheap)
        p.set_params(lam=at)
        export_measured_policy(
            judged.data, p, out / f"policy-{name}.json", config={"loop": name, "lam": at}
        )


def run(out: Path, explore: int, serve: int, questions: int, epsilon: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    w = _workloads(out, explore, serve)
    common = ["--format", "native", "--questions-per-context", str(questions), "--no-track"]
    _sh([*SLEEPTIME, "collect", str(w["explore"]), "--contexts", str(explore), *common, "--sleep-levels", "none,k1",
         "--budgets", "0,2", "--views", "c,both", "--out", str(out / "explore.jsonl")])  # fmt: skip
    if not (out / "policy-b.json").exists():
        _train(out)
    serve_args = [
        *common,
        "--contexts",
        str(serve),
        "--router",
        "--expected-queries",
        str(questions),
    ]
    _sh([*SLEEPTIME, "collect", str(w["a"]), "--policy", str(out / "policy-a.json"), *serve_args, "--explore", str(epsilon),
         "--seed", "1", "--decision-log", str(out / "a.decisions.jsonl"), "--out", str(out / "a.served.jsonl")])  # fmt: skip
    logs = [str(out / "a.decisions.jsonl"), "--outcomes", str(out / "a.served.jsonl")]
    for name in ("a", "b"):
        _sh([*SLEEPTIME, "evaluate-logs", *logs, "--policy", str(out / f"policy-{name}.json"), "--json"],
            out / f"estimate-{name}.json")  # fmt: skip
    _sh([*SLEEPTIME, "update", "--logs", logs[0], "--outcomes", logs[2], "--policy", str(out / "policy-a.json"),
         "--candidate", str(out / "policy-b.json"), "--out", str(out / "next.json"), "--json"], out / "update.json")  # fmt: skip
    _sh([*SLEEPTIME, "collect", str(w["b"]), "--policy", str(out / "policy-b.json"), *serve_args,
         "--decision-log", str(out / "b.decisions.jsonl"), "--out", str(out / "b.served.jsonl")])  # fmt: skip


def _served(path: Path) -> dict[str, object]:
    from sleeptime.simulators import bootstrap_interval

    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    ids = sorted({r["context_id"] for r in recs})
    index = {c: i for i, c in enumerate(ids)}
    qc = np.array([index[r["context_id"]] for r in recs])
    n_per = np.bincount(qc)
    correct = np.array([float(r["correct"]) for r in recs])
    usd = np.array([float(r["test_usd"]) + float(r["sleep_usd"]) / n_per[index[r["context_id"]]] for r in recs])  # fmt: skip
    return {
        "queries": len(recs), "contexts": len(ids),
        "accuracy": float(correct.mean()), "accuracy_ci95": bootstrap_interval(correct, qc, len(ids), n_boot=1000, seed=0),
        "usd_per_1k": 1000 * float(usd.mean()),
        "usd_per_1k_ci95": tuple(1000 * x for x in bootstrap_interval(usd, qc, len(ids), n_boot=1000, seed=0)),
        "notes": int(sum(1 for c in ids if any(r["sleep_level"] != "none" for r in recs if r["context_id"] == c))),
        "budgets": {b: sum(r["budget"] == b for r in recs) for b in sorted({r["budget"] for r in recs})},
    }  # fmt: skip


def check(out: Path, as_json: bool) -> int:
    est = json.loads((out / "estimate-b.json").read_text())
    served = {"a": _served(out / "a.served.jsonl"), "b": _served(out / "b.served.jsonl")}
    result: dict[str, object] = {
        "served": served,
        "update": json.loads((out / "update.json").read_text()),
    }
    b = served["b"]
    rows = {}
    for name, e in est["estimates"].items():
        acc_lo, acc_hi = e["reward_ci95"]
        usd_lo, usd_hi = (1000 * x for x in e["cost_ci95"])
        rows[name] = {
            "accuracy": e["reward"], "accuracy_ci95": [acc_lo, acc_hi], "usd_per_1k": 1000 * e["cost"],
            "usd_per_1k_ci95": [usd_lo, usd_hi], "effective_sample_size": e["effective_sample_size"],
            "accuracy_within": acc_lo <= b["accuracy"] <= acc_hi,  # type: ignore[operator]
            "usd_within": usd_lo <= b["usd_per_1k"] <= usd_hi,  # type: ignore[operator]
        }  # fmt: skip
    result["estimate_b"] = rows
    result["matched_b"] = est["matched"]
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print(f"A served (exploring): {served['a']}")
        print(f"B served: {b}")
        print(
            f"B estimated on A's log ({100 * est['matched']:.0f}% of its decisions agree with B's):"
        )
        for name, r in rows.items():
            print(f"  {name:>5}: {r}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("step", choices=("run", "check"))
    p.add_argument("out", type=Path)
    p.add_argument("--explore-contexts", type=int, default=30)
    p.add_argument("--serve-contexts", type=int, default=100)
    p.add_argument("--questions", type=int, default=3)
    p.add_argument("--epsilon", type=float, default=0.1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.step == "run":
        run(a.out, a.explore_contexts, a.serve_contexts, a.questions, a.epsilon)
        return 0
    return check(a.out, a.json)


if __name__ == "__main__":
    raise SystemExit(main())
