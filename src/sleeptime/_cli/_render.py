"""Rendering a command's result: strict JSON with ``--json``, readable text without."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sleeptime._json import dumps, jsonable


def emit(args: argparse.Namespace, result: Any, human: Callable[[dict[str, Any]], str]) -> dict[str, Any]:  # fmt: skip
    """Print ``result`` as strict JSON (``--json``) or as ``human`` renders it; returns it as
    JSON data."""
    data: dict[str, Any] = jsonable(result)
    print(dumps(data) if getattr(args, "json", False) else human(data))
    return data


def number(value: float | None, spec: str) -> str:
    """``value`` formatted, or ``n/a`` where it does not exist (JSON null)."""
    return "n/a" if value is None else format(value, spec)


def policy_table(policies: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per policy: accuracy, USD per 1k queries, tokens and p95 latency."""
    lines = [f"{'policy':<36} {'accuracy':>9} {'USD/1k q':>9} {'test tok':>9} {'sleep tok':>9} {'p95 s':>6}"]  # fmt: skip
    for p in policies:
        lines.append(f"{p['name']:<36} {p['accuracy']:9.3f} {1000 * p['usd_per_query']:9.4f} {p['test_tokens_per_query']:9.1f} "
                     f"{p['sleep_tokens_per_context']:9.1f} {p['latency_p95_s']:6.2f}")  # fmt: skip
    return lines


def learned_lines(name: str, d: Mapping[str, Any]) -> list[str]:
    """A learned policy against the operating point; cost changes negative = cheaper."""

    def ch(x: float | None) -> str:
        return "n/a" if x is None else f"{-x:+.1%}"

    lo, hi = d["cost_reduction_at_reaching_point_ci95"]
    return [f"{name}: cost change at equal accuracy {ch(d['cost_reduction_at_equal_accuracy'])} (two operating points mixed); "
            f"at its first single point reaching it {ch(d['cost_reduction_at_reaching_point'])} (95% CI {ch(hi)} to {ch(lo)}); "
            f"oracle gap closed {number(d['oracle_gap_closed'], '.2f')}; accuracy gain at equal cost {number(d['accuracy_gain_at_equal_cost'], '+.3f')}"]  # fmt: skip


def replay_block(a: Mapping[str, Any]) -> str:
    """One block of replay aggregates (simulated)."""
    lo, hi = a["accuracy_ci95"]
    return (
        f"queries {a['queries']:,} on {a['contexts']:,} contexts ({a['mode']} mode, simulated)\n"
        f"accuracy              {a['accuracy']:.3f}  (95% CI {number(lo, '.3f')}-{number(hi, '.3f')})\n"
        f"USD per 1k queries    {a['usd_per_1k_queries']:.4f}  (sleep-time share {a['sleep_share_of_usd']:.0%})\n"
        f"test tokens / query   {a['test_tokens_per_query']:.1f}\n"
        f"sleep tokens / ctx    {a['sleep_tokens_per_context']:.1f}\n"
        f"latency p50 / p95     {a['latency_p50_s']:.2f} s / {a['latency_p95_s']:.2f} s\n"
        f"before sleep done     {a['share_before_sleep_done']:.1%} of queries on slept contexts"
    )
