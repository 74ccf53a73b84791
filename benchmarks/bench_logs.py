"""Off-policy evaluation of a router's decision log at scale: sleeptime against plain pandas.

A synthetic day of a busy router: ``--decisions`` logged decisions (one sleep-time decision per
context and three answered queries each), written as the runtime's Parquet decision log
(schema ``sleeptime.decision/1``) with an outcome file beside it. The behaviour is the deployed
multi-model policy of ``results/across/deployed`` exploring at 0.1; the candidate the same
model at a third of its price of cost. Features are drawn from real built-in contexts; rewards
and USD are synthetic (Bernoulli by action, USD from the artifact's price table): simulated.

Each side in a fresh process (its time, and the peak resident memory of that process or of a
child it ran):

- **sleeptime** (what ``sleeptime evaluate-logs`` does with a Parquet log of more than 2 million
  decisions): ``evaluate_large_logs``, DuckDB splitting the log and its outcomes by context
  (out of core, at most 2 GB) into parts of about a million decisions, then each part read,
  checked and summed as a small log is (DM, IPS, SNIPS, DR; 200 bootstrap draws over contexts);
- **sleeptime, whole log in memory**: ``read_logs`` (Arrow: only the columns needed, hash joins)
  and ``evaluate_logs``, as for a smaller log;
- **pandas**: ``pandas.read_parquet`` of both files, ``merge`` for the joins, the candidate's
  decisions and the outcome models by the same code, and the estimators' per-context sums with
  ``groupby``; the same bootstrap over those sums.

The estimates must agree (printed: IPS and SNIPS to rounding, DM and DR to 1%, their outcome
models fitted on folds each side numbers in its own order); ``ratio=`` (last line) is pandas'
time over sleeptime's (the split log), and the memory ratios are printed beside it.

    python benchmarks/bench_logs.py [--decisions 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = ROOT / "results" / "across" / "deployed" / "policy.json"


def _write(folder: Path, decisions: int, seed: int) -> tuple[Path, Path, Path]:
    """The log, its outcomes and the candidate artifact, written to ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sleeptime.runtime import LOG_SCHEMA, RuntimePolicy, cheap_features
    from sleeptime.workloads import load_workload

    policy = RuntimePolicy.load(ARTIFACT)
    rng = np.random.default_rng(seed)
    n_ctx = decisions // 4
    n_q = decisions - n_ctx
    real = [cheap_features(c.context) for c in load_workload("builtin").contexts]
    names = list(real[0])
    pick = rng.integers(0, len(real), size=n_ctx)
    feats = {n: np.array([r[n] for r in real])[pick] for n in names}
    feats["expected_queries"] = np.full(n_ctx, 3.0)
    tokens = feats["n_chars"] / policy.chars_per_token
    q_ctx = np.repeat(np.arange(n_ctx), 3)[:n_q]
    qchars = rng.integers(30, 300, size=n_q).astype(np.float64)

    def explore(greedy: Any, n: int) -> tuple[Any, Any]:
        out = np.where(rng.uniform(size=greedy.size) < 0.1, rng.integers(0, n, size=greedy.size), greedy)  # fmt: skip
        return out, np.where(out == greedy, 0.9 + 0.1 / n, 0.1 / n)

    xs = np.column_stack([feats[n] for n in policy.context_features_used])
    s, ps = explore(policy.sleep_indexes(xs, feats["expected_queries"], tokens), len(policy.sleep_levels))  # fmt: skip
    qf = {**{n: v[q_ctx] for n, v in feats.items()}, "question_chars": qchars}
    prompt = tokens[q_ctx] + qchars / policy.chars_per_token
    ready = s[q_ctx] > 0
    xq = np.column_stack([qf[n] for n in policy.query_features])
    b, pb = explore(policy.test_indexes(xq, s[q_ctx], ready, prompt), len(policy.budgets))
    usd = np.asarray(policy.artifact["decision"]["test_usd"])
    p = 0.2 + 0.5 * b / max(1, len(policy.budgets) - 1) + 0.15 * (s[q_ctx] > 0)
    ctx_ids = np.char.add("c", np.arange(n_ctx).astype(str))
    q_ids = np.char.add(np.char.add(ctx_ids[q_ctx], "/q"), (np.arange(n_q) % 3).astype(str))
    sleep_names, budget_names = np.array(policy.sleep_levels), np.array(policy.budgets)

    def table(kind: str, rid: Any, ctx: Any, qid: Any, action: Any, prop: Any, level: Any, tok: Any, eq: Any, f: dict[str, Any]) -> Any:  # fmt: skip
        n = len(rid)
        cols = {"schema": pa.array([LOG_SCHEMA] * n) if n < 2 else pa.repeat(LOG_SCHEMA, n), "request_id": rid, "time": np.zeros(n),
                "kind": pa.repeat(kind, n), "context_id": ctx, "query_id": qid, "action": action, "greedy": action,
                "propensity": prop, "n_actions": np.full(n, 1), "epsilon": np.full(n, 0.1), "model": pa.repeat("", n),
                "sleep_level": level, "c_prime_ready": (s[q_ctx] > 0) if kind == "test" else pa.nulls(n, pa.bool_()),
                "tokens": tok, "expected_queries": eq, "policy_id": pa.repeat(policy.policy_id, n)}  # fmt: skip
        cols.update({f"f.{k}": v for k, v in f.items()})
        return pa.table(cols)

    log = folder / "log.parquet"
    sleep_t = table("sleep", np.char.add(ctx_ids, "#sleep"), ctx_ids, pa.repeat("", n_ctx), sleep_names[s], ps, sleep_names[s], tokens, feats["expected_queries"], {**feats, "question_chars": np.full(n_ctx, np.nan)})  # fmt: skip
    test_t = table("test", q_ids, ctx_ids[q_ctx], q_ids, budget_names[b], pb, sleep_names[s][q_ctx], prompt, np.full(n_q, np.nan), qf)  # fmt: skip
    test_t = test_t.cast(sleep_t.schema)
    with pq.ParquetWriter(log, sleep_t.schema) as w:
        w.write_table(sleep_t, row_group_size=1 << 20)
        w.write_table(test_t, row_group_size=1 << 20)
    outcomes = folder / "outcomes.parquet"
    reward = (rng.uniform(size=n_q) < p).astype(np.float64)
    pq.write_table(pa.table({"request_id": q_ids, "reward": reward, "usd": usd[s[q_ctx], b, 0] + usd[s[q_ctx], b, 1] * prompt}), outcomes)  # fmt: skip
    other = json.loads(ARTIFACT.read_text())
    other["decision"]["lam"] = float(other["decision"]["lam"]) / 3
    cand = folder / "candidate.json"
    cand.write_text(json.dumps(other))
    return log, outcomes, cand


