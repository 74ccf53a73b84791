"""Time per test-time decision: the router runtime vs scikit-learn ``predict`` on one row.

Both sides run in this one process, on the same held-out query rows:

- ``runtime``: ``RuntimePolicy.decide_test(features, ...)`` on the exported artifact, pure
  Python, the cheap features of the context computed beforehand (once per context, as a router
  does); the call returns the request parameters;
- ``sklearn predict``: the learned policy's gradient-boosting model ``predict`` on one row
  (the baseline the issue names); also printed: the learned policy's whole decision for one
  query in the library (one ``predict`` per action pair).

Also printed: the runtime's import time (fresh interpreters) and the artifact's load time.
Run: ``.venv/bin/python benchmarks/bench_runtime.py [--contexts 420]``. Last line:
``ratio=<sklearn predict time / runtime decide_test time>``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def per_call(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean seconds per call of ``fn``."""
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t) / calls)
    return statistics.median(samples)


def import_time(runs: int = 7) -> float:
    code = "import time; t = time.perf_counter(); import sleeptime.runtime; print(time.perf_counter() - t)"
    out = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(runs)]  # fmt: skip
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--contexts", type=int, default=420, help="built-in contexts of the scenario (default 420)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from sleeptime.experiments import (
        ScenarioConfig,
        build_scenario,
        export_policy,
        train_for_budget,
    )
    from sleeptime.policy import CHEAP_POLICY_FEATURES
    from sleeptime.runtime import RuntimePolicy

    scenario = build_scenario(ScenarioConfig(n_contexts=args.contexts, seed=0), progress=True)
    learned, _ = train_for_budget(scenario, CHEAP_POLICY_FEATURES, 0.12)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.json"
        _, distilled = export_policy(scenario, learned, path, config={}, mlflow_run_id=None)
        t = time.perf_counter()
        runtime = RuntimePolicy.load(path)
        load_s = time.perf_counter() - t
        size = path.stat().st_size

    items = scenario.test
    n = min(items.n_queries, 500)
    rows = [{k: float(items.features[k][q]) for k in runtime.query_features} for q in range(n)]
    sleep = items.per_query(learned.decide_sleep(items, scenario.env))[:n]
    prompt = (items.per_query(items.context_tokens) + items.question_tokens)[:n]
    levels = [runtime.sleep_levels[s] for s in sleep]
    Fq = np.column_stack([items.features[k] for k in learned.features])[:n]
    Xq = np.column_stack([items.features[k] for k in distilled.query_features])[:n]
    X_hgb = np.column_stack([Fq, sleep, np.ones(n)])

    i = 0

    def runtime_call() -> object:
        nonlocal i
        i = (i + 1) % n
        return runtime.decide_test(rows[i], sleep_level=levels[i], c_prime_ready=True, prompt_tokens=float(prompt[i]))  # fmt: skip

    def sklearn_predict() -> object:
        nonlocal i
        i = (i + 1) % n
        return learned.model_.predict(X_hgb[i : i + 1])

    def library_decision() -> object:
        nonlocal i
        i = (i + 1) % n
        return learned.decide_test_arrays(Fq[i : i + 1], sleep[i : i + 1], np.ones(1, dtype=bool), prompt[i : i + 1])  # fmt: skip

    # the decisions agree with the library's distilled policy on these rows (a check, not timed)
    lib = distilled.decide_test_arrays(Xq, sleep, np.ones(n, dtype=bool), prompt)
    rt = [runtime.budgets.index(runtime.decide_test(rows[q], sleep_level=levels[q], c_prime_ready=True, prompt_tokens=float(prompt[q]))["budget"]) for q in range(n)]  # fmt: skip
    assert np.array_equal(lib, np.array(rt)), "runtime and library disagree"

    ctx_rows = [{k: float(items.context_features[k][c]) for k in runtime.context_features_used} for c in range(items.n_contexts)]  # fmt: skip
    j = 0

    def runtime_sleep_call() -> object:
        nonlocal j
        j = (j + 1) % items.n_contexts
        return runtime.decide_sleep(ctx_rows[j], context_tokens=float(items.context_tokens[j]))

    lib_sleep = distilled.decide_sleep(items, scenario.env)
    rt_sleep = [runtime.sleep_levels.index(runtime.decide_sleep(ctx_rows[c], context_tokens=float(items.context_tokens[c]))["sleep_level"]) for c in range(items.n_contexts)]  # fmt: skip
    assert np.array_equal(lib_sleep, np.array(rt_sleep)), "runtime and library disagree (sleep)"

    t_sleep = per_call(runtime_sleep_call, 5_000, args.rounds)
    t_rt = per_call(runtime_call, 20_000, args.rounds)
    t_sk = per_call(sklearn_predict, 300, args.rounds)
    t_lib = per_call(library_decision, 30, args.rounds)
    t_import = import_time()
    print(f"artifact: {size / 1024:.0f} KiB, {distilled.test_tree.n_leaves} + {distilled.sleep_tree.n_leaves} leaves; load {1000 * load_s:.1f} ms")  # fmt: skip
    print(f"import sleeptime.runtime (fresh interpreter, median of 7): {1000 * t_import:.1f} ms")
    print(f"runtime decide_test (pure Python, returns request params): {1e6 * t_rt:8.2f} us per decision")  # fmt: skip
    print(f"runtime decide_sleep ({runtime.question_draws} question draws, once per context): {1e6 * t_sleep:8.2f} us per decision")  # fmt: skip
    print(f"sklearn predict, learned policy's HGB model, one row:       {1e6 * t_sk:8.2f} us")
    print(f"library decision for one query (HGB, every action pair):   {1e6 * t_lib:8.2f} us ({t_lib / t_rt:.0f}x the runtime)")  # fmt: skip
    print(
        f"decisions checked equal to the library's distilled policy on {n} held-out query rows and {items.n_contexts} contexts"
    )
    print(f"ratio={t_sk / t_rt:.1f}")


if __name__ == "__main__":
    main()
