"""The learned allocation policy: predict, then optimize.

Why this method: the decision needs the probability of a correct answer under every action
pair, priced at decision time. A regression of ``P(correct | features, sleep level, budget)``
on traces gives exactly that: fitted to 0/1 outcomes of logged runs, or, in simulation, to the
expected outcome of every action (less noise, same target). The cost-aware choice is then a
small exact optimization:

- per query: the budget maximizing ``p(b) - lam * usd(b)``, with the sleep level actually
  taken and whether ``c'`` is ready;
- per context (at sleep time, question unknown): the sleep level maximizing the expected value
  of its future queries, ``n * [pi_s * E_q max_b (p(s, b) - lam * usd(s, b)) + (1 - pi_s) *
  E_q max_b (... without c')] - lam * sleep_usd(s)``, where ``n`` is the expected number of
  queries (from the context's history) and ``pi_s`` the share of queries that arrive after the
  work is done.

The expectation ``E_q`` is over the question still to come. Its features are unknown at sleep
time, so the policy keeps a few *question draws*: offsets of question features from their
context-level imputation (e.g. a question's log p(q|c) minus its context's predicted
predictability), taken from training queries at evenly spaced quantiles. The value of a sleep
level averages the best test-time choice over the draws. Taking the best choice for the
*average* question instead (one draw of zeros) undervalues sleep-time work, because the test-time
decision adapts to each question (measured on the quickstart scenario: 8 draws cut the cost at
equal accuracy against fixed(k1,b1) by 4 to 5 more points than one, 3.6 with cheap features).

Unlike imitating an oracle, this uses the price ``lam`` at decision time, so one fitted model
serves every budget (bisection on ``lam`` hits a dollar target without refitting), and it
amortizes sleep-time cost over the queries a context is expected to get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sleeptime._boosting import boosting_regressor, keep_params
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import Environment, Policy
from sleeptime.simulators import SimItems


class LearnedPolicy(RegressorMixin, BaseEstimator, Policy):  # type: ignore[misc]
    """Predict-then-optimize allocation policy (a scikit-learn regressor of P(correct)).

    ``X`` passed to :meth:`fit` / :meth:`predict` holds the feature columns (named by
    ``features``, in that order) followed by two action columns: the effective sleep level
    (0 when ``c'`` was not used) and the budget level. ``y`` is whether the answer was correct
    (0/1), or its probability. ``lam`` prices cost in accuracy per USD; change it with
    ``set_params(lam=...)`` (deciding for another price needs no refit). ``name`` labels the
    policy in comparisons and reports. The other parameters are those of the gradient-boosting
    regressor inside.
    """

    lam: float
    features: Sequence[str] | None
    name: str

    def __init__(
        self,
        *,
        lam: float = 1000.0,
        features: Sequence[str] | None = None,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 40,
        l2_regularization: float = 0.0,
        random_state: int | None = 0,
        name: str = "learned",
    ) -> None:
        keep_params(self, locals())

    # ------------------------------------------------------------------ estimator
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        test_usd: ArrayLike | None = None,
        sleep_usd: ArrayLike | None = None,
        ready_share: ArrayLike | None = None,
        question_offsets: ArrayLike | None = None,
    ) -> LearnedPolicy:
        """Fit the correctness model; the cost tables are what decisions are priced with:
        ``test_usd[s, b]`` the USD of a query answered with effective sleep level ``s`` at budget
        ``b``, either a constant or ``(intercept, USD per prompt token)`` in a last axis of
        size 2; ``sleep_usd[s]`` a context's sleep-time USD, a constant or ``(intercept, USD
        per context token)``; ``ready_share[s]`` the share of queries that find ``c'`` ready.
        ``question_offsets`` (draws x features) are the question draws added to a context's
        feature row at sleep time (see the module docstring and :func:`question_offsets`;
        default: one draw of zeros, the imputed question)."""
        X_arr, y_arr = validate_data(self, X, y, y_numeric=True)
        self.model_ = boosting_regressor(self).fit(X_arr, y_arr)
        self.n_iter_ = self.model_.n_iter_
        self.test_usd_ = None if test_usd is None else np.asarray(test_usd, dtype=np.float64)
        self.sleep_usd_ = None if sleep_usd is None else np.asarray(sleep_usd, dtype=np.float64)
        self.ready_share_ = (
            None if ready_share is None else np.asarray(ready_share, dtype=np.float64)
        )
        n_features = max(X_arr.shape[1] - 2, 0)  # the last two columns are the actions
        offsets = (
            np.zeros((1, n_features))
            if question_offsets is None
            else np.asarray(question_offsets, dtype=np.float64)
        )
        if offsets.ndim != 2 or offsets.shape[1] != n_features or not offsets.shape[0]:
            raise ValueError(
                f"question_offsets must be (draws, {n_features}) for {n_features} feature "
                f"columns, got shape {offsets.shape}"
            )
        self.question_offsets_ = offsets
        return self

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """Predicted chance of a correct answer for each row (the regression; see :meth:`p_correct`)."""
        check_is_fitted(self, "model_")
        X_arr = validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X_arr), dtype=np.float64)

    # ------------------------------------------------------------------ decisions on arrays
    def p_correct(self, F: FloatArray, sleep: IntArray | int, budget: IntArray | int) -> FloatArray:
        """Predicted P(correct) for feature rows ``F`` under (effective sleep level, budget)."""
        n = F.shape[0]
        X = np.column_stack([F, np.broadcast_to(sleep, n), np.broadcast_to(budget, n)]).astype(
            np.float64
        )
        return self.predict(X)

    def cost_tables(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The costs the policy was fitted with: test-time USD per query as (intercept, USD per
        prompt token), shape ``(n_sleep, n_budgets, 2)``; sleep-time USD per context as
        (intercept, USD per context token), shape ``(n_sleep, 2)``; and the share of queries
        that find ``c'`` ready, shape ``(n_sleep,)``. Raises ValueError if it was fitted
        without them."""
        check_is_fitted(self, "model_")
        if self.test_usd_ is None or self.sleep_usd_ is None or self.ready_share_ is None:
            raise ValueError(
                "fit with test_usd, sleep_usd and ready_share to use the policy's decisions"
            )
        test = (
            self.test_usd_
            if self.test_usd_.ndim == 3
            else np.stack([self.test_usd_, np.zeros_like(self.test_usd_)], axis=-1)
        )
        sleep = (
            self.sleep_usd_
            if self.sleep_usd_.ndim == 2
            else np.stack([self.sleep_usd_, np.zeros_like(self.sleep_usd_)], axis=-1)
        )
        return test, sleep, self.ready_share_

    def prediction_table(self, F: FloatArray) -> FloatArray:
        """Predicted P(correct) for every (effective sleep level, budget) and row: ``(s, b, n)``."""
        test, _, _ = self.cost_tables()
        n_s, n_b = test.shape[:2]
        return np.stack(
            [np.stack([self.p_correct(F, s, b) for b in range(n_b)]) for s in range(n_s)]
        )

    def context_prediction_table(self, F_context: FloatArray) -> FloatArray:
        """Predicted P(correct) at sleep time for (imputed) context rows, one table per question
        draw: ``(draws, s, b, n)``."""
        check_is_fitted(self, "question_offsets_")
        return np.stack([self.prediction_table(F_context + d) for d in self.question_offsets_])

    def decide_test_arrays(
        self,
        F: FloatArray,
        sleep_action: IntArray,
        ready: NDArray[np.bool_],
        prompt_tokens: FloatArray,
    ) -> IntArray:
        """Budgets for queries with features ``F`` (rows), their context's sleep level, whether
        its ``c'`` is ready when they arrive, and their prompt length in tokens."""
        test, _, _ = self.cost_tables()
        s_eff = np.where(ready, sleep_action, 0).astype(np.int64)
        return choose_budget(self.prediction_table(F), test, s_eff, prompt_tokens, self.lam)

    def decide_sleep_arrays(
        self,
        F_context: FloatArray,
        expected_queries: FloatArray,
        context_tokens: FloatArray,
        prompt_tokens: FloatArray,
        *,
        lam: float | None = None,
    ) -> IntArray:
        """Sleep levels for contexts with (imputed) feature rows ``F_context``, expected queries,
        context length and the expected prompt length of their queries, in tokens; priced at
        ``lam`` (default: the policy's own)."""
        test, sleep_cost, ready_share = self.cost_tables()
        return choose_sleep(
            self.context_prediction_table(F_context), test, sleep_cost, ready_share,
            expected_queries, context_tokens, prompt_tokens, self.lam if lam is None else lam,
        )  # fmt: skip

    # ------------------------------------------------------------------ the Policy interface
    def _names(self) -> Sequence[str]:
        if not self.features:
            raise ValueError("set features=(...) to name the item features this policy reads")
        return self.features

    def decide_sleep(
        self, items: SimItems, env: Environment, *, lam: float | None = None
    ) -> IntArray:
        """The sleep level per context, shape ``(n_contexts,)``, with the most expected value of
        its future queries less the sleep-time USD, priced at ``lam`` (default: the policy's
        own; accuracy per USD). Reads the context features named by ``features`` and
        ``expected_queries``; ``env`` is not read (the costs are the fitted cost tables).
        Raises ValueError if ``features`` is unset or the policy was fitted without cost
        tables, KeyError when a context feature is missing."""
        f = items.context_features
        F = np.column_stack([f[n] for n in self._names()])
        return self.decide_sleep_arrays(
            F, f["expected_queries"], items.context_tokens, expected_prompt_tokens(items), lam=lam
        )

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        """The budget per query, shape ``(n_queries,)``, maximizing predicted P(correct) minus
        ``lam`` times the test-time USD at the query's effective sleep level (its context's
        ``sleep_action`` where ``ready``, else 0) and its prompt length (context plus question
        tokens). Reads the query features named by ``features``; ``env`` is not read. Raises
        ValueError if ``features`` is unset or the policy was fitted without cost tables."""
        F = np.column_stack([items.features[n] for n in self._names()])
        prompt = items.per_query(items.context_tokens) + items.question_tokens
        return self.decide_test_arrays(F, items.per_query(sleep_action), ready, prompt)


