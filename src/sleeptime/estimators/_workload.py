"""Score a whole workload: one row per query with its log-prob and its context's features."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError
from sleeptime.estimators._cheap import CHEAP_FEATURES, cheap_features
from sleeptime.estimators._scorer import LM_FEATURES, CausalLMScorer
from sleeptime.workloads import Workload

#: Columns of a score table, in order (then meta columns where known).
SCORE_COLUMNS = (
    "context_id",
    "query_id",
    "logprob_sum",
    "logprob_mean",
    "n_tokens",
    *LM_FEATURES,
    *CHEAP_FEATURES,
)


def score_workload(
    workload: Workload,
    scorer: CausalLMScorer,
    *,
    limit: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per query: ``log p(q | c)`` (sum, mean, tokens), LM and cheap context features,
    plus ``template``, ``domain``, ``n_steps`` and ``predictability`` where the workload has them.
    ``limit`` keeps the first ``limit`` contexts. Uses and fills the scorer's feature cache.
    """
    from tqdm.auto import tqdm

    contexts = workload.contexts[:limit] if limit is not None else workload.contexts
    rows: list[dict[str, Any]] = []
    step = scorer.batch_size * 4
    bar = tqdm(total=len(contexts), desc="LM scores", unit="ctx", disable=not progress)
    cached_before = scorer.cached_contexts
    try:
        for start in range(0, len(contexts), step):
            chunk = contexts[start : start + step]
            results = scorer.score_cached(
                [(c.context, [q.question for q in c.queries]) for c in chunk]
            )
            for ctx, (scores, lm_feats) in zip(chunk, results, strict=True):
                cheap = cheap_features(ctx.context)
                for q, s in zip(ctx.queries, scores, strict=True):
                    row: dict[str, Any] = {
                        "context_id": ctx.context_id,
                        "query_id": q.query_id,
                        "logprob_sum": s.logprob_sum,
                        "logprob_mean": s.logprob_mean,
                        "n_tokens": s.n_tokens,
                        **lm_feats,
                        **cheap,
                    }
                    for key in ("template", "domain", "benchmark"):
                        if key in ctx.meta:
                            row[key] = ctx.meta[key]
                    for key in ("n_steps", "predictability"):
                        if key in q.meta:
                            row[key] = q.meta[key]
                    rows.append(row)
            if scorer.cache is not None:
                bar.set_postfix_str(f"{scorer.cached_contexts - cached_before} from the cache", refresh=False)  # fmt: skip
            bar.update(len(chunk))
    finally:
        bar.close()
    return rows


def context_matrix(
    rows: Sequence[dict[str, Any]], names: Sequence[str]
) -> tuple[list[dict[str, Any]], Any, Any]:
    """Group score rows by context: (each context's first row, its features ``(n_contexts,
    len(names))``, the mean ``logprob_mean`` of its questions ``(n_contexts,)``), in order."""
    import numpy as np

    by_context: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_context.setdefault(str(row["context_id"]), []).append(row)
    groups = list(by_context.values())
    X = np.array([[float(g[0][n]) for n in names] for g in groups], dtype=np.float64)
    y = np.array([np.mean([float(r["logprob_mean"]) for r in g]) for g in groups], dtype=np.float64)
    return [g[0] for g in groups], X, y


def write_table(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write ``rows`` as ``.csv`` or ``.parquet`` (by the suffix), atomically."""
    import csv

    from sleeptime._atomic import atomic_open, atomic_path

    target = Path(path)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    suffix = target.suffix.lower()
    if suffix == ".csv":
        with atomic_open(target) as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows])
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp)
    else:
        raise SleeptimeError(f"{target}: the output must end in .csv or .parquet")
    return target


def read_table(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a table written by :func:`write_table` (numbers come back as floats where numeric)."""
    import csv

    source = Path(path)
    if not source.is_file():
        raise SleeptimeError(f"{source}: no such file")
    if source.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_table(source).to_pylist())
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            with contextlib.suppress(TypeError, ValueError):
                row[key] = float(value)
    return rows
