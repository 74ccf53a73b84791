"""The learned allocation policy: predict, then optimize.

Why this method: the decision needs the probability of a correct answer under every action
pair, priced at decision time. A regression of ``P(correct | features, sleep level, budget)``
on traces gives exactly that: fitted to 0/1 outcomes of logged runs, or, in simulation, to the
expected outcome of every action (less noise, same target). The cost-aware choice is then a
small exact optimization:

- per query: the budget maximizing ``p(b) - lam * usd(b)``, with the sleep level actually
  taken and whether ``c'`` is ready;
- per context (at sleep time, question unknown): the sleep level maximizing the expected value
  of its future queries, ``n * [pi_s * max_b (p(s, b) - lam * usd(s, b)) + (1 - pi_s) * max_b (...
  without c')] - lam * sleep_usd(s)``, where ``n`` is the expected number of queries (from the
  context's history) and ``pi_s`` the share of queries that arrive after the work is done; the
  question features are imputed from context features (the predicted predictability).

Unlike imitating an oracle, this uses the price ``lam`` at decision time, so one fitted model
serves every budget (bisection on ``lam`` hits a dollar target without refitting), and it
amortizes sleep-time cost over the queries a context is expected to get.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sleeptime.policy._base import Environment, FloatArray, IntArray, Policy
from sleeptime.simulators import SimItems


class LearnedPolicy(RegressorMixin, BaseEstimator, Policy):  # type: ignore[misc]
    """Predict-then-optimize allocation policy (a scikit-learn regressor of P(correct)).

    ``X`` passed to :meth:`fit` / :meth:`predict` holds the feature columns (named by
    ``features``, in that order) followed by two action columns: the effective sleep level
    (0 when ``c'`` was not used) and the budget level. ``y`` is whether the answer was correct
    (0/1), or its probability. ``lam`` prices cost in accuracy per USD. The other parameters
    are those of the gradient-boosting regressor inside.
    """

    name = "learned"

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
    ) -> None:
        self.lam = lam
        self.features = features
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    # ------------------------------------------------------------------ estimator
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        test_usd: ArrayLike | None = None,
        sleep_usd: ArrayLike | None = None,
        ready_share: ArrayLike | None = None,
    ) -> LearnedPolicy:
        """Fit the correctness model; the cost tables are what decisions are priced with:
        ``test_usd[s, b]`` the USD of a query answered with effective sleep level ``s`` at budget
        ``b``, either a constant or ``(intercept, USD per prompt token)`` in a last axis of
        size 2; ``sleep_usd[s]`` a context's sleep-time USD, a constant or ``(intercept, USD
        per context token)``; ``ready_share[s]`` the share of queries that find ``c'`` ready."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        X_arr, y_arr = validate_data(self, X, y, y_numeric=True)
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state,
        ).fit(X_arr, y_arr)  # fmt: skip
        self.n_iter_ = self.model_.n_iter_
        self.test_usd_ = None if test_usd is None else np.asarray(test_usd, dtype=np.float64)
        self.sleep_usd_ = None if sleep_usd is None else np.asarray(sleep_usd, dtype=np.float64)
        self.ready_share_ = (
            None if ready_share is None else np.asarray(ready_share, dtype=np.float64)
        )
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

    def _tables(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(test cost coefficients (s, b, 2), sleep cost coefficients (s, 2), ready share (s,))."""
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

    def query_cost(self, sleep: int, budget: int, prompt_tokens: FloatArray) -> FloatArray:
        """USD of queries answered at (effective sleep level, budget), by prompt tokens."""
        test, _, _ = self._tables()
        return np.asarray(
            test[sleep, budget, 0] + test[sleep, budget, 1] * prompt_tokens, dtype=np.float64
        )

    def sleep_cost(self, sleep: int, context_tokens: FloatArray) -> FloatArray:
        """USD of a context's sleep-time work at level ``sleep``, by context tokens."""
        _, table, _ = self._tables()
        return np.asarray(table[sleep, 0] + table[sleep, 1] * context_tokens, dtype=np.float64)

    def best_budget(
        self, F: FloatArray, sleep_effective: IntArray, prompt_tokens: FloatArray
    ) -> tuple[IntArray, FloatArray]:
        """Per row: the budget maximizing ``p - lam * usd`` given the effective sleep level, and that value."""
        test, _, _ = self._tables()
        n_b = test.shape[1]
        values = np.full((n_b, F.shape[0]), -np.inf)
        for s in np.unique(sleep_effective):
            rows = sleep_effective == s
            for b in range(n_b):
                values[b, rows] = self.p_correct(F[rows], int(s), b) - self.lam * self.query_cost(
                    int(s), b, prompt_tokens[rows]
                )
        return values.argmax(axis=0).astype(np.int64), values.max(axis=0)

    def decide_test_arrays(
        self,
        F: FloatArray,
        sleep_action: IntArray,
        ready: NDArray[np.bool_],
        prompt_tokens: FloatArray,
    ) -> IntArray:
        """Budgets for queries with features ``F`` (rows), their context's sleep level, whether
        its ``c'`` is ready when they arrive, and their prompt length in tokens."""
        return self.best_budget(
            F, np.where(ready, sleep_action, 0).astype(np.int64), prompt_tokens
        )[0]

    def decide_sleep_arrays(
        self,
        F_context: FloatArray,
        expected_queries: FloatArray,
        context_tokens: FloatArray,
        prompt_tokens: FloatArray,
    ) -> IntArray:
        """Sleep levels for contexts with (imputed) feature rows ``F_context``, expected queries,
        context length and the expected prompt length of their queries, in tokens."""
        test, _, ready_share = self._tables()
        n_s = test.shape[0]
        _, plain = self.best_budget(
            F_context, np.zeros(F_context.shape[0], dtype=np.int64), prompt_tokens
        )
        value = np.empty((n_s, F_context.shape[0]))
        value[0] = expected_queries * plain
        for s in range(1, n_s):
            _, slept = self.best_budget(
                F_context, np.full(F_context.shape[0], s, dtype=np.int64), prompt_tokens
            )
            per_query = ready_share[s] * slept + (1 - ready_share[s]) * plain
            value[s] = expected_queries * per_query - self.lam * self.sleep_cost(s, context_tokens)
        chosen: IntArray = value.argmax(axis=0).astype(np.int64)
        return chosen

    # ------------------------------------------------------------------ the Policy interface
    def _names(self) -> Sequence[str]:
        if not self.features:
            raise ValueError("set features=(...) to name the item features this policy reads")
        return self.features

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        f = items.context_features
        F = np.column_stack([f[n] for n in self._names()])
        return self.decide_sleep_arrays(
            F, f["expected_queries"], items.context_tokens, expected_prompt_tokens(items)
        )

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        F = np.column_stack([items.features[n] for n in self._names()])
        prompt = items.per_query(items.context_tokens) + items.question_tokens
        return self.decide_test_arrays(F, items.per_query(sleep_action), ready, prompt)


def expected_prompt_tokens(items: SimItems) -> FloatArray:
    """Per context, before any question: its length plus the typical question's (the
    ``n_tokens`` context feature where the scenario imputed it, else the items' mean)."""
    question = items.context_features.get("n_tokens")
    if question is None:
        question = np.full(
            items.n_contexts, float(items.question_tokens.mean()) if items.n_queries else 0.0
        )
    return np.asarray(items.context_tokens + question, dtype=np.float64)