def choose_budget(
    p: FloatArray,
    test_cost: FloatArray,
    sleep_effective: IntArray,
    prompt_tokens: FloatArray,
    lam: float,
) -> IntArray:
    """Per query, the budget maximizing ``p - lam * usd`` at its effective sleep level.

    ``p``: predictions ``(s, b, n)``; ``test_cost``: ``(s, b, 2)`` intercept and USD per prompt token.
    """
    rows = np.arange(p.shape[2])
    cost = (
        test_cost[sleep_effective, :, 0] + test_cost[sleep_effective, :, 1] * prompt_tokens[:, None]
    )  # (n, b)
    chosen: IntArray = (p[sleep_effective, :, rows] - lam * cost).argmax(axis=1).astype(np.int64)
    return chosen


def choose_sleep(
    p: FloatArray,
    test_cost: FloatArray,
    sleep_cost: FloatArray,
    ready_share: FloatArray,
    expected_queries: FloatArray,
    context_tokens: FloatArray,
    prompt_tokens: FloatArray,
    lam: float,
) -> IntArray:
    """Per context, the sleep level with the most expected value of its future queries, less
    the price of the sleep-time work (see the module docstring).

    ``p``: predictions ``(s, b, c)`` from (imputed) context features, or ``(draws, s, b, c)``,
    one table per question draw (the best budget is taken per draw, then averaged);
    ``sleep_cost``: ``(s, 2)`` intercept and USD per context token.
    """
    cost = test_cost[:, :, 0, None] + test_cost[:, :, 1, None] * prompt_tokens[None, None, :]
    draws = p if p.ndim == 4 else p[None]
    best = (draws - lam * cost).max(axis=2).mean(axis=0)  # (s, c)
    value = np.empty_like(best)
    value[0] = expected_queries * best[0]
    for s in range(1, best.shape[0]):
        per_query = ready_share[s] * best[s] + (1 - ready_share[s]) * best[0]
        value[s] = expected_queries * per_query - lam * (
            sleep_cost[s, 0] + sleep_cost[s, 1] * context_tokens
        )
    chosen: IntArray = value.argmax(axis=0).astype(np.int64)
    return chosen


