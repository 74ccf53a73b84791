"""Simulation items: the queries that arrive on each context, with their latents and features."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._errors import SleeptimeError
from sleeptime._types import FloatArray, IntArray
from sleeptime.workloads import ArrivalProcess, Arrivals, Workload


def _standardize(x: FloatArray) -> FloatArray:
    std = float(x.std())
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


@dataclass(frozen=True)
class SimItems:
    """Queries to replay, sorted by context then arrival time.

    Per query (length ``n_queries``): ``query_context`` (index of its context), ``query_time_s``
    (seconds after its context arrived), latents ``difficulty`` and ``predictability`` (standard
    normal; the oracle's only), ``observed_predictability`` (what a policy may see, e.g. the
    standardized log p(q | c)), ``question_tokens``. Per context: ``context_tokens``. ``features``
    holds further per-query arrays a policy may use; ``context_features`` per-context arrays.
    """

    query_context: IntArray
    query_time_s: FloatArray
    difficulty: FloatArray
    predictability: FloatArray
    observed_predictability: FloatArray
    question_tokens: FloatArray
    context_tokens: FloatArray
    features: Mapping[str, FloatArray] = field(default_factory=dict)
    context_features: Mapping[str, FloatArray] = field(default_factory=dict)
    query_ids: tuple[str, ...] | None = None
    context_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in (
            "query_context",
            "query_time_s",
            "difficulty",
            "predictability",
            "observed_predictability",
            "question_tokens",
            "context_tokens",
        ):
            # items never change once drawn: outcome models may cache what they derive from them
            getattr(self, name).flags.writeable = False
        n = self.query_context.shape[0]
        for name in (
            "query_time_s",
            "difficulty",
            "predictability",
            "observed_predictability",
            "question_tokens",
        ):
            if getattr(self, name).shape != (n,):
                raise SleeptimeError(f"SimItems.{name} must have shape ({n},)")
        if n and (
            np.any(np.diff(self.query_context) < 0) or self.query_context.max() >= self.n_contexts
        ):
            raise SleeptimeError("SimItems.query_context must be sorted and index context_tokens")

    @cached_property
    def gap_to_previous_s(self) -> FloatArray:
        """Seconds since the previous query of the same context (inf for a context's first)."""
        gap: FloatArray = np.full(self.n_queries, np.inf)
        same = self.query_context[1:] == self.query_context[:-1]
        gap[1:][same] = (self.query_time_s[1:] - self.query_time_s[:-1])[same]
        return gap

    @property
    def n_queries(self) -> int:
        """The number of queries (the length of every per-query array)."""
        return int(self.query_context.shape[0])

    @property
    def n_contexts(self) -> int:
        """The number of contexts (the length of ``context_tokens``), including any without
        queries."""
        return int(self.context_tokens.shape[0])

    def queries_per_context(self) -> IntArray:
        """The number of queries of each context, shape ``(n_contexts,)`` (a fresh copy)."""
        return self._counts.copy()

    @cached_property
    def _counts(self) -> IntArray:
        return np.bincount(self.query_context, minlength=self.n_contexts).astype(np.int64)

    def per_query(self, values: NDArray[Any]) -> NDArray[Any]:
        """A per-context array spread to its queries: ``values[query_context]``."""
        return np.asarray(values)[self.query_context]

    def subset(self, contexts: IntArray) -> SimItems:
        """The items of the given contexts (sorted indexes), renumbered from 0."""
        keep = np.isin(self.query_context, contexts)
        remap = np.full(self.n_contexts, -1, dtype=np.int64)
        remap[contexts] = np.arange(contexts.size)
        return SimItems(
            remap[self.query_context[keep]], self.query_time_s[keep], self.difficulty[keep],
            self.predictability[keep], self.observed_predictability[keep], self.question_tokens[keep],
            self.context_tokens[contexts],
            {k: v[keep] for k, v in self.features.items()},
            {k: v[contexts] for k, v in self.context_features.items()},
            tuple(np.asarray(self.query_ids, dtype=object)[keep]) if self.query_ids else None,
            tuple(np.asarray(self.context_ids, dtype=object)[contexts]) if self.context_ids else None,
        )  # fmt: skip


def link_latent(observed: FloatArray, rho: float, rng: np.random.Generator) -> FloatArray:
    """A standard-normal latent whose correlation with ``observed`` is ``rho``."""
    if not -1 <= rho <= 1:
        raise SleeptimeError(f"a correlation must be in [-1, 1], got {rho}")
    noise = rng.standard_normal(observed.shape[0])
    return np.asarray(rho * _standardize(observed) + np.sqrt(1 - rho**2) * noise, dtype=np.float64)


def synthetic_items(
    n_contexts: int,
    *,
    arrivals: ArrivalProcess | Arrivals | None = None,
    rho_predictability: float = 0.5,
    context_tokens_mean: float = 150.0,
    question_tokens_mean: float = 25.0,
    seed: int = 0,
) -> SimItems:
    """Items without text, for large what-if replays: lengths and observables are drawn."""
    rng = np.random.default_rng(seed)
    arr = (
        arrivals
        if isinstance(arrivals, Arrivals)
        else (arrivals or ArrivalProcess()).sample(n_contexts, seed=rng)
    )
    n = arr.n_queries
    observed = rng.standard_normal(n)
    return SimItems(
        arr.query_context, arr.query_time_s, rng.standard_normal(n),
        link_latent(observed, rho_predictability, rng), observed,
        rng.gamma(4.0, question_tokens_mean / 4.0, n), rng.gamma(4.0, context_tokens_mean / 4.0, arr.queries_per_context.size),
    )  # fmt: skip


def items_from_workload(
    workload: Workload,
    *,
    arrivals: ArrivalProcess | Arrivals | None = None,
    scores: Mapping[tuple[str, str], Mapping[str, float]] | None = None,
    rho_predictability: float = 0.5,
    rho_difficulty: float = 0.5,
    seed: int = 0,
) -> SimItems:
    """Items for a workload: each context receives the number of queries its arrivals say, drawn
    from its questions (cycling through them in a seeded order, then repeating).

    ``scores`` maps (context_id, query_id) to a score row (``sleeptime score``): its
    ``logprob_mean`` is the observed predictability and its feature columns become features.
    Without scores, the question's length stands in. The latent predictability correlates with
    the observed one at ``rho_predictability``; the latent difficulty with the number of
    reasoning steps (where known) at ``rho_difficulty``.
    """
    rng = np.random.default_rng(seed)
    n_ctx = workload.n_contexts
    arr = (
        arrivals
        if isinstance(arrivals, Arrivals)
        else (arrivals or ArrivalProcess()).sample(n_ctx, seed=rng)
    )
    if arr.queries_per_context.size != n_ctx:
        raise SleeptimeError(
            f"arrivals are for {arr.queries_per_context.size} contexts, the workload has {n_ctx}"
        )
    picks: list[tuple[int, int]] = []
    for ci, ctx in enumerate(workload.contexts):
        order = rng.permutation(len(ctx.queries))
        picks.extend(
            (ci, int(order[j % len(order)])) for j in range(int(arr.queries_per_context[ci]))
        )
    qctx = np.array([ci for ci, _ in picks], dtype=np.int64)
    queries = [workload.contexts[ci].queries[qi] for ci, qi in picks]
    context_tokens = np.array([len(c.context) / 4.0 for c in workload.contexts])
    question_tokens = np.array([len(q.question) / 4.0 for q in queries])
    features: dict[str, FloatArray] = {}
    ctx_features: dict[str, FloatArray] = {}
    if scores is not None:
        rows = []
        for (ci, _), q in zip(picks, queries, strict=True):
            key = (workload.contexts[ci].context_id, q.query_id)
            if key not in scores:
                raise SleeptimeError(
                    f"no score for context {key[0]!r} query {key[1]!r}; score the same workload"
                )
            rows.append(scores[key])
        # numeric score columns are features; workload metadata (reasoning steps) is not observable
        names = [
            k for k, v in rows[0].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "n_steps"
        ]  # fmt: skip
        features = {k: np.array([float(r[k]) for r in rows]) for k in names}
        observed = features["logprob_mean"]
        first = np.concatenate(([0], np.cumsum(arr.queries_per_context)[:-1]))
        ctx_features = {
            k: v[first]
            for k, v in features.items()
            if k not in ("logprob_mean", "logprob_sum", "n_tokens")
        }
        if "lm_n_tokens" in ctx_features:
            context_tokens = ctx_features["lm_n_tokens"].copy()
            question_tokens = features["n_tokens"].copy()
    else:
        observed = -question_tokens  # longer questions are less predictable: a weak stand-in
    steps = np.array([float(q.meta.get("n_steps", np.nan)) for q in queries])
    difficulty = (
        link_latent(steps, rho_difficulty, rng)
        if np.all(np.isfinite(steps))
        else rng.standard_normal(len(queries))
    )
    return SimItems(
        qctx, arr.query_time_s, difficulty, link_latent(observed, rho_predictability, rng), observed,
        question_tokens, context_tokens, features, ctx_features,
        tuple(q.query_id for q in queries), tuple(c.context_id for c in workload.contexts),
    )  # fmt: skip
