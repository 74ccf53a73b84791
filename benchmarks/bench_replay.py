"""Replay of one million queries: vectorized (the project) vs a plain per-query Python loop.

The reference, ``plain_loop``, is the same outcome model, prices, cache and arrival rules
written one query at a time: it reads each query's values from the items' arrays, computes with
``math``, and appends one trace record (a dict) per query, as the trace format (the README's trace fields) has it.
``lean_loop`` is the same loop hand-tuned (arrays converted to lists first, columns instead of
records); its time is printed too, so the reader sees both. In expected mode all three must
agree. Run: ``.venv/bin/python benchmarks/bench_replay.py [--queries 1000000]``. The last line
is ``ratio=<speedup over the plain loop>``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any

import numpy as np

from sleeptime.simulators import (
    SimItems,
    list_prices_2025,
    paper_outcome_model,
    replay,
    synthetic_items,
)
from sleeptime.simulators._outcomes import PaperOutcomeModel
from sleeptime.simulators._replay import SLEEP_PROMPT_TOKENS, TEST_PROMPT_TOKENS
from sleeptime.workloads import ArrivalProcess, GeometricCount


def _quantile(sorted_values: list[float], q: float) -> float:
    """numpy's default (linear) quantile of an already sorted list."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def lean_loop(
    items: SimItems, sleep: list[int], test: list[int], m: PaperOutcomeModel, model: str
) -> tuple[dict[str, float], dict[str, list[Any]]]:
    """The plain way: one context, then one query, at a time."""
    price = list_prices_2025().price(model)
    inp, outp = price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6
    sigma, gamma, spread = (
        m.difficulty_spread,
        float(m.predictability_effect or 0.0),
        m.token_spread,
    )
    c_tab, d_tab, boost = m._c.tolist(), m._d.tolist(), m._boost.tolist()
    tok_to, tok_st = m.tokens_test_only.tolist(), m.tokens_sleep_time.tolist()
    per_level, cprime_level = m._sleep_tokens.tolist(), m._cprime.tolist()
    qc, qt = items.query_context.tolist(), items.query_time_s.tolist()
    z, u = items.difficulty.tolist(), items.predictability.tolist()
    qtok, ctok = items.question_tokens.tolist(), items.context_tokens.tolist()
    counts = [0] * items.n_contexts
    for c in qc:
        counts[c] += 1
    sleep_in, sleep_out, sleep_usd, done = [], [], [], []
    for c in range(items.n_contexts):
        units = m.sleep_levels[sleep[c]].compute
        s_out = per_level[sleep[c]]
        s_in = units * (ctok[c] + SLEEP_PROMPT_TOKENS) if units > 0 else 0.0
        sleep_in.append(s_in)
        sleep_out.append(s_out)
        sleep_usd.append(price.batch_discount * (inp * s_in + outp * s_out))
        done.append(
            price.batch_latency_s + (s_out / units) / price.decode_tokens_per_s
            if units > 0
            else 0.0
        )
    traces: dict[str, list[Any]] = {
        k: []
        for k in (
            "correct",
            "test_output_tokens",
            "test_input_tokens",
            "latency_s",
            "usd",
            "served_with_sleep",
        )
    }
    total_test_usd = 0.0
    n_served = n_slept = 0
    prev_c, prev_t = -1, 0.0
    for i in range(len(qc)):
        c, k, s = qc[i], test[i], sleep[qc[i]]
        served = s > 0 and qt[i] >= done[c]
        n_slept += s > 0
        n_served += served
        if served:
            score, base, cprime = d_tab[k] + boost[s] + gamma * u[i], tok_st[k], cprime_level[s]
        else:
            score, base, cprime = c_tab[k], tok_to[k], 0.0
        p = 0.5 * math.erfc(-(score - sigma * z[i]) / math.sqrt(2.0))
        tokens = base * math.exp(spread * z[i] - spread * spread / 2)
        warm = c == prev_c and qt[i] - prev_t <= price.cache_ttl_s
        mult = price.cache_read_multiplier if warm else price.cache_write_multiplier
        prefix = ctok[c] + cprime
        test_usd = inp * (prefix * mult + qtok[i] + TEST_PROMPT_TOKENS) + outp * tokens
        total_test_usd += test_usd
        traces["correct"].append(p)
        traces["test_output_tokens"].append(tokens)
        traces["test_input_tokens"].append(prefix + qtok[i] + TEST_PROMPT_TOKENS)
        traces["latency_s"].append(price.ttft_s + tokens / price.decode_tokens_per_s)
        traces["usd"].append(test_usd + sleep_usd[c] / counts[c])
        traces["served_with_sleep"].append(served)
        prev_c, prev_t = c, qt[i]
    n = len(qc)
    latency = sorted(traces["latency_s"])
    total_usd = total_test_usd + sum(sleep_usd)
    aggregates = {
        "accuracy": sum(traces["correct"]) / n,
        "usd_per_query": total_usd / n,
        "test_tokens_per_query": sum(traces["test_output_tokens"]) / n,
        "test_input_tokens_per_query": sum(traces["test_input_tokens"]) / n,
        "sleep_tokens_per_context": sum(sleep_out) / len(sleep_out),
        "latency_p50_s": _quantile(latency, 0.5),
        "latency_p95_s": _quantile(latency, 0.95),
        "share_before_sleep_done": 1 - n_served / n_slept,
    }
    return aggregates, traces


