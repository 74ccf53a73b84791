"""The learned policy's data: its features (all, and the cheap ones a router computes without
a language model), the context features added to simulated or measured items, and the
exploration data it is fitted on (items replayed under every action pair)."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._types import FloatArray
from sleeptime.estimators import CHEAP_FEATURES, LM_FEATURES
from sleeptime.policy._base import Environment
from sleeptime.policy._learned import LearnedPolicy, question_offsets
from sleeptime.simulators import SimItems
from sleeptime.workloads import Workload

#: Features of the full policy: LM and cheap context features, the query's log p(q|c) and
#: length, the predicted predictability and expected queries of its context.
ALL_FEATURES = (
    *LM_FEATURES,
    *CHEAP_FEATURES,
    "logprob_mean",
    "n_tokens",
    "predicted_predictability",
    "expected_queries",
)
#: Features a router can compute without a language model.
CHEAP_POLICY_FEATURES = (
    *CHEAP_FEATURES,
    "question_chars",
    "predicted_predictability_cheap",
    "expected_queries",
)


#: The feature sets a command line or spec names.
FEATURE_SETS: Mapping[str, tuple[str, ...]] = {"all": ALL_FEATURES, "cheap": CHEAP_POLICY_FEATURES}


def feature_set(name: str) -> tuple[str, ...]:
    """The policy features of a named set (``all`` or ``cheap``)."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"features must be one of {sorted(FEATURE_SETS)}, got {name!r}") from None


def add_policy_features(
    workload: Workload,
    items: SimItems,
    scores: Mapping[tuple[str, str], Mapping[str, Any]],
    train_idx: NDArray[np.int64],
    test_idx: NDArray[np.int64],
    seed: int,
) -> SimItems:
    """The items with the context features the policies read: predicted predictability (all
    and cheap features; out-of-fold on the training contexts), expected queries (the training
    contexts' history by domain), and each question's features imputed per context."""
    templates = np.array([str(c.meta.get("template", c.context_id)) for c in workload.contexts])
    domains = np.array([str(c.meta.get("domain")) for c in workload.contexts])
    question_chars = _question_chars(workload, items)
    predicted, predicted_cheap = _predicted_predictability(workload, items, scores, templates, train_idx, test_idx, seed)  # fmt: skip
    expected = _expected_queries(items, domains, train_idx)
    ctx_extra = {
        "predicted_predictability": predicted,
        "predicted_predictability_cheap": predicted_cheap,
        "expected_queries": expected,
        # a question's features are unknown at sleep time: impute them from the context
        "logprob_mean": predicted,
        "n_tokens": np.full(workload.n_contexts, float(items.features["n_tokens"].mean())),
        "question_chars": np.full(workload.n_contexts, float(question_chars.mean())),
    }
    query_extra = {k: items.per_query(v) for k, v in ctx_extra.items() if k not in QUESTION_LEVEL}
    query_extra["question_chars"] = question_chars
    return dataclasses.replace(
        items,
        features={**items.features, **query_extra},
        context_features={**items.context_features, **ctx_extra},
    )


#: Features of a question, known only when it arrives (imputed per context at sleep time).
QUESTION_LEVEL = frozenset({"logprob_mean", "n_tokens", "question_chars"})


def _question_chars(workload: Workload, items: SimItems) -> FloatArray:
    """Per query: its question's length in characters (what a router computes without an LM)."""
    texts = {(c.context_id, q.query_id): q.question for c in workload.contexts for q in c.queries}
    ids = items.context_ids or ()
    qids = items.query_ids or ()
    return np.array(
        [len(texts[(ids[c], q)]) for c, q in zip(items.query_context, qids, strict=True)],
        dtype=np.float64,
    )