def _project(log: str, outcomes: str, cand: str) -> dict[str, Any]:
    from sleeptime.policy import evaluate_logs, needed_features, read_logs
    from sleeptime.runtime import RuntimePolicy

    policy = RuntimePolicy.load(cand)
    result = evaluate_logs(read_logs(log, outcomes, features=needed_features(policy)), policy, n_boot=200, seed=0)  # fmt: skip
    return {e: [v.reward, v.cost] for e, v in result.estimates.items()}


def _parts(log: str, outcomes: str, cand: str) -> dict[str, Any]:
    from sleeptime.policy import evaluate_large_logs
    from sleeptime.runtime import RuntimePolicy

    result = evaluate_large_logs(log, outcomes, RuntimePolicy.load(cand), part_rows=1_000_000, memory_limit="2GB", n_boot=200, seed=0)  # fmt: skip
    return {e: [v.reward, v.cost] for e, v in result.estimates.items()}


def _pandas(log: str, outcomes: str, cand: str) -> dict[str, Any]:
    import pandas as pd

    from sleeptime._boosting import boosting_regressor
    from sleeptime.policy._offpolicy import estimates_from_sums, outcome_model_params
    from sleeptime.runtime import RuntimePolicy

    policy = RuntimePolicy.load(cand)
    df = pd.read_parquet(log)
    out = pd.read_parquet(outcomes)
    sleep = df[df["kind"] == "sleep"].add_prefix("sleep.").rename(columns={"sleep.context_id": "context_id"})  # fmt: skip
    test = df[df["kind"] == "test"]
    j = test.merge(sleep, on="context_id", how="left").merge(out, on="request_id", how="left")
    j = j.sort_values(["context_id", "request_id"], ignore_index=True)
    ctx = j["context_id"].astype("category").cat.codes.to_numpy().astype(np.int64)
    s_log = j["sleep.action"].map({n: i for i, n in enumerate(policy.sleep_levels)}).to_numpy()
    b_log = j["action"].map({n: i for i, n in enumerate(policy.budgets)}).to_numpy()
    xs = j[[f"sleep.f.{n}" if n != "expected_queries" else "sleep.expected_queries" for n in policy.context_features_used]].to_numpy()  # fmt: skip
    s_c = policy.sleep_indexes(xs, j["sleep.expected_queries"].to_numpy(), j["sleep.tokens"].to_numpy())  # fmt: skip
    xq = j[[f"f.{n}" for n in policy.query_features]].to_numpy()
    ready = np.where(s_c == s_log, j["c_prime_ready"].fillna(False).to_numpy(bool), True)
    b_c = policy.test_indexes(xq, s_c, ready, j["tokens"].to_numpy())
    j["w"] = ((s_c == s_log) & (b_c == b_log)) / (j["propensity"] * j["sleep.propensity"])
    j["count"] = j.groupby("context_id")["request_id"].transform("size")
    base = j[[f"f.{n}" for n in policy.query_features] + ["tokens", "count"]].to_numpy()
    rng = np.random.default_rng(0)
    n_ctx = int(ctx.max()) + 1
    fold = rng.integers(0, 2, size=n_ctx)[ctx]
    params = outcome_model_params(0)
    for k, y in enumerate(("reward", "usd")):
        j[f"dm_l{k}"] = j[f"dm_t{k}"] = 0.0
        for f in range(2):
            train = np.flatnonzero(fold != f)
            if train.size > 200_000:
                train = np.sort(rng.choice(train, 200_000, replace=False))
            model = boosting_regressor(**params).fit(np.column_stack([base[train], s_log[train], b_log[train]]), j[y].to_numpy()[train])  # fmt: skip
            held = fold == f
            j.loc[held, f"dm_l{k}"] = model.predict(np.column_stack([base[held], s_log[held], b_log[held]]))  # fmt: skip
            j.loc[held, f"dm_t{k}"] = model.predict(np.column_stack([base[held], s_c[held], b_c[held]]))  # fmt: skip
    result = {}
    w = j["w"]
    ess = float(w.sum() ** 2 / (w**2).sum())
    for e in ("dm", "ips", "snips", "dr"):
        cols = {}
        for k, y in enumerate(("reward", "usd")):
            top = {"dm": j[f"dm_t{k}"], "ips": w * j[y], "snips": w * j[y], "dr": j[f"dm_t{k}"] + w * (j[y] - j[f"dm_l{k}"])}[e]  # fmt: skip
            cols[f"t{k}"], cols[f"b{k}"] = top, (w if e == "snips" else 1.0 + 0 * w)
        sums = pd.DataFrame(cols).groupby(j["context_id"], sort=True).sum()
        est = estimates_from_sums(e, sums[["t0", "b0", "t1", "b1"]].to_numpy().T, ess, len(j), n_boot=200, seed=0)  # fmt: skip
        result[e] = [est.reward, est.cost]
    return result