def expected_prompt_tokens(items: SimItems) -> FloatArray:
    """Per context, before any question: its length plus the typical question's (the
    ``n_tokens`` context feature where the scenario imputed it, else the items' mean)."""
    question = items.context_features.get("n_tokens")
    if question is None:
        question = np.full(
            items.n_contexts, float(items.question_tokens.mean()) if items.n_queries else 0.0
        )
    return np.asarray(items.context_tokens + question, dtype=np.float64)


def question_offsets(
    features: Mapping[str, FloatArray],
    context_features: Mapping[str, FloatArray],
    query_context: IntArray,
    names: Sequence[str],
    n_draws: int = 8,
) -> FloatArray:
    """Question draws for :meth:`LearnedPolicy.fit`: ``(n_draws, len(names))`` offsets of each
    query's features from its context's imputed ones (zero for context features), taken from
    the given queries at evenly spaced quantiles of the first offset that varies (rows are
    kept whole, so the offsets' joint distribution is kept)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    off = np.column_stack(
        [np.asarray(features[n]) - np.asarray(context_features[n])[query_context] for n in names]
    ).astype(np.float64)
    varying = [j for j in range(off.shape[1]) if off.shape[0] and np.ptp(off[:, j]) > 0]
    if not varying:
        return np.zeros((1, len(names)))
    order = np.argsort(off[:, varying[0]], kind="stable")
    picks = order[((np.arange(n_draws) + 0.5) / n_draws * order.size).astype(np.int64)]
    out: FloatArray = off[picks]
    return out