def _predicted_predictability(
    workload: Workload,
    items: SimItems,
    scores: Mapping[tuple[str, str], Mapping[str, Any]],
    templates: NDArray[Any],
    train_idx: NDArray[np.int64],
    test_idx: NDArray[np.int64],
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Context-only predictions of a context's mean log p(q | c), from all context features and
    from the cheap ones: out-of-fold on the training templates (so that training sees honest
    predictions), fitted on all training contexts for the held-out ones."""
    from sleeptime.estimators import PredictabilityPredictor

    ctx_mean_lp = np.array(
        [
            np.mean([float(scores[(c.context_id, q.query_id)]["logprob_mean"]) for q in c.queries])
            for c in workload.contexts
        ]
    )
    f = items.context_features
    lm_cheap = np.column_stack([f[n] for n in (*LM_FEATURES, *CHEAP_FEATURES)])
    cheap = np.column_stack([f[n] for n in CHEAP_FEATURES])
    # a stable fold per template (Python's hash() of a string changes between processes)
    folds = np.array([zlib.crc32(t.encode()) % 5 for t in templates])
    out = []
    for X in (lm_cheap, cheap):
        target = np.empty(workload.n_contexts)
        for k in range(5):
            fit_rows = train_idx[folds[train_idx] != k]
            pred_rows = train_idx[folds[train_idx] == k]
            if pred_rows.size and not fit_rows.size:  # every training context in one fold
                target[pred_rows] = float(ctx_mean_lp[train_idx].mean())
            elif pred_rows.size:
                target[pred_rows] = (
                    PredictabilityPredictor(random_state=seed)
                    .fit(X[fit_rows], ctx_mean_lp[fit_rows])
                    .predict(X[pred_rows])
                )
        target[test_idx] = (
            PredictabilityPredictor(random_state=seed)
            .fit(X[train_idx], ctx_mean_lp[train_idx])
            .predict(X[test_idx])
        )
        out.append(target)
    return out[0], out[1]


def _expected_queries(
    items: SimItems, domains: NDArray[Any], train_idx: NDArray[np.int64]
) -> FloatArray:
    """Per context: the mean number of queries of its domain in the training contexts' history
    (the overall training mean for a domain never seen)."""
    counts = items.queries_per_context().astype(np.float64)
    domain_mean = {
        d: float(counts[train_idx][domains[train_idx] == d].mean()) for d in set(domains[train_idx])
    }
    return np.array([domain_mean.get(d, float(counts[train_idx].mean())) for d in domains])


def _line(x: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares (intercept, slope) of y on x; a constant where x does not vary."""
    if x.size == 0:
        return np.zeros(2)
    if np.ptp(x) == 0:
        return np.array([float(y.mean()), 0.0])
    slope, intercept = np.polyfit(x, y, 1)
    return np.array([intercept, slope])


@dataclass(frozen=True)
class ExplorationData:
    """Training data for :class:`LearnedPolicy` from items replayed under every action pair.

    ``X``: rows of features then two action columns (effective sleep level, budget); ``y``:
    the chance of a correct answer (or 0/1 outcomes); the cost tables measured in the replays:
    ``test_usd[s, b]`` (a query's own cost, intercept and USD per prompt token), ``sleep_usd[s]``
    (a context's sleep-time cost, intercept and USD per context token) and ``ready_share[s]``
    (queries finding ``c'`` ready); and the question draws the sleep decision averages over
    (:func:`~sleeptime.policy.question_offsets`).
    """

    X: FloatArray
    y: FloatArray
    test_usd: FloatArray
    sleep_usd: FloatArray
    ready_share: FloatArray
    question_offsets: FloatArray


def action_exploration_data(
    env: Environment,
    items: SimItems,
    features: Sequence[str],
    *,
    mode: str = "expected",
    seed: int = 0,
) -> ExplorationData:
    """:func:`exploration_data` for any environment and items: on a measured environment the
    targets are the measured 0/1 outcomes and the costs the measured ones."""
    tables = env.action_tables(items)
    assert tables.sleep_usd is not None
    F = np.column_stack([items.features[n] for n in features])
    n_s, n_b = env.n_sleep, env.n_budgets
    counts = items.per_query(tables.counts.astype(np.float64))
    rng = np.random.default_rng(seed + 17)
    X_parts, y_parts = [], []
    test_usd = np.zeros((n_s, n_b, 2))  # (intercept, USD per prompt token)
    sleep_usd = np.zeros((n_s, 2))  # (intercept, USD per context token)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    for s in range(n_s):
        ctx_usd = items.per_query(tables.sleep_usd[s])  # the context's sleep-time USD, per query
        sleep_usd[s] = _line(items.context_tokens, tables.sleep_usd[s])
        rows = tables.ready[s] if s else np.ones(items.n_queries, dtype=bool)
        for b in range(n_b):
            test_usd[s, b] = _line(prompt[rows], (tables.usd[s, b] - ctx_usd / counts)[rows])
            target = tables.p[s, b, rows]
            if mode == "sampled":
                target = (rng.random(target.shape[0]) < target).astype(np.float64)
            X_parts.append(
                np.column_stack([F[rows], np.full(rows.sum(), s), np.full(rows.sum(), b)])
            )
            y_parts.append(target)
    return ExplorationData(
        np.vstack(X_parts),
        np.concatenate(y_parts),
        test_usd,
        sleep_usd,
        tables.ready.mean(axis=1),
        question_offsets(items.features, items.context_features, items.query_context, features),
    )


def fit_policy(
    data: ExplorationData, features: Sequence[str], *, seed: int, **params: Any
) -> LearnedPolicy:
    """A :class:`LearnedPolicy` fitted on :func:`exploration_data`'s output."""
    policy = LearnedPolicy(features=tuple(features), random_state=seed, **params)
    return policy.fit(
        data.X,
        data.y,
        test_usd=data.test_usd,
        sleep_usd=data.sleep_usd,
        ready_share=data.ready_share,
        question_offsets=data.question_offsets,
    )
