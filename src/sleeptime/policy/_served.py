"""Served tables and plans: per query and action, the chance of a correct answer and the
test-time USD with ``c'`` served and without it, and a plan's exact price from them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sleeptime._types import BoolArray, FloatArray, IntArray
from sleeptime.policy._base import Environment
from sleeptime.policy._sweeps import lam_grid
from sleeptime.simulators import SimItems, sleep_plan

#: Thresholds of the posterior rule: sleep once the expected queries still to come reach one.
POSTERIOR_THRESHOLDS = (2.0, 4.0, 6.0)
#: Oracles deciding with the observables only (see :func:`observable_tables`).
OBS_TRIGGER, OBS_ARRIVAL = (
    "oracle (information-matched) trigger",
    "oracle (information-matched) at arrival",
)
#: The sweep of prices (accuracy per USD) every policy here is read off (:func:`lam_grid`).
LAMS = lam_grid(97)
#: Trigger points a policy may choose: at arrival (0) or after the m-th query, m <= MAX_TRIGGER.
MAX_TRIGGER = 4
NEVER = MAX_TRIGGER + 1


@dataclass(frozen=True)
class ServedTables:
    """Per (sleep level, budget, query): P(correct) and test-time USD and tokens with ``c'``
    served (``p1``, ``u1``, ``t1``; level 0 is without it, the same as ``p0``...), per (budget,
    query) without ``c'`` (``p0``, ``u0``, ``t0``); per (level, context) the USD of one build at
    the batch price and its sleep-time tokens (in + out); per level the seconds from submitting
    the work to ``c'`` being there.

    Shapes: ``p1``, ``u1``, ``t1`` ``(n_sleep, n_budgets, n_queries)``; ``p0``, ``u0``, ``t0``
    ``(n_budgets, n_queries)``; ``sleep_usd``, ``sleep_tokens`` ``(n_sleep, n_contexts)``;
    ``latency_s`` ``(n_sleep,)`` (0 at level 0); ``query_context`` and ``query_time_s``
    (seconds after the context arrived) ``(n_queries,)``. P(correct) is a share in [0, 1], USD
    excludes the sleep-time cost (kept per context in ``sleep_usd``), tokens are test-time
    output tokens."""

    p0: FloatArray
    u0: FloatArray
    t0: FloatArray
    p1: FloatArray
    u1: FloatArray
    t1: FloatArray
    sleep_usd: FloatArray
    sleep_tokens: FloatArray
    latency_s: FloatArray
    query_context: IntArray
    query_time_s: FloatArray
    n_contexts: int

    @cached_property
    def counts(self) -> IntArray:
        """The number of queries of each context, shape ``(n_contexts,)``."""
        return np.bincount(self.query_context, minlength=self.n_contexts).astype(np.int64)

    @property
    def n_sleep(self) -> int:
        """The number of sleep levels, level 0 (none) included."""
        return int(self.p1.shape[0])

    @property
    def n_budgets(self) -> int:
        """The number of test-time budget levels."""
        return int(self.p0.shape[0])


def served_tables(env: Environment, items: SimItems) -> ServedTables:
    """Replay every (sleep level, budget) with ``c'`` served to every query (and without)."""
    n_s, n_b, n_q = env.n_sleep, env.n_budgets, items.n_queries
    prices = env.action_prices()
    counts = np.maximum(items.queries_per_context(), 1).astype(np.float64)
    p1, u1, t1 = (np.empty((n_s, n_b, n_q)) for _ in range(3))
    sleep_usd, sleep_tokens = np.zeros((n_s, items.n_contexts)), np.zeros((n_s, items.n_contexts))
    latency = np.zeros(n_s)
    for s in range(n_s):
        sleep = np.full(items.n_contexts, s, dtype=np.int64)
        plan = sleep_plan(items, sleep, env.outcome, prices)
        price = prices.sleep[s]
        inp, outp = price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6
        sleep_usd[s] = price.batch_discount * (inp * plan.input_tokens + outp * plan.output_tokens)
        sleep_tokens[s] = plan.input_tokens + plan.output_tokens
        latency[s] = float(plan.done_s[0]) if s and items.n_contexts else 0.0
        for b in range(n_b):
            r = env.replay(items, sleep, np.full(n_q, b, dtype=np.int64), bootstrap=0, served=True)
            tr = r.traces
            assert tr is not None
            p1[s, b] = tr["correct"]
            u1[s, b] = tr["usd"] - items.per_query(sleep_usd[s] / counts)
            t1[s, b] = tr["test_output_tokens"]
    return ServedTables(p1[0].copy(), u1[0].copy(), t1[0].copy(), p1, u1, t1, sleep_usd, sleep_tokens,
                        latency, items.query_context, items.query_time_s, items.n_contexts)  # fmt: skip


