"""Scoring log p(q | c): the plain way vs the project's way, in one run.

Plain: one full forward pass per (context, question) pair, logits at every position.
Project: ``CausalLMScorer.score_many``: each context packed once with its questions' prefix
tree, several contexts per pass, logits only where a question token is predicted.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--contexts 50] [--questions 5]``.
The last line is ``ratio=<speedup>``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from sleeptime.estimators import CausalLMScorer
    from sleeptime.workloads import generate_workload

    workload = generate_workload(args.contexts, seed=args.seed)
    items = [
        (c.context, [q.question for q in c.queries[: args.questions]]) for c in workload.contexts
    ]
    scorer = CausalLMScorer(cache=False)
    scorer.score_many(items[:2])  # load the model and warm up both paths
    scorer.score_plain(items[0][0], items[0][1][0])
    n_scored = sum(len(scorer.question_ids(q)) for _, qs in items for q in qs)
    n_pairs = sum(len(qs) for _, qs in items)

    started = time.perf_counter()
    plain = [[scorer.score_plain(c, q) for q in qs] for c, qs in items]
    plain_s = time.perf_counter() - started

    started = time.perf_counter()
    packed = [scores for scores, _ in scorer.score_many(items)]
    packed_s = time.perf_counter() - started

    worst = max(
        abs(a.logprob_sum - b.logprob_sum)
        for pa, pb in zip(plain, packed, strict=True)
        for a, b in zip(pa, pb, strict=True)
    )
    same = worst < 1e-3 and all(
        a.n_tokens == b.n_tokens
        for pa, pb in zip(plain, packed, strict=True)
        for a, b in zip(pa, pb, strict=True)
    )
    print(
        f"model: {scorer.source.location} (float32, {scorer._device}, {torch.get_num_threads()} threads)"
    )
    print(
        f"workload: {args.contexts} built-in contexts x {args.questions} questions = {n_pairs} pairs, {n_scored} question tokens"
    )
    print(f"plain:   {plain_s:7.2f} s  {n_scored / plain_s:8.1f} scored tokens/s")
    print(f"project: {packed_s:7.2f} s  {n_scored / packed_s:8.1f} scored tokens/s")
    print(f"same results: {same} (max |difference| {worst:.2e} nats per question)")
    if not same:
        raise SystemExit("the two ways disagree")
    print(f"ratio={plain_s / packed_s:.2f}")


if __name__ == "__main__":
    main()
