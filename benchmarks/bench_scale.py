"""Scale: 10 million queries replayed in bounded memory, and a 500-trial study on the journal.

1. Replay: ``replay_stream`` over chunks of about one million queries (the project) against one
   ``replay`` of all ten million at once (the baseline), each in a fresh process; prints wall
   time, peak RSS of each process and the aggregates of both (different random items of the same
   distribution, so they agree to sampling error). Ratio: peak RSS of the baseline over the
   project's.
2. Study: 500 Optuna trials of the policy search (140 built-in contexts, every model fitted
   beforehand) on the journal file storage, against the same study in memory; prints trials
   per second of each.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--queries 10000000] [--trials 500]``. Last
line: ``ratio=<peak RSS of one-shot replay / peak RSS of streamed replay>``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

REPLAY = r"""
import json, resource, sys, time
import numpy as np
from sleeptime.simulators import list_prices_2025, replay, replay_stream, synthetic_items
from sleeptime.simulators import paper_outcome_model

queries, how = int(sys.argv[1]), sys.argv[2]
model, prices = paper_outcome_model(), list_prices_2025()
per_chunk_contexts = 250_000                      # about a million queries (4 per context)
n_chunks = max(1, round(queries / (4 * per_chunk_contexts)))

def chunk(i, n_contexts):
    items = synthetic_items(n_contexts, seed=1000 + i)
    rng = np.random.default_rng(i)
    return items, rng.integers(0, 5, items.n_contexts), rng.integers(0, 3, items.n_queries)

t = time.perf_counter()
if how == "stream":
    agg = replay_stream((chunk(i, per_chunk_contexts) for i in range(n_chunks)), outcome=model, prices=prices, model="gpt-4o-mini")
else:
    items, sleep, test = chunk(0, per_chunk_contexts * n_chunks)
    agg = replay(items, sleep_action=sleep, test_action=test, outcome=model, prices=prices, model="gpt-4o-mini", bootstrap=0).aggregates
seconds = time.perf_counter() - t
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
keep = ("queries", "accuracy", "usd_per_query", "test_tokens_per_query", "latency_p95_s")
print(json.dumps({"seconds": seconds, "peak_rss_mb": rss_mb, **{k: float(agg[k]) for k in keep}}))
"""


def replay_side(queries: int, how: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", REPLAY, str(queries), how], capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def study_side(trials: int) -> dict[str, float]:
    import optuna

    from sleeptime.experiments import ScenarioConfig, build_scenario
    from sleeptime.experiments._study import PolicySearch, run_study

    search = PolicySearch(build_scenario(ScenarioConfig(n_contexts=140), progress=False))
    space = _space()
    for lr in space["learning_rate"]:  # fit every model once, so both sides time the study itself
        for leaves in space["max_leaf_nodes"]:
            search.evaluate({"lam": space["lam"][0], "learning_rate": lr, "max_leaf_nodes": leaves})
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, storage in (("memory", None), ("journal", f"{tmp}/journal.log")):
            t = time.perf_counter()
            if storage is None:
                study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.TPESampler(seed=0))  # fmt: skip
                study.optimize(lambda tr: search.evaluate({k: tr.suggest_categorical(k, list(v)) for k, v in _space().items()}), n_trials=trials)  # fmt: skip
            else:
                study = run_study(
                    search, n_trials=trials, study_name="scale", storage=storage, seed=0
                )
            out[f"{name}_seconds"] = time.perf_counter() - t
            out[f"{name}_trials"] = float(len(study.trials))
    return out


def _space() -> dict[str, tuple[object, ...]]:
    from sleeptime.experiments._study import SPACE

    return SPACE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--queries", type=int, default=10_000_000)
    parser.add_argument("--trials", type=int, default=500)
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stream = replay_side(args.queries, "stream")
    whole = replay_side(args.queries, "whole")
    for name, r in (("streamed (project)", stream), ("one replay (baseline)", whole)):
        print(f"{name:>22}: {r['queries']:,.0f} queries in {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB; "
              f"accuracy {r['accuracy']:.4f}, USD/query {r['usd_per_query']:.3e}, test tokens {r['test_tokens_per_query']:.1f}, "
              f"p95 latency {r['latency_p95_s']:.2f} s")  # fmt: skip
    s = study_side(args.trials)
    print(f"study, {args.trials} trials: journal file {s['journal_seconds']:.1f} s ({s['journal_trials'] / s['journal_seconds']:.1f} trials/s), "
          f"in memory {s['memory_seconds']:.1f} s ({s['memory_trials'] / s['memory_seconds']:.1f} trials/s)")  # fmt: skip
    print(f"ratio={whole['peak_rss_mb'] / stream['peak_rss_mb']:.1f}")


if __name__ == "__main__":
    main()
