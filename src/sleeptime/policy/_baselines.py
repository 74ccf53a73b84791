"""Baseline policies: fixed strategies, the paper's strategy, a threshold rule, and the oracle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sleeptime.policy._base import ActionTables, Environment, FloatArray, IntArray, Policy
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
        return np.full(items.n_contexts, self.sleep, dtype=np.int64)

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
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
        f = items.context_features
        go = (f["predicted_predictability"] >= self.min_predictability) & (
            f["expected_queries"] >= self.min_queries
        )
        return np.where(go, self.level, 0).astype(np.int64)

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        return np.where(ready, self.budget_sleep, self.budget_plain).astype(np.int64)


class OraclePolicy(Policy):
    """Sees what no real policy can: the simulator's latents, arrival times and query counts.

    For a price ``lam`` (accuracy per USD) it solves the per-instance optimum of accuracy minus
    ``lam`` times cost: per context, the sleep level whose best per-query budgets give the most
    ``sum_q [p_q - lam * usd_q]``, the sleep cost shared by the context's actual queries.

    ``counts="expected"`` is the *count-blind* oracle: it still sees every latent and arrival
    time, but prices sleep-time work with the expected number of queries (the context feature
    ``expected_queries``), as any policy must that decides before the queries come:
    ``n * mean_q [p_q - lam * usd_q] - lam * sleep_usd``. The gap between the two oracles is
    what knowing the realized query count is worth; no feature can close it when counts are
    drawn independently of everything observable.
    """

    name = "oracle"

    def __init__(
        self, lam: float, tables: ActionTables | None = None, *, counts: str = "actual"
    ) -> None:
        if counts not in ("actual", "expected"):
            raise ValueError(f"counts must be 'actual' or 'expected', got {counts!r}")
        self.lam = lam
        self.tables = tables
        self.counts = counts
        if counts == "expected":
            self.name = "oracle-count-blind"

    def _tables(self, items: SimItems, env: Environment) -> ActionTables:
        if self.tables is None or self.tables.p.shape[2] != items.n_queries:
            self.tables = env.action_tables(items)
        return self.tables

    def _solve(self, items: SimItems, env: Environment) -> tuple[IntArray, IntArray]:
        t = self._tables(items, env)
        qc = items.query_context
        n = np.maximum(t.counts, 1).astype(np.float64)
        sleep_usd = t.sleep_usd
        if self.counts == "expected":
            if sleep_usd is None:
                raise ValueError("the count-blind oracle needs tables with sleep_usd")
            # each query's own cost: take its share of the context's sleep-time cost back out
            value = t.p - self.lam * (t.usd - (sleep_usd / n)[:, None, qc])
        else:
            value = t.p - self.lam * t.usd  # (s, b, q)
        best_b = value.argmax(axis=1)  # (s, q)
        best = value.max(axis=1)  # (s, q)
        per_ctx: FloatArray = np.stack(
            [
                np.bincount(qc, weights=best[s], minlength=items.n_contexts)
                for s in range(best.shape[0])
            ]
        ).astype(np.float64)
        if sleep_usd is not None and self.counts == "expected":
            expected = np.asarray(items.context_features["expected_queries"], dtype=np.float64)
            per_ctx = expected * per_ctx / n - self.lam * sleep_usd
        sleep = per_ctx.argmax(axis=0).astype(np.int64)
        test = best_b[np.repeat(sleep, t.counts), np.arange(items.n_queries)].astype(np.int64)
        return sleep, test

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        return self._solve(items, env)[0]

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        return self._solve(items, env)[1]