def _side(side: str, log: str, outcomes: str, cand: str) -> None:
    t0 = time.perf_counter()
    est = {"sleeptime": _parts, "sleeptime-whole": _project, "pandas": _pandas}[side](
        log, outcomes, cand
    )
    wall = time.perf_counter() - t0
    # KiB -> MiB (Linux); a child process's too (the split log's DuckDB step runs in one)
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024  # fmt: skip
    print(json.dumps({"side": side, "seconds": wall, "peak_mib": peak, "estimates": est}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--side", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--files", nargs=3, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side == "write":
        print(json.dumps([str(p) for p in _write(Path(args.files[0]), args.decisions, args.seed)]))
        return
    if args.side:
        _side(args.side, *args.files)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        # the data are drawn in a child too: Linux hands a process's peak memory on to the
        # children it starts, so a parent that had held the log would inflate every side's peak
        wrote = subprocess.run([sys.executable, __file__, "--side", "write", "--files", tmp, "-", "-", "--decisions", str(args.decisions),
                                "--seed", str(args.seed)], capture_output=True, text=True, check=True)  # fmt: skip
        files = json.loads(wrote.stdout.strip().splitlines()[-1])
        size = sum(Path(f).stat().st_size for f in files[:2]) / 2**20
        print(f"wrote {args.decisions:,} decisions ({size:.0f} MiB of Parquet) in {time.perf_counter() - t0:.0f} s (simulated outcomes)")  # fmt: skip
        runs = {}
        for side in ("sleeptime", "sleeptime-whole", "pandas"):
            done = subprocess.run([sys.executable, __file__, "--side", side, "--files", *files], capture_output=True, text=True)  # fmt: skip
            if done.returncode:
                why = " (killed: out of memory)" if done.returncode == -9 else ""
                print(f"{side} failed, exit {done.returncode}{why}:\n{done.stderr[-3000:]}")
                runs[side] = None
                continue
            runs[side] = json.loads(done.stdout.strip().splitlines()[-1])
            r = runs[side]
            print(f"{side:<16} {r['seconds']:8.1f} s  peak {r['peak_mib']:8.0f} MiB  " + "  ".join(f"{e} acc {v[0]:.4f} usd/1k {1000 * v[1]:.4f}" for e, v in r["estimates"].items()))  # fmt: skip
        a, b, whole = runs["sleeptime"], runs["pandas"], runs["sleeptime-whole"]
        if whole and a:
            print(f"the split log against the whole in memory: time x{a['seconds'] / whole['seconds']:.2f}, peak memory x{a['peak_mib'] / whole['peak_mib']:.2f}")  # fmt: skip
        if a and b:
            # IPS and SNIPS read no model: the same to rounding; DM and DR fit outcome models on
            # folds of contexts, which each side numbers in its own order: close, not equal
            tol = {"ips": 1e-9, "snips": 1e-9, "dm": 1e-2, "dr": 1e-2}
            agree = all(np.allclose(a["estimates"][e], b["estimates"][e], rtol=tol[e]) for e in a["estimates"])  # fmt: skip
            print(f"estimates agree (IPS, SNIPS to 1e-9; DM, DR to 1%): {agree}; memory ratio (pandas / sleeptime) {b['peak_mib'] / a['peak_mib']:.2f}")  # fmt: skip
            print(f"ratio={b['seconds'] / a['seconds']:.2f}")


if __name__ == "__main__":
    main()
