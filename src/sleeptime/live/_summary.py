"""Measured numbers of a real run, per cell (sleep level, budget, view), with bootstrap
intervals over contexts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sleeptime._json import AsJson


@dataclass(frozen=True)
class CellSummary(AsJson):
    """One (sleep level, budget, view) of a run: answers, accuracy with its 95% bootstrap
    interval over contexts, mean tokens, latency, USD per query (the query's own cost plus its
    share of its context's sleep-time cost), answers that hit ``max_tokens`` or came without
    ``usage``, and, where every record of the cell has one, the mean graded ``score`` (a span's
    token F1) with its interval. In a run across models, ``model`` answers and ``sleep_model``
    wrote the notes it read (None without notes); one model: both None."""

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
    score: float | None = None
    score_ci95: tuple[float, float] | None = None
    sleep_model: str | None = None
    model: str | None = None


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(known)) if len(known) == len(values) and known else None


def _mean_ci(rows: Sequence[Mapping[str, Any]], key: str, n_boot: int, rng: np.random.Generator) -> tuple[float, tuple[float, float]]:  # fmt: skip
    """The mean of ``key`` over ``rows`` and its 95% Poisson bootstrap interval over contexts."""
    from sleeptime.simulators import poisson_bootstrap

    index = {c: i for i, c in enumerate(sorted({r["context_id"] for r in rows}))}
    sums, counts = np.zeros(len(index)), np.zeros(len(index))
    for r in rows:
        sums[index[r["context_id"]]] += float(r[key])
        counts[index[r["context_id"]]] += 1

    def mean(w: np.ndarray) -> np.ndarray:
        return np.asarray((w @ sums) / np.maximum(w @ counts, 1.0))

    return float(sums.sum() / counts.sum()), poisson_bootstrap(mean, len(index), n_boot=n_boot, rng=rng)  # fmt: skip


def summarize_cells(records: Iterable[Mapping[str, Any]], *, seed: int = 0, n_boot: int = 1000) -> list[CellSummary]:  # fmt: skip
    """Per cell, sorted by sleep level, budget and view (across models: by the model that wrote
    the notes and the one that answers, within each)."""
    rows_of = list(records)
    across = len({r.get("model") for r in rows_of}) > 1
    cells: dict[tuple[str, str, str, str | None, str | None], list[Mapping[str, Any]]] = {}
    for r in rows_of:
        writer = (r.get("sleep_model") or r.get("model")) if across and r["view"] != "c" else None
        cells.setdefault((r["sleep_level"], r["budget"], r["view"], writer, r.get("model") if across else None), []).append(r)  # fmt: skip
    out = []
    for (level, budget, view, writer, reader), rows in sorted(cells.items(), key=lambda kv: (kv[1][0]["sleep_action"], kv[1][0]["test_action"], kv[0][2], str(kv[0][3]), str(kv[0][4]))):  # fmt: skip
        rng = np.random.default_rng(seed)
        contexts = len({r["context_id"] for r in rows})
        acc, (lo, hi) = _mean_ci(rows, "correct", n_boot, rng)
        score = _mean_ci(rows, "score", n_boot, rng) if all(r.get("score") is not None for r in rows) else None  # fmt: skip
        out.append(CellSummary(
            level, budget, view, len(rows), contexts, acc, (lo, hi),
            _mean([r.get("test_input_tokens") for r in rows]), _mean([r.get("test_output_tokens") for r in rows]),
            float(np.mean([float(r.get("sleep_output_tokens") or 0) for r in rows])), _mean([r.get("latency_s") for r in rows]),
            _mean([r.get("usd") for r in rows]), sum(r.get("finish_reason") == "length" for r in rows),
            sum(not r.get("usage_reported", True) for r in rows),
            *(score if score else (None, None)),
        ))  # fmt: skip
        if across:
            out[-1] = replace(out[-1], sleep_model=writer, model=reader)
    return out
