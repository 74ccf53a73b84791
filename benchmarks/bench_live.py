"""Real runs against the hardware's limit, in one run, on the local server (measured).

1. **Harness against a plain loop**: the same answer requests (built-in contexts, test-only at
   one budget, greedy) sent by a plain loop of ``openai`` client calls and by the harness
   (grading, pricing, a trace record per answer, the cache), alternating, same server and
   concurrency; ``harness_ratio=`` is the harness's answers per second over the plain loop's
   (goal >= 0.9). Then a rerun served from the response cache (records per second).
2. **An exploration grid with prefix reuse against without it**: ``--sleep-levels none,k1
   --budgets 0,2`` and the views that apply (test-only sees ``c``; ``k1`` sees ``c'`` alone and
   both), the same model, sample, request order, slots and threads; one server with its prompt
   cache on (``reuse``, the default), one with it off. Wall time, prompt tokens the server read
   from its cache, and accuracy per cell with 95% bootstrap intervals, side by side.
3. **The server's own nondeterminism**: the grid's answer requests sent twice more to the server
   without reuse (fresh response caches); the share of answers that differ between those two
   passes is what batching alone changes, to hold the reuse/no-reuse difference against.
4. **The limit**: llama.cpp's ``llama-batched-bench`` (same build, same model) measures prefill
   and decode speed at 1, 2 and 4 parallel sequences and 1 and 2 threads; the limit is the time
   the best prefill speed and the best decode speed need for the grid's tokens, prefill counting
   only prompt tokens not read from the cache. ``limit_ratio=`` (last line) is the reuse run's
   wall time over that limit (goal <= 1.3).

    python benchmarks/bench_live.py [--contexts 8] [--questions 3] [--concurrency 4] [--qwen]

``--qwen`` runs Qwen2.5-Coder-1.5B-Instruct (``make stronger-model`` downloads it; opt-in)
instead of the default SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
QWEN = Path(__file__).resolve().parents[1] / "models" / "qwen2.5-coder-1.5b-instruct.gguf"


def _limit(bench: Path, model: Path, prompt: int, threads: list[int]) -> dict[str, Any]:
    """The best prefill and decode speeds ``llama-batched-bench`` measures here."""
    rows = []
    for t in threads:
        cmd = [str(bench), "-m", str(model), "-c", "8192", "-b", "2048", "-ub", "512", "-npp", str(prompt), "-ntg", "64",
               "-npl", "1,2,4", "-t", str(t), "--output-format", "jsonl"]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=True)
        rows += [{**json.loads(line), "threads": t} for line in (out.stdout + out.stderr).splitlines() if line.startswith('{"n_kv_max"')]  # fmt: skip
    if not rows:
        raise SystemExit("llama-batched-bench printed no measurement")
    pp = max(rows, key=lambda r: r["speed_pp"])
    tg = max(rows, key=lambda r: r["speed_tg"])
    return {"rows": rows, "prefill_tok_s": pp["speed_pp"], "prefill_at": (pp["pl"], pp["threads"]),
            "decode_tok_s": tg["speed_tg"], "decode_at": (tg["pl"], tg["threads"])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--contexts", type=int, default=8)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=int, default=1, help="verbosity level of part 1's answers (default 1)")  # fmt: skip
    parser.add_argument("--replays", type=int, default=20, help="cache-hit reruns to time (default 20)")  # fmt: skip
    parser.add_argument("--qwen", action="store_true", help=f"Qwen2.5-Coder-1.5B-Instruct ({QWEN}, from make stronger-model)")  # fmt: skip
    parser.add_argument("--skip-plain", action="store_true", help="skip part 1")
    args = parser.parse_args()

    from openai import AsyncOpenAI

    from sleeptime.live import (
        Budget,
        Grid,
        LocalServer,
        Pricing,
        Prompts,
        Protocol,
        SleepLevel,
        collect,
        default_model_file,
        installed_build,
        read_records,
        summarize_cells,
    )
    from sleeptime.simulators import load_price_book
    from sleeptime.workloads import load_workload

    model = QWEN if args.qwen else default_model_file()
    if not model.is_file():
        raise SystemExit(f"{model}: missing (make stronger-model downloads it)")
    build = installed_build()
    if build is None:
        raise SystemExit("the portable llama-server is not built: sleeptime build-server")
    workload = load_workload("builtin", limit=args.contexts)
    protocol = Protocol(Prompts.load("gsm"))
    pricing = Pricing(load_price_book("list-2025"), "gpt-4o-mini")
    print(f"model {model.name}; {args.contexts} built-in contexts x {args.questions} questions; concurrency {args.concurrency}; "
          f"{os.cpu_count()} cores; llama.cpp {build.manifest['source']['llama_cpp']} (portable build)", flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        # -- 1. the harness against a plain loop -----------------------------------------------
        if not args.skip_plain:
            budget = Budget.level(args.budget)
            grid1 = Grid((SleepLevel.parse("none"),), (budget,), ("c",))
            requests = [protocol.answer_request(c.context, q.question, None, budget, "c", "")
                        for c in workload.contexts for q in c.queries[: args.questions]]  # fmt: skip
            with LocalServer(model, slots=args.concurrency) as server:
                endpoint = server.endpoint()

                async def plain() -> int:
                    client = AsyncOpenAI(
                        base_url=server.base_url, api_key=server.api_key, max_retries=0
                    )
                    slots = asyncio.Semaphore(args.concurrency)

                    async def one(r: Any) -> int:
                        async with slots:
                            out = await client.chat.completions.create(model=server.name, messages=list(r.messages), **r.params)  # fmt: skip
                        return int(out.usage.completion_tokens)  # type: ignore[union-attr]

                    tokens = sum(await asyncio.gather(*(one(r) for r in requests)))
                    await client.close()
                    return tokens

                asyncio.run(plain())  # warm the server once, on both sides' behalf
                rounds = []
                for k in range(
                    2
                ):  # alternate, so that neither side always runs on a warmer machine
                    t = time.perf_counter()
                    plain_tokens = asyncio.run(plain())
                    t_plain = time.perf_counter() - t
                    out = Path(tmp) / f"harness{k}.jsonl"
                    t = time.perf_counter()
                    _, client, _ = collect(workload, endpoint, out, design=grid1, protocol=protocol, pricing=pricing,
                                           cache=Path(tmp) / f"cache{k}.sqlite", concurrency=args.concurrency, questions_per_context=args.questions)  # fmt: skip
                    t_harness = time.perf_counter() - t
                    assert len(read_records(out)) == len(requests) and client.stats.sent == len(
                        requests
                    )
                    rounds.append(
                        (t_plain, t_harness, plain_tokens, client.stats.completion_tokens)
                    )
                t = time.perf_counter()
                for k in range(args.replays):
                    replay = Path(tmp) / f"replay{k}.jsonl"
                    _, client, _ = collect(workload, endpoint, replay, design=grid1, protocol=protocol, pricing=pricing,
                                           cache=Path(tmp) / "cache0.sqlite", concurrency=args.concurrency, questions_per_context=args.questions)  # fmt: skip
                    assert client.stats.sent == 0 and len(read_records(replay)) == len(requests)
                t_replay = (time.perf_counter() - t) / args.replays
            n = len(requests)
            for k, (tp, th, pt, ht) in enumerate(rounds):
                print(f"[1] round {k}: plain openai loop {n / tp:.3f} answers/s ({pt} tokens), harness {n / th:.3f} answers/s ({ht} tokens)")  # fmt: skip
            t_plain = sum(r[0] for r in rounds)
            t_harness = sum(r[1] for r in rounds)
            print(f"[1] plain openai loop {len(rounds) * n / t_plain:.3f} answers/s; harness {len(rounds) * n / t_harness:.3f} answers/s; "
                  f"cache-hit rerun {n / t_replay:.0f} records/s; harness_ratio={t_plain / t_harness:.3f}", flush=True)  # fmt: skip

        # -- 2. the exploration grid with reuse and without ------------------------------------
        grid = Grid((SleepLevel.parse("none"), SleepLevel.parse("k1")), (Budget.level(0), Budget.level(2)), ("c", "c_prime", "both"))  # fmt: skip
        runs: dict[str, dict[str, Any]] = {}
        for name, cache_prompt in (
            ("reuse", True),
            ("no reuse", False),
            ("no reuse, again", False),
        ):
            with LocalServer(model, slots=args.concurrency, cache_prompt=cache_prompt) as server:
                out = Path(tmp) / f"grid-{name.replace(' ', '_').replace(',', '')}.jsonl"
                t = time.perf_counter()
                stats, client, _ = collect(workload, server.endpoint(), out, design=grid, protocol=protocol, pricing=pricing,
                                           cache=out.with_suffix(".sqlite"), concurrency=args.concurrency, questions_per_context=args.questions)  # fmt: skip
                wall = time.perf_counter() - t
            records = read_records(out)
            sleeps = read_records(out.with_name(out.name.removesuffix(".jsonl") + ".sleep.jsonl"))
            runs[name] = {
                "wall": wall,
                "records": records,
                "sleeps": sleeps,
                "sent": client.stats.sent,
                "errors": stats.errors,
            }
            prompt = sum(r["test_input_tokens"] or 0 for r in records) + sum(
                s["input_tokens"] or 0 for s in sleeps
            )
            cached = sum(r["cached_prompt_tokens"] or 0 for r in records)
            decode = sum(r["test_output_tokens"] or 0 for r in records) + sum(
                s["output_tokens"] or 0 for s in sleeps
            )
            runs[name].update(prompt=prompt, cached=cached, decode=decode)
            print(f"[2] {name}: {len(records)} answers + {len(sleeps)} rewrites in {wall:.1f} s ({client.stats.sent} requests); "
                  f"prompt tokens {prompt:,} of which read from the cache {cached:,} ({cached / max(prompt, 1):.0%}); "
                  f"completion tokens {decode:,}", flush=True)  # fmt: skip

        def answers(name: str) -> dict[tuple[str, ...], str]:
            return {(r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"]): r["response"] for r in runs[name]["records"]}  # fmt: skip

        def differ(a: str, b: str) -> tuple[int, int]:
            x, y = answers(a), answers(b)
            keys = sorted(set(x) & set(y))
            return sum(x[k] != y[k] for k in keys), len(keys)

        print("\n[2] accuracy per cell (measured; 95% bootstrap over contexts)")
        print(f"{'sleep':<6}{'budget':<7}{'view':<8}{'reuse':>26}{'no reuse':>26}")
        cells = {name: {(c.sleep_level, c.budget, c.view): c for c in summarize_cells(runs[name]["records"], seed=0)} for name in ("reuse", "no reuse")}  # fmt: skip
        for key in cells["reuse"]:
            row = ""
            for name in ("reuse", "no reuse"):
                c = cells[name].get(key)
                row += (
                    f"{c.accuracy:>10.3f} ({c.accuracy_ci95[0]:.3f}-{c.accuracy_ci95[1]:.3f})"
                    if c
                    else f"{'n/a':>26}"
                )
            print(f"{key[0]:<6}{key[1]:<7}{key[2]:<8}{row}")
        d_reuse, n_reuse = differ("reuse", "no reuse")
        d_noise, n_noise = differ("no reuse", "no reuse, again")
        print(f"[3] answers that differ: reuse vs no reuse {d_reuse}/{n_reuse}; no reuse vs no reuse again (the server's own "
              f"nondeterminism, 4 slots batched) {d_noise}/{n_noise}", flush=True)  # fmt: skip

        # -- 4. the limit ----------------------------------------------------------------------
        r = runs["reuse"]
        mean_prompt = int(r["prompt"] / max(1, len(r["records"]) + len(r["sleeps"])))
        limit = _limit(build.folder / "llama-batched-bench", model, max(mean_prompt, 32), sorted({1, os.cpu_count() or 1}))  # fmt: skip
        for row in limit["rows"]:
            print(f"[4] llama-batched-bench: {row['pl']} sequences, {row['threads']} threads: prefill {row['speed_pp']:.1f} tok/s, decode {row['speed_tg']:.1f} tok/s")  # fmt: skip
        prefill = r["prompt"] - r["cached"]
        t_limit = prefill / limit["prefill_tok_s"] + r["decode"] / limit["decode_tok_s"]
        t_limit_nr = runs["no reuse"]["prompt"] / limit["prefill_tok_s"] + runs["no reuse"]["decode"] / limit["decode_tok_s"]  # fmt: skip
        print(f"[4] limit: {prefill:,} prefill tokens at {limit['prefill_tok_s']:.1f} tok/s (best: {limit['prefill_at'][0]} sequences, "
              f"{limit['prefill_at'][1]} threads) + {r['decode']:,} decode tokens at {limit['decode_tok_s']:.1f} tok/s (best: "
              f"{limit['decode_at'][0]} sequences, {limit['decode_at'][1]} threads) = {t_limit:.1f} s")  # fmt: skip
        print(f"[4] grid wall time: reuse {r['wall']:.1f} s, no reuse {runs['no reuse']['wall']:.1f} s (its own limit {t_limit_nr:.1f} s); "
              f"reuse speed-up {runs['no reuse']['wall'] / r['wall']:.2f}x")  # fmt: skip
        print(f"limit_ratio={r['wall'] / t_limit:.3f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
