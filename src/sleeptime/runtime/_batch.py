"""The policy's decisions for many rows at once, vectorized with NumPy (imported here only:
single decisions stay standard library). The same rules as :meth:`RuntimePolicy.test_index`
and :meth:`RuntimePolicy.sleep_index`, row by row (a test checks they agree)."""

from __future__ import annotations

from typing import Any

import numpy as np


def tree_leaves(tree: Any, x: Any) -> Any:
    """The leaf values of ``tree`` (a runtime ``_Tree``) for each row of ``x``, shape
    ``(n_rows, n_outputs)``: all rows walk down together, one level per step."""
    x = np.asarray(x, dtype=np.float64)
    feature, threshold = np.asarray(tree.feature), np.asarray(tree.threshold, dtype=np.float64)
    left, right = np.asarray(tree.left), np.asarray(tree.right)
    node = np.zeros(x.shape[0], dtype=np.int64)
    rows = np.arange(x.shape[0])
    while True:
        f = feature[node]
        inner = f >= 0
        if not inner.any():
            break
        go_left = x[rows, np.where(inner, f, 0)] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)
    n_out = len(next(v for v in tree.value if v is not None))
    values = np.array([v if v is not None else (np.nan,) * n_out for v in tree.value])
    return values[node]


def test_indexes(policy: Any, x: Any, sleep_index: Any, ready: Any, prompt_tokens: Any) -> Any:
    """The budget index per row (``x``: rows of :attr:`query_features`)."""
    p = tree_leaves(policy._test_tree, x)
    usd = np.asarray(policy._test_usd, dtype=np.float64)  # (levels, budgets, 2)
    s = np.where(np.asarray(ready, dtype=bool), np.asarray(sleep_index, dtype=np.int64), 0)
    n_b = policy._n_b
    cols = s[:, None] * n_b + np.arange(n_b)[None, :]
    score = np.take_along_axis(p, cols, axis=1) - policy.lam * (usd[s, :, 0] + usd[s, :, 1] * np.asarray(prompt_tokens, dtype=np.float64)[:, None])  # fmt: skip
    return np.argmax(score, axis=1)  # the first of equal scores, as the loop keeps it


def sleep_indexes(policy: Any, x: Any, expected_queries: Any, context_tokens: Any) -> Any:
    """The sleep level index per row (``x``: rows of :attr:`context_features_used`)."""
    p = tree_leaves(policy._sleep_tree, x)
    usd = np.asarray(policy._test_usd, dtype=np.float64)
    n_s, n_b, draws = usd.shape[0], policy._n_b, policy.question_draws
    tokens = np.asarray(context_tokens, dtype=np.float64)
    prompt = tokens + policy.question_tokens
    eq = np.asarray(expected_queries, dtype=np.float64)
    best = np.zeros((x.shape[0] if hasattr(x, "shape") else len(x), n_s))
    for s in range(n_s):
        cost = policy.lam * (usd[s, :, 0][None, :] + usd[s, :, 1][None, :] * prompt[:, None])
        total = np.zeros(best.shape[0])
        for m in range(draws):
            base = (m * n_s + s) * n_b
            total += np.max(p[:, base : base + n_b] - cost, axis=1)
        best[:, s] = total / draws
    value = np.empty_like(best)
    value[:, 0] = eq * best[:, 0]
    for s in range(1, n_s):
        share = policy._ready_share[s]
        c0, c1 = policy._sleep_usd[s]
        value[:, s] = eq * (share * best[:, s] + (1 - share) * best[:, 0]) - policy.lam * (c0 + c1 * tokens)  # fmt: skip
    return np.argmax(value, axis=1)
