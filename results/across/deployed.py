"""The measured deployment across models: export the learned multi-model policy that
``sleeptime compare --traces qwen.jsonl`` judges, score its decisions offline on the held-out
contexts, serve those contexts through ``litellm.Router`` (one deployment per model, the hook
deciding), and set what was served beside the offline estimate.

    python results/across/deployed.py prepare OUT      # policy.json, estimate.json, held-out.jsonl
    sleeptime collect --policy OUT/policy.json --router ...   # (the command prepare prints)
    python results/across/deployed.py check OUT        # served against the estimate (--json)
    python results/across/deployed.py estimate OUT --prefix-cache warm   # estimate-warm.json
    python results/across/deployed.py check OUT --prefix-cache warm      # against that one

``estimate`` scores the exported policy.json again (nothing else rewritten) under another model
of the prompt cache (``sleeptime.policy.offline_estimate``'s ``prefix_cache``): ``warm``, a
context's later answers read its shared prefix from the cache, as a router serving a context's
questions while its prefix is held does.

``prepare --reuse-notes`` seeds the deployment's sleep-time file with the exploration's notes, so
the served answers read the very notes the offline estimate read (the deployment's resume): what
is then held against the estimate is the routing and the answers, not regenerated notes.
Every number is measured.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shlex
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TRACES = HERE / "qwen.jsonl"
STRONG, SMALL = "models/qwen2.5-coder-1.5b-instruct.gguf", "models/qwen2.5-coder-0.5b-instruct.gguf"


def prepare(out: Path, reuse_notes: bool) -> None:
    from sleeptime.experiments import MeasuredOptions, compare_traces
    from sleeptime.policy import export_measured_policy, offline_estimate
    from sleeptime.workloads import Workload, save_workload

    out.mkdir(parents=True, exist_ok=True)
    judged = compare_traces(TRACES, MeasuredOptions(), track=False, progress=False)
    data = judged.data
    cheap = copy.deepcopy(next(p for p in judged.policies if p.name == "learned-cheap"))
    lam = judged.comparison.swept["learned-cheap"].lam_at_equal_accuracy
    if math.isfinite(lam):
        cheap.set_params(lam=lam)
    artifact = out / "policy.json"
    export_measured_policy(
        data, cheap, artifact, config={"traces": TRACES.name, "features": "cheap", "lam": cheap.lam}
    )
    estimate = offline_estimate(data, artifact, data.test_idx, seed=0)
    held = [data.table.context_ids[i] for i in np.sort(data.test_idx)]
    by_id = {c.context_id: c for c in data.workload.contexts}
    workload = Workload(tuple(by_id[c] for c in held), "native", "held-out")
    save_workload(workload, out / "held-out.jsonl")
    (out / "estimate.json").write_text(
        json.dumps(
            {**estimate.to_json(), "decisions": estimate.decisions, "lam": cheap.lam}, indent=1
        )
    )
    served = out / "served.jsonl"
    if reuse_notes:
        notes = [
            json.loads(line)
            for line in (HERE / "qwen.sleep.jsonl").read_text().splitlines()
            if line.strip()
        ]
        keep = [n for n in notes if n["context_id"] in set(held)]
        (out / "served.sleep.jsonl").write_text("".join(json.dumps(n) + "\n" for n in keep))
    cmd = [
        "sleeptime",
        "collect",
        "--policy",
        str(artifact),
        "--router",
        "--endpoint",
        STRONG,
        "--endpoint",
        SMALL,
        "--price-model",
        "gpt-4o,gpt-4o-mini",
        str(out / "held-out.jsonl"),
        "--format",
        "native",
        "--contexts",
        str(len(held)),
        "--questions-per-context",
        "3",
        "--out",
        str(served),
    ]
    print(json.dumps(estimate.to_json()))
    print(shlex.join(cmd))


def _estimate_file(out: Path, prefix_cache: str) -> Path:
    return out / (
        "estimate.json" if prefix_cache == "explored" else f"estimate-{prefix_cache}.json"
    )


def estimate(out: Path, prefix_cache: str) -> None:
    from sleeptime.experiments import MeasuredOptions, load_measured
    from sleeptime.policy import offline_estimate, question_chars, warm_prefix

    data = load_measured(TRACES, MeasuredOptions(), progress=False)
    est = offline_estimate(data, out / "policy.json", data.test_idx, seed=0, prefix_cache=prefix_cache)  # fmt: skip
    lam = json.loads((out / "estimate.json").read_text())["lam"]
    extra = {}
    if prefix_cache == "warm":
        fit = warm_prefix(data.table, question_chars(data.workload, data.table))
        extra = {"warm_prefix": {"tokens_per_question_char": fit.tokens_per_question_char, "tail": fit.tail, "hits": fit.hits}}  # fmt: skip
    record = {**est.to_json(), "decisions": est.decisions, "lam": lam, "prefix_cache": prefix_cache, **extra}  # fmt: skip
    _estimate_file(out, prefix_cache).write_text(json.dumps(record, indent=1))
    print(json.dumps({**est.to_json(), **extra}))


def check(out: Path, as_json: bool, prefix_cache: str = "explored") -> int:
    from sleeptime.simulators import bootstrap_interval, load_price_book

    est = json.loads(_estimate_file(out, prefix_cache).read_text())
    recs = [
        json.loads(line) for line in (out / "served.jsonl").read_text().splitlines() if line.strip()
    ]
    book = load_price_book("list-2025")
    ids = sorted({r["context_id"] for r in recs})
    qc = np.array([ids.index(r["context_id"]) for r in recs])
    n_per = np.bincount(qc)
    correct = np.array([float(r["correct"]) for r in recs])
    # a context's notes are shared by its queries, as the offline estimate charges them; the
    # router sent them live, the estimate prices them at the batch discount (the artifact's
    # sleep actions are batch work): both are shown, the latter held against the estimate
    share = np.array([float(r["sleep_usd"]) / n_per[ids.index(r["context_id"])] for r in recs])
    discount = np.array(
        [
            book.price(r["sleep_price_model"]).batch_discount if r["sleep_price_model"] else 1.0
            for r in recs
        ]
    )
    test = np.array([float(r["test_usd"]) for r in recs])
    usd, usd_live = test + discount * share, test + share
    routed = sum(r["model"] == r["decided_model"] for r in recs)
    same = 0
    for r in recs:
        level, per_query = est["decisions"][r["context_id"]]
        budget, view = {q: (b, v) for q, b, v in per_query}[r["query_id"]]
        # the action: the notes' level and writer, the answering model, the view (the budget's
        # name is left out: records served before the fix of budget names across models say b1)
        writer = f"{r['sleep_level']}@{r['sleep_model']}" if r["sleep_model"] else r["sleep_level"]
        same += (writer, r["model"], r["view"]) == (level, budget.split("@")[-1], view)
    ci = {
        k: bootstrap_interval(v, qc, len(ids), n_boot=1000, seed=0)
        for k, v in (("acc", correct), ("usd", usd), ("live", usd_live))
    }
    result = {
        "answers": len(recs),
        "contexts": len(ids),
        "answered_by_decided_model": routed,
        "same_actions_as_estimate": same,
        "served_accuracy": float(correct.mean()),
        "served_accuracy_ci95": ci["acc"],
        "served_usd_per_1k": 1000 * float(usd.mean()),
        "served_usd_per_1k_ci95": tuple(1000 * x for x in ci["usd"]),
        "served_usd_per_1k_sleep_live": 1000 * float(usd_live.mean()),
        "estimate_accuracy": est["accuracy"],
        "estimate_accuracy_ci95": est["accuracy_ci95"],
        "estimate_usd_per_1k": 1000 * est["usd_per_query"],
        "estimate_usd_per_1k_ci95": [1000 * x for x in est["usd_per_query_ci95"]],
        "answers_by": {
            m: sum(r["model"] == m for r in recs) for m in sorted({r["model"] for r in recs})
        },
        "notes_by": {
            m: len({r["context_id"] for r in recs if r["sleep_model"] == m})
            for m in sorted({r["sleep_model"] or "none" for r in recs})
        },
        "same_answer_as_exploration": None,
    }
    explored = {
        (r["context_id"], r["query_id"], r["sleep_model"], r["model"], r["view"]): r
        for r in map(json.loads, TRACES.read_text().splitlines())
    }
    matched = [
        explored.get((r["context_id"], r["query_id"], r["sleep_model"], r["model"], r["view"]))
        for r in recs
    ]
    result["same_answer_as_exploration"] = sum(
        m is not None and m["response"] == r["response"] for m, r in zip(matched, recs, strict=True)
    )
    result["same_verdict_as_exploration"] = sum(
        m is not None and m["correct"] == r["correct"] for m, r in zip(matched, recs, strict=True)
    )
    # where the cost differs: prompt tokens read from the server's prompt cache (priced at the
    # book's cache-read rate) in the deployment against in the exploration the estimate reads
    result["cached_prompt_tokens_per_answer"] = float(
        np.mean([r["cached_prompt_tokens"] or 0 for r in recs])
    )
    result["cached_prompt_tokens_per_answer_exploration"] = float(
        np.mean([m["cached_prompt_tokens"] or 0 for m in matched if m])
    )
    result["prompt_tokens_per_answer"] = float(np.mean([r["test_input_tokens"] for r in recs]))
    lo, hi = result["estimate_accuracy_ci95"]
    ulo, uhi = result["estimate_usd_per_1k_ci95"]
    result["accuracy_within"] = lo <= result["served_accuracy"] <= hi
    result["usd_within"] = ulo <= result["served_usd_per_1k"] <= uhi
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0 if result["accuracy_within"] and result["usd_within"] and routed == len(recs) else 1


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("step", choices=("prepare", "estimate", "check"))
    p.add_argument("out", type=Path)
    p.add_argument(
        "--reuse-notes",
        action="store_true",
        help="prepare: the deployment reads the exploration's notes",
    )
    p.add_argument("--prefix-cache", choices=("explored", "warm"), default="explored",
                   help="estimate/check: the prompt-cache model of the offline estimate")  # fmt: skip
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.step == "prepare":
        prepare(a.out, a.reuse_notes)
        return 0
    if a.step == "estimate":
        estimate(a.out, a.prefix_cache)
        return 0
    return check(a.out, a.json, a.prefix_cache)


if __name__ == "__main__":
    sys.exit(main())
