"""Baseline policies: fixed strategies, the paper's strategy, a threshold rule, and the oracle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables, Environment, Policy
from sleeptime.simulators import SimItems


@dataclass
class FixedPolicy(Policy):
    """The same sleep level for every context and the same budget for every query.

    ``sleep=0`` is test-only at that budget. A query whose ``c'`` is not ready yet is still
    answered (without it).
    """

    sleep: int
    budget: int
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"fixed(s{self.sleep},b{self.budget})"

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        """``sleep`` for every context, shape ``(n_contexts,)``."""
        return np.full(items.n_contexts, self.sleep, dtype=np.int64)

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        """``budget`` for every query, shape ``(n_queries,)``, whether ``c'`` is ready or not."""
        return np.full(items.n_queries, self.budget, dtype=np.int64)


def paper_policy() -> FixedPolicy:
    """The paper's fixed strategy: one sleep-time rewrite for every context, then the lowest
    test-time budget (where the paper finds sleep-time compute pays off most)."""
    return FixedPolicy(1, 0, name="paper(k1,b0)")


@dataclass
class ThresholdPolicy(Policy):
    """Sleep at ``level`` when predicted predictability and expected queries both clear a
    threshold; answer at ``budget_sleep`` where ``c'`` is ready, else at ``budget_plain``.

    Reads the context features ``predicted_predictability`` and ``expected_queries``.
    """

    min_predictability: float
    min_queries: float
    level: int = 1
    budget_sleep: int = 0
    budget_plain: int = 1
    name: str = "threshold"

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        """``level`` where the context features ``predicted_predictability`` >=
        ``min_predictability`` and ``expected_queries`` >= ``min_queries``, else 0; shape
        ``(n_contexts,)``. Raises KeyError when the items lack either context feature."""
        f = items.context_features
        go = (f["predicted_predictability"] >= self.min_predictability) & (
            f["expected_queries"] >= self.min_queries
        )
        return np.where(go, self.level, 0).astype(np.int64)

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        """``budget_sleep`` where ``ready`` (``c'`` is there), else ``budget_plain``; shape
        ``(n_queries,)``."""
        return np.where(ready, self.budget_sleep, self.budget_plain).astype(np.int64)


def oracle_decisions(
    tables: ActionTables,
    lam: float,
    *,
    counts: str = "actual",
    expected_queries: FloatArray | None = None,
) -> tuple[IntArray, IntArray]:
    """The per-instance optimum of accuracy minus ``lam`` times cost, from the action tables:
    per context, the sleep level whose best per-query budgets give the most
    ``sum_q [p_q - lam * usd_q]``, the sleep cost shared by the context's actual queries; with
    ``counts="expected"``, ``n * mean_q [p_q - lam * usd_q] - lam * sleep_usd`` where ``n`` is
    ``expected_queries`` (see :class:`OraclePolicy`). Returns (sleep per context, budget per
    query)."""
    if counts not in ("actual", "expected"):
        raise ValueError(f"counts must be 'actual' or 'expected', got {counts!r}")
    qc = tables.query_context
    n = np.maximum(tables.counts, 1).astype(np.float64)
    sleep_usd = tables.sleep_usd
    if counts == "expected":
        if sleep_usd is None or expected_queries is None:
            raise ValueError(
                "the count-blind oracle needs tables with sleep_usd and expected_queries"
            )
        # each query's own cost: take its share of the context's sleep-time cost back out
        value = tables.p - lam * (tables.usd - (sleep_usd / n)[:, None, qc])
    else:
        value = tables.p - lam * tables.usd  # (s, b, q)
    best_b = value.argmax(axis=1)  # (s, q)
    best = value.max(axis=1)  # (s, q)
    per_ctx: FloatArray = np.stack(
        [
            np.bincount(qc, weights=best[s], minlength=tables.n_contexts)
            for s in range(best.shape[0])
        ]
    ).astype(np.float64)
    if counts == "expected":
        assert sleep_usd is not None and expected_queries is not None
        expected = np.asarray(expected_queries, dtype=np.float64)
        per_ctx = expected * per_ctx / n - lam * sleep_usd
    sleep = per_ctx.argmax(axis=0).astype(np.int64)
    test = best_b[np.repeat(sleep, tables.counts), np.arange(qc.shape[0])].astype(np.int64)
    return sleep, test


class OraclePolicy(Policy):
    """Sees what no real policy can: the simulator's latents, arrival times and query counts.

    For a price ``lam`` (accuracy per USD) it solves the per-instance optimum of accuracy minus
    ``lam`` times cost (:func:`oracle_decisions`): per context, the sleep level whose best
    per-query budgets give the most ``sum_q [p_q - lam * usd_q]``, the sleep cost shared by the
    context's actual queries.

    ``counts="expected"`` is the *count-blind* oracle: it still sees every latent and arrival
    time, but prices sleep-time work with the expected number of queries (the context feature
    ``expected_queries``), as any policy must that decides before the queries come:
    ``n * mean_q [p_q - lam * usd_q] - lam * sleep_usd``. The gap between the two oracles is
    what knowing the realized query count is worth; no feature can close it when counts are
    drawn independently of everything observable.

    ``tables``: the items' action tables where the caller has them; otherwise each decision
    computes them (deciding changes nothing in the policy).
    """

    def __init__(
        self, lam: float, tables: ActionTables | None = None, *, counts: str = "actual"
    ) -> None:
        if counts not in ("actual", "expected"):
            raise ValueError(f"counts must be 'actual' or 'expected', got {counts!r}")
        self.lam = lam
        self.tables = tables
        self.counts = counts
        self.name = "oracle-count-blind" if counts == "expected" else "oracle"

    def decide(self, items: SimItems, env: Environment) -> tuple[IntArray, IntArray]:
        """Both decisions at once, ``(sleep per context, budget per query)``, shapes
        ``(n_contexts,)`` and ``(n_queries,)``: :func:`oracle_decisions` at ``lam`` on the
        items' action tables (``tables`` when it covers these items, else computed from
        ``env``). The count-blind oracle reads the context feature ``expected_queries``."""
        tables = self.tables
        if tables is None or tables.p.shape[2] != items.n_queries:
            tables = env.action_tables(items)
        expected = items.context_features.get("expected_queries")
        return oracle_decisions(tables, self.lam, counts=self.counts, expected_queries=expected)

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        """The oracle's sleep level per context, shape ``(n_contexts,)`` (:meth:`decide`)."""
        return self.decide(items, env)[0]

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        """The oracle's budget per query, shape ``(n_queries,)`` (:meth:`decide`). It ignores
        ``sleep_action`` and ``ready``: the budgets are the best ones under the oracle's own
        sleep levels (those :meth:`decide_sleep` returns)."""
        return self.decide(items, env)[1]