def plain_loop(
    items: SimItems, sleep: np.ndarray, test: np.ndarray, m: PaperOutcomeModel, model: str
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The plain way: for each query, read its values, compute its outcome and cost, keep a record."""
    price = list_prices_2025().price(model)
    inp, outp = price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6
    sigma, gamma, spread = (
        m.difficulty_spread,
        float(m.predictability_effect or 0.0),
        m.token_spread,
    )
    counts = items.queries_per_context()
    records: list[dict[str, Any]] = []
    sleep_usd_total, sleep_tokens_total = 0.0, 0.0
    for c in range(items.n_contexts):
        level = m.sleep_levels[sleep[c]]
        if level.compute > 0:
            s_out = level.compute * m.sleep_tokens_per_unit
            s_in = level.compute * (items.context_tokens[c] + SLEEP_PROMPT_TOKENS)
            sleep_usd_total += price.batch_discount * (inp * s_in + outp * s_out)
            sleep_tokens_total += s_out
    prev_c, prev_t = -1, 0.0
    for i in range(items.n_queries):
        c = items.query_context[i]
        s, k = sleep[c], test[i]
        level = m.sleep_levels[s]
        s_out = level.compute * m.sleep_tokens_per_unit
        s_in = (
            level.compute * (items.context_tokens[c] + SLEEP_PROMPT_TOKENS)
            if level.compute > 0
            else 0.0
        )
        done = (
            price.batch_latency_s + m.sleep_tokens_per_unit / price.decode_tokens_per_s
            if level.compute > 0
            else 0.0
        )
        served = bool(s > 0 and items.query_time_s[i] >= done)
        if served:
            score = m._d[k] + m._boost[s] + gamma * items.predictability[i]
            base, cprime = m.tokens_sleep_time[k], m.cprime_fraction * m.sleep_tokens_per_unit
        else:
            score, base, cprime = m._c[k], m.tokens_test_only[k], 0.0
        p = 0.5 * math.erfc(-(score - sigma * items.difficulty[i]) / math.sqrt(2.0))
        tokens = base * math.exp(spread * items.difficulty[i] - spread * spread / 2)
        warm = c == prev_c and items.query_time_s[i] - prev_t <= price.cache_ttl_s
        mult = price.cache_read_multiplier if warm else price.cache_write_multiplier
        prefix = items.context_tokens[c] + cprime
        test_usd = (
            inp * (prefix * mult + items.question_tokens[i] + TEST_PROMPT_TOKENS) + outp * tokens
        )
        sleep_share = price.batch_discount * (inp * s_in + outp * s_out) / counts[c]
        records.append({
            "context_index": int(c), "sleep_action": int(s), "test_action": int(k),
            "sleep_input_tokens": float(s_in), "sleep_output_tokens": float(s_out),
            "test_input_tokens": float(prefix + items.question_tokens[i] + TEST_PROMPT_TOKENS),
            "test_output_tokens": float(tokens), "correct": float(p),
            "latency_s": float(price.ttft_s + tokens / price.decode_tokens_per_s),
            "usd": float(test_usd + sleep_share), "served_with_sleep": served,
        })  # fmt: skip
        prev_c, prev_t = c, items.query_time_s[i]
    n = len(records)
    latency = sorted(r["latency_s"] for r in records)
    slept = [r for r in records if r["sleep_action"] > 0]
    aggregates = {
        "accuracy": sum(r["correct"] for r in records) / n,
        "usd_per_query": sum(r["usd"] for r in records) / n,
        "test_tokens_per_query": sum(r["test_output_tokens"] for r in records) / n,
        "test_input_tokens_per_query": sum(r["test_input_tokens"] for r in records) / n,
        "sleep_tokens_per_context": sleep_tokens_total / items.n_contexts,
        "latency_p50_s": _quantile(latency, 0.5),
        "latency_p95_s": _quantile(latency, 0.95),
        "share_before_sleep_done": 1 - sum(r["served_with_sleep"] for r in slept) / len(slept),
    }
    return aggregates, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = "gpt-4o-mini"
    m = paper_outcome_model()
    n_ctx = args.queries // 4
    items = synthetic_items(
        n_ctx, arrivals=ArrivalProcess(queries=GeometricCount(4.0)), seed=args.seed
    )
    rng = np.random.default_rng(args.seed)
    sleep = rng.integers(0, len(m.sleep_levels), n_ctx)
    test = rng.integers(0, len(m.budgets), items.n_queries)

    def vectorized() -> Any:
        return replay(
            items,
            sleep_action=sleep,
            test_action=test,
            outcome=m,
            prices=list_prices_2025(),
            model=model,
            bootstrap=0,
        )

    vectorized()  # warm-up: imports and the items' cached arrays
    times = []
    for _ in range(5):
        started = time.perf_counter()
        result = vectorized()
        times.append(time.perf_counter() - started)
    vec_s = statistics.median(times)
    started = time.perf_counter()
    lean, lean_traces = lean_loop(items, sleep.tolist(), test.tolist(), m, model)
    lean_s = time.perf_counter() - started
    started = time.perf_counter()
    ref, records = plain_loop(items, sleep, test, m, model)
    loop_s = time.perf_counter() - started

    print(
        f"{items.n_queries:,} queries on {n_ctx:,} contexts, mixed sleep levels and budgets, expected mode"
    )
    worst = 0.0
    for key, value in ref.items():
        for other in (result.aggregates[key], lean[key]):
            worst = max(worst, abs(other - value) / max(abs(value), 1e-300))
        print(f"  {key:<28} vectorized {result.aggregates[key]:.10g}  plain loop {value:.10g}")
    for key, values in lean_traces.items():
        got = result.traces[key]
        plain_values = np.array([r[key] for r in records])
        for ref_values in (np.array(values), plain_values):
            if got.dtype == bool:
                worst = max(worst, 0.0 if np.array_equal(got, ref_values) else 1.0)
            else:
                worst = max(
                    worst, float(np.max(np.abs(got - ref_values) / np.maximum(np.abs(got), 1e-300)))
                )
    print(f"  per-query traces compared: {', '.join(lean_traces)}")
    print(
        f"vectorized:  {vec_s:8.3f} s  ({items.n_queries / vec_s:>12,.0f} queries/s, median of 5)"
    )
    print(
        f"lean loop:   {lean_s:8.3f} s  ({items.n_queries / lean_s:>12,.0f} queries/s; lists, columns)  ratio {lean_s / vec_s:.1f}"
    )
    print(
        f"plain loop:  {loop_s:8.3f} s  ({items.n_queries / loop_s:>12,.0f} queries/s; the reference)"
    )
    if worst > 1e-9:
        raise SystemExit(f"results differ (worst relative difference {worst:.2e})")
    print(f"same results: True (worst relative difference {worst:.1e})")
    print(f"ratio={loop_s / vec_s:.1f}")


if __name__ == "__main__":
    main()
