"""Real-run harness against a plain loop of ``openai`` client calls, in one run, on the local
server; and the speed of a rerun served from the response cache.

Both sides send the same answer requests (built-in contexts, test-only at one budget, greedy) to
the same llama.cpp server at the same concurrency; the harness also grades, prices and writes a
trace record per answer. ``ratio=`` (last line) is the harness's answers per second over the
plain loop's: the goal is >= 0.9 (the harness within 10% of the plain loop). A second pass of
the harness over the same design reads every answer from the cache (whole runs, startup
included, no HTTP connection opened); its records per second are printed too (goal: >= 5,000/s).

    python benchmarks/bench_live.py [--contexts 8] [--questions 3] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--contexts", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=int, default=1, help="verbosity level of the answers (default 1)")  # fmt: skip
    parser.add_argument(
        "--replays", type=int, default=20, help="cache-hit reruns to time (default 20)"
    )
    args = parser.parse_args()

    from openai import AsyncOpenAI

    from sleeptime.live import (
        Budget,
        Endpoint,
        Grid,
        LocalServer,
        Pricing,
        Prompts,
        Protocol,
        SleepLevel,
        collect,
        read_records,
    )
    from sleeptime.simulators import load_price_book
    from sleeptime.workloads import load_workload

    workload = load_workload("builtin", limit=args.contexts)
    protocol = Protocol(Prompts.load("gsm"))
    budget = Budget.level(args.budget)
    grid = Grid((SleepLevel.parse("none"),), (budget,), ("c",))
    pricing = Pricing(load_price_book("list-2025"), "gpt-4o-mini")
    requests = [protocol.answer_request(c.context, q.question, None, budget, "c", "")
                for c in workload.contexts for q in c.queries[: args.questions]]  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp, LocalServer(slots=args.concurrency) as server:
        endpoint = Endpoint(server.base_url, server.name, identity=server.identity)

        async def plain() -> int:
            client = AsyncOpenAI(base_url=server.base_url, api_key="none", max_retries=0)
            slots = asyncio.Semaphore(args.concurrency)

            async def one(r: object) -> int:
                async with slots:
                    out = await client.chat.completions.create(
                        model=server.name, messages=list(r.messages), **r.params
                    )  # type: ignore[attr-defined]
                return int(out.usage.completion_tokens)

            tokens = sum(await asyncio.gather(*(one(r) for r in requests)))
            await client.close()
            return tokens

        asyncio.run(plain())  # warm the server's slots once, on both sides' behalf
        rounds = []
        for k in range(2):  # alternate, so that neither side always runs on a warmer machine
            t = time.perf_counter()
            plain_tokens = asyncio.run(plain())
            t_plain = time.perf_counter() - t
            out = Path(tmp) / f"harness{k}.jsonl"
            t = time.perf_counter()
            _, client, _ = collect(workload, endpoint, out, design=grid, protocol=protocol, pricing=pricing,
                                   cache=Path(tmp) / f"cache{k}.sqlite", concurrency=args.concurrency, questions_per_context=args.questions)  # fmt: skip
            t_harness = time.perf_counter() - t
            assert len(read_records(out)) == len(requests) and client.stats.sent == len(requests)
            rounds.append((t_plain, t_harness, plain_tokens, client.stats.completion_tokens))
        # reruns: every answer from the cache, records written again (each into a new file)
        t = time.perf_counter()
        for k in range(args.replays):
            replay = Path(tmp) / f"replay{k}.jsonl"
            _, client, _ = collect(workload, endpoint, replay, design=grid, protocol=protocol, pricing=pricing,
                                   cache=Path(tmp) / "cache0.sqlite", concurrency=args.concurrency, questions_per_context=args.questions)  # fmt: skip
            assert client.stats.sent == 0 and len(read_records(replay)) == len(requests)
        t_replay = (time.perf_counter() - t) / args.replays

    n = len(requests)
    for k, (tp, th, pt, ht) in enumerate(rounds):
        print(f"round {k}: plain openai loop {n / tp:.3f} answers/s ({pt} tokens), harness {n / th:.3f} answers/s ({ht} tokens)")  # fmt: skip
    t_plain = sum(r[0] for r in rounds)
    t_harness = sum(r[1] for r in rounds)
    print(f"{n} answers x {len(rounds)} rounds at concurrency {args.concurrency}, local server ({server.name}), {os.cpu_count()} cores")  # fmt: skip
    print(f"plain openai loop: {len(rounds) * n / t_plain:.3f} answers/s; harness (grading, pricing, records, cache): {len(rounds) * n / t_harness:.3f} answers/s")  # fmt: skip
    print(f"cache-hit replay: {n / t_replay:.0f} records/s ({n} records in {t_replay:.4f} s per rerun, whole runs, mean of {args.replays}; no request sent)")  # fmt: skip
    print(f"ratio={t_plain / t_harness:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