def observable_tables(env: Environment, t: ServedTables, items: SimItems, observed_all: FloatArray, rho: float) -> ServedTables | None:  # fmt: skip
    """``t`` with each P(correct) replaced by its expectation given what a policy can observe:
    the question's observed predictability (the latent predictability given it, at correlation
    ``rho``; standardized over ``observed_all``, as the items were drawn) and nothing of its
    difficulty (:meth:`~sleeptime.simulators.PaperOutcomeModel.p_given_latent_moments`). Costs
    are kept. None for outcome models without that closed form."""
    if not env.outcome.has_latent_moments:
        return None
    expect = env.outcome.p_given_latent_moments
    sd = float(np.std(observed_all))
    o = (items.observed_predictability - float(np.mean(observed_all))) / (sd if sd > 0 else 1.0)
    p1 = np.stack([np.stack([expect(s, b, rho * o, 1 - rho**2) for b in range(t.n_budgets)]) for s in range(t.n_sleep)])  # fmt: skip
    return dataclasses.replace(t, p0=p1[0].copy(), p1=p1)


@dataclass(frozen=True)
class Plan:
    """Per context: sleep level (0 none), and the USD of all its sleep-time work; per query:
    whether ``c'`` is there (``served``) and the share of the sleep-time gain it carries."""

    sleep: IntArray
    sleep_usd: FloatArray
    served: BoolArray
    gain: FloatArray
    wrong: FloatArray | None = None  # per query: chance a served answer is wrong anyway (stale)


def plan_outcomes(t: ServedTables, plan: Plan, budget: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per query: P(correct) and USD (its test-time USD; sleep-time USD is per context)."""
    i = np.arange(t.query_context.size)
    s = plan.sleep[t.query_context]
    use = plan.served & (s > 0)
    base_p, base_u = t.p0[budget, i], t.u0[budget, i]
    served_p = base_p + plan.gain * (t.p1[s, budget, i] - base_p)
    if plan.wrong is not None:
        served_p = served_p * (1.0 - plan.wrong)
    p = np.where(use, served_p, base_p)
    return np.clip(p, 0.0, 1.0), np.where(use, t.u1[s, budget, i], base_u)


def evaluate_plan(t: ServedTables, plan: Plan, budget: IntArray) -> tuple[float, float]:
    """(accuracy, USD per query) of a plan and budgets."""
    p, u = plan_outcomes(t, plan, budget)
    n = max(p.size, 1)
    return float(p.sum() / n), float((u.sum() + plan.sleep_usd.sum()) / n)


def per_context(t: ServedTables, plan: Plan, budget: IntArray) -> tuple[FloatArray, FloatArray]:
    """Per context: expected correct answers and USD (test-time plus its sleep-time work)."""
    p, u = plan_outcomes(t, plan, budget)
    c = np.bincount(t.query_context, weights=p, minlength=t.n_contexts)
    usd = np.bincount(t.query_context, weights=u, minlength=t.n_contexts) + plan.sleep_usd
    return c.astype(np.float64), usd.astype(np.float64)


def oracle_budgets(t: ServedTables, plan: Plan, lam: float) -> IntArray:
    """Per query, the budget with the most true ``p - lam * usd`` under the plan."""
    i = np.arange(t.query_context.size)
    s = plan.sleep[t.query_context]
    use = plan.served & (s > 0)
    p1 = t.p0 + plan.gain * (t.p1[s, :, i].T - t.p0)
    if plan.wrong is not None:
        p1 = p1 * (1.0 - plan.wrong)
    value = np.where(use, p1 - lam * t.u1[s, :, i].T, t.p0 - lam * t.u0)
    return np.asarray(value.argmax(axis=0), dtype=np.int64)
