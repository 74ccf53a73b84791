"""Measured numbers of a real run, per cell (sleep level, budget, view), with bootstrap
intervals over contexts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CellSummary:
    """One (sleep level, budget, view) of a run: answers, accuracy with its 95% bootstrap
    interval over contexts, mean tokens, latency, USD per query (the query's own cost plus its
    share of its context's sleep-time cost), and answers that hit ``max_tokens`` or came
    without ``usage``."""

    sleep_level: str
    budget: str
    view: str
    answers: int
    contexts: int
    accuracy: float
    accuracy_ci95: tuple[float, float]
    test_input_tokens: float | None
    test_output_tokens: float | None
    sleep_output_tokens: float
    latency_s: float | None
    usd_per_query: float | None
    cut_by_max_tokens: int
    without_usage: int

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of every field, as ``--json`` prints it."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(known)) if len(known) == len(values) and known else None


def summarize_cells(records: Iterable[Mapping[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> list[CellSummary]:  # fmt: skip
    """Per cell, in the order cells first appear (sorted by sleep level, budget, view)."""
    from sleeptime.simulators import poisson_bootstrap

    cells: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        cells.setdefault((r["sleep_level"], r["budget"], r["view"]), []).append(r)
    out = []
    for (level, budget, view), rows in sorted(cells.items(), key=lambda kv: (kv[1][0]["sleep_action"], kv[1][0]["test_action"], kv[0][2])):  # fmt: skip
        contexts = sorted({r["context_id"] for r in rows})
        index = {c: i for i, c in enumerate(contexts)}
        sums = np.zeros(len(contexts))
        counts = np.zeros(len(contexts))
        for r in rows:
            sums[index[r["context_id"]]] += float(r["correct"])
            counts[index[r["context_id"]]] += 1

        def accuracy(w: np.ndarray, s: np.ndarray = sums, n: np.ndarray = counts) -> np.ndarray:
            return np.asarray((w @ s) / np.maximum(w @ n, 1.0))

        lo, hi = poisson_bootstrap(accuracy, len(contexts), n_boot=n_boot, rng=np.random.default_rng(seed))  # fmt: skip
        out.append(CellSummary(
            level, budget, view, len(rows), len(contexts), float(sums.sum() / counts.sum()), (lo, hi),
            _mean([r.get("test_input_tokens") for r in rows]), _mean([r.get("test_output_tokens") for r in rows]),
            float(np.mean([float(r.get("sleep_output_tokens") or 0) for r in rows])), _mean([r.get("latency_s") for r in rows]),
            _mean([r.get("usd") for r in rows]), sum(r.get("finish_reason") == "length" for r in rows),
            sum(not r.get("usage_reported", True) for r in rows),
        ))  # fmt: skip
    return out
