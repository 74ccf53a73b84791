"""When to start sleep-time work: what a policy knows of a context's arrivals (the count prior),
the trigger rules, and a policy judged over a sweep of prices.

The pieces share one table, :class:`~sleeptime.policy.ServedTables`: per query and action, the chance of a
correct answer and the test-time USD with ``c'`` served and without it, and per context the
USD of one sleep-time build. A *plan* then says per context which sleep level runs, when its
work is submitted and finishes, and per query whether ``c'`` is there and how much of its gain
it still carries (a stale ``c'`` after an edit keeps less). :func:`~sleeptime.policy.evaluate_plan` prices a plan
exactly from the tables, so sweeping a price ``lam`` over thousands of plans is cheap.

Policies decide with what they could know at their decision time:

- the *learned trigger*: at a context's arrival and after each of its first queries, the learned
  policy's value of sleeping now (its predicted accuracy for every action, priced) with the
  *posterior* expected number of queries still to come, from a count model fitted to the
  training contexts' history (:func:`fit_count_prior`): for geometric counts waiting tells
  nothing; for overdispersed or bursty ones a context that has had queries will likely get more;
- the *count-blind oracle* (the bound of a policy that decides before the queries come, generalized to triggers): the same rule with the
  simulator's latents (the true per-query outcomes) and the true arrival law's posterior: what a
  policy could do with perfect outcome predictions and the same knowledge of the future queries;
- the *information-matched oracle*: the same rule with the simulator's model and only what a
  policy can observe (each question's observed predictability; no latent), see
  :func:`~sleeptime.policy.observable_tables`: the bound of a policy whose features carry what the LM scores do;
- the *hindsight oracle*: also the realized number and times of the queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._evaluate import LearnedTables
from sleeptime.policy._learned import LearnedPolicy, choose_budget, expected_prompt_tokens
from sleeptime.policy._served import (
    LAMS,
    MAX_TRIGGER,
    NEVER,
    Plan,
    ServedTables,
    evaluate_plan,
    per_context,
)
from sleeptime.policy._sweeps import Sweep, at_equal_accuracy
from sleeptime.simulators import SimItems, percentile_interval, poisson_weights
from sleeptime.workloads import (
    QueryCount,
    count_law,
    count_log_pmf,
    expected_remaining,
)


# ---------------------------------------------------------------------------- arrival knowledge
def trigger_times(t: ServedTables) -> FloatArray:
    """``(NEVER + 1, contexts)``: when a trigger submits the work (seconds after the context
    arrived): 0 at arrival, the m-th query's time, inf where the context never gets m queries
    or for the last column (never)."""
    out = np.full((NEVER + 1, t.n_contexts), np.inf)
    out[0] = 0.0
    first = np.concatenate(([0], np.cumsum(t.counts)[:-1]))
    for m in range(1, MAX_TRIGGER + 1):
        has = t.counts >= m
        out[m, has] = t.query_time_s[first[has] + m - 1]
    return out


def queries_seen(t: ServedTables) -> IntArray:
    """Per query: how many queries of its context came before it."""
    first = np.concatenate(([0], np.cumsum(t.counts)[:-1]))
    return np.arange(t.query_context.size) - first[t.query_context]


@dataclass(frozen=True)
class CountPrior:
    """A count family with one parameter fitted given each context's prior mean: what a policy
    believes about the queries still to come (:meth:`remaining`)."""

    family: str
    param: float
    heldout_loglik: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_fit(cls, fit: Any) -> tuple[CountPrior, float]:
        """The count law an access-log fit (:class:`~sleeptime.workloads.ArrivalFit`) samples,
        as a prior (families without a per-mean form, Poisson and power law, as geometric with
        the same mean), and its mean."""
        q = fit.process.queries
        mean = (
            float(q.mean) if fit.best == "power-law" else fit.mean_count
        )  # the other MLEs keep the log's mean
        if fit.best == "gamma-poisson":
            return cls("gamma-poisson", float(q.shape)), mean
        return cls("self-exciting" if fit.best == "self-exciting" else "geometric", 0.0), mean

    def count(self, mean: float) -> QueryCount:
        """The count law of a context whose prior mean is ``mean`` queries (clipped to just
        above 1): this family with ``param`` as its shape, Poisson and power law as geometric."""
        mean = max(float(mean), 1.0 + 1e-6)
        family = self.family if self.family in ("gamma-poisson", "self-exciting") else "geometric"
        return count_law(family, mean, shape=self.param)

    def remaining(self, means: FloatArray, m_max: int = MAX_TRIGGER) -> FloatArray:
        """``(m_max + 1, contexts)``: expected queries still to come after ``m`` queries
        (``m = 0``: before any, the whole expected count)."""
        out = np.empty((m_max + 1, means.size))
        for mean in np.unique(means):
            out[:, means == mean] = expected_remaining(self.count(float(mean)), np.arange(m_max + 1))[:, None]  # fmt: skip
        return out


def fit_count_prior(counts: IntArray, means: FloatArray, *, seed: int = 0) -> CountPrior:
    """Pick the count family (geometric, gamma-Poisson with a fitted shape, self-exciting) that
    best explains the training contexts' counts given their prior means, by held-out
    log-likelihood over a quarter of the contexts; the shape is refitted on all of them."""
    from scipy.optimize import minimize_scalar

    order = np.random.default_rng(seed).permutation(counts.size)
    k = max(1, counts.size // 4)
    test, train = order[:k], order[k:]

    def loglik(family: str, param: float, rows: IntArray) -> float:
        prior = CountPrior(family, param)
        return float(sum(count_log_pmf(prior.count(float(m)), counts[rows][means[rows] == m]).sum() for m in np.unique(means[rows])))  # fmt: skip

    def shape(rows: IntArray) -> float:
        res = minimize_scalar(lambda x: -loglik("gamma-poisson", math.exp(x), rows), bounds=(-5.0, 6.0), method="bounded")  # fmt: skip
        return math.exp(float(res.x))

    scores = {
        "geometric": loglik("geometric", 0.0, test) / test.size,
        "gamma-poisson": loglik("gamma-poisson", shape(train), test) / test.size,
        "self-exciting": loglik("self-exciting", 0.0, test) / test.size,
    }
    best = max(scores, key=lambda f: scores[f])
    return CountPrior(
        best, shape(np.arange(counts.size)) if best == "gamma-poisson" else 0.0, scores
    )


def ready_shares(t: ServedTables, triggers: FloatArray) -> FloatArray:
    """``(NEVER, levels)``: among the queries after the m-th of contexts that reach m, the share
    arriving once work submitted at the m-th query is done (what the training history shows)."""
    seen = queries_seen(t)
    out = np.zeros((NEVER, t.n_sleep))
    for m in range(NEVER):
        start = triggers[m][t.query_context]
        later = (seen >= m) & np.isfinite(start)
        for s in range(1, t.n_sleep):
            done = start + t.latency_s[s]
            out[m, s] = float((t.query_time_s[later] >= done[later]).mean()) if later.any() else 0.0
    return out


# ---------------------------------------------------------------------------- trigger policies
@dataclass(frozen=True)
class TriggerDecision:
    """Per context: the sleep level and the trigger (0..MAX_TRIGGER, NEVER)."""

    sleep: IntArray
    trigger: IntArray


def trigger_plan(t: ServedTables, triggers: FloatArray, d: TriggerDecision) -> Plan:
    """The plan of trigger decisions: work submitted at the trigger, ``c'`` there once done."""
    start = triggers[np.minimum(d.trigger, NEVER), np.arange(t.n_contexts)]
    slept = (d.sleep > 0) & np.isfinite(start)
    done = start + t.latency_s[d.sleep]
    served = slept[t.query_context] & (t.query_time_s >= done[t.query_context])
    usd = np.where(slept, t.sleep_usd[d.sleep, np.arange(t.n_contexts)], 0.0)
    return Plan(np.where(slept, d.sleep, 0), usd, served, np.ones(t.query_context.size))


def choose_trigger(
    best: FloatArray, remaining: FloatArray, ready: FloatArray, sleep_cost: FloatArray, lam: float,
    allowed: Sequence[int] = tuple(range(MAX_TRIGGER + 1)),
) -> TriggerDecision:  # fmt: skip
    """Sleep at the first allowed decision point where sleeping now is worth more than never:
    ``E[R | m] * (pi * best_s + (1 - pi) * best_0) - lam * cost_s > E[R | m] * best_0``.
    ``best``: (levels, contexts) value per query of each level; ``remaining``: (m, contexts)."""
    n_c = best.shape[1]
    sleep = np.zeros(n_c, dtype=np.int64)
    trig = np.full(n_c, NEVER, dtype=np.int64)
    open_ = np.ones(n_c, dtype=bool)
    for m in allowed:
        gain = remaining[m][None, :] * ready[m][1:, None] * (best[1:] - best[0][None, :]) - lam * sleep_cost[1:]  # fmt: skip
        level = gain.argmax(axis=0) + 1
        go = open_ & (gain.max(axis=0) > 0)
        sleep[go], trig[go] = level[go], m
        open_ &= ~go
    return TriggerDecision(sleep, trig)


def learned_values(lt: LearnedTables, t: ServedTables, items: SimItems, lam: float) -> FloatArray:
    """(levels, contexts): the learned policy's value per query of each sleep level at sleep
    time (question draws averaged, the best budget per draw)."""
    test, _, _ = lt.policy.cost_tables()
    prompt = expected_prompt_tokens(items)
    cost = test[:, :, 0, None] + test[:, :, 1, None] * prompt[None, None, :]
    return np.asarray((lt.p_context - lam * cost).max(axis=2).mean(axis=0), dtype=np.float64)


def true_values(t: ServedTables, lam: float) -> FloatArray:
    """(levels, contexts): per query mean over each context's queries of the best true
    ``p - lam * usd`` with ``c'`` served (level 0: without)."""
    best = (t.p1 - lam * t.u1).max(axis=1)  # (s, q)
    n = np.maximum(t.counts, 1)
    return np.stack([np.bincount(t.query_context, weights=best[s], minlength=t.n_contexts) / n for s in range(t.n_sleep)])  # fmt: skip


def learned_budgets(lt: LearnedTables, items: SimItems, plan: Plan, lam: float) -> IntArray:
    """Per query, shape ``(n_queries,)``: the learned policy's budget at price ``lam``
    (accuracy per USD) under ``plan``, at its context's sleep level where ``c'`` is served and
    level 0 where not (:func:`choose_budget` on the stored predictions)."""
    test, _, _ = lt.policy.cost_tables()
    s_eff = np.where(plan.served, plan.sleep[items.query_context], 0).astype(np.int64)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    return choose_budget(lt.p_query, test, s_eff, prompt, lam)


def sleep_cost_of(policy: LearnedPolicy, items: SimItems, n_sleep: int) -> FloatArray:
    """(levels, contexts): the policy's own price of each level's work."""
    _, sleep, _ = policy.cost_tables()
    return np.stack([sleep[s, 0] + sleep[s, 1] * items.context_tokens for s in range(n_sleep)])


@dataclass(frozen=True)
class SweptPlan:
    """A policy swept over ``lam``: (lam, accuracy, USD per query) per point, the per-context
    expected correct answers and USD of every point (for the bootstrap), and its decisions."""

    name: str
    sweep: Sweep
    correct: FloatArray  # (points, contexts)
    usd: FloatArray  # (points, contexts)
    decide: Callable[[float], tuple[Plan, IntArray]] = field(repr=False)

    def at_accuracy(self, accuracy: float) -> tuple[float, float]:
        """(lam of the first reaching point, USD per query at exactly ``accuracy``: the mix of
        the two Pareto points around it); NaN where never reached."""
        return at_equal_accuracy(self.sweep, accuracy)


def sweep_plans(name: str, t: ServedTables, decide: Callable[[float], tuple[Plan, IntArray]], lams: Sequence[float] = tuple(LAMS)) -> SweptPlan:  # fmt: skip
    """Price the decisions ``decide(lam)`` (a plan and a budget per query) at every ``lam`` of
    ``lams`` (accuracy per USD) on the served tables: the sweep of (lam, accuracy, USD per
    query) and the per-context expected correct answers and USD, ``(len(lams), n_contexts)``."""
    correct, usd = [], []
    for lam in lams:
        c, u = per_context(t, *decide(float(lam)))
        correct.append(c)
        usd.append(u)
    C, U = np.array(correct), np.array(usd)
    n = max(t.query_context.size, 1)
    sweep = tuple((float(lam), float(c.sum() / n), float(u.sum() / n)) for lam, c, u in zip(lams, C, U, strict=True))  # fmt: skip
    return SweptPlan(name, sweep, C, U, decide)


@dataclass(frozen=True)
class PolicyPoint(AsJson):
    """A swept policy at the reference's accuracy: USD per 1k queries (interpolated between the
    two Pareto points around it), its cost change, and the share of its oracle's saving it
    closes, each with a 95% interval from a paired bootstrap over contexts that re-reads the
    whole sweep in each draw."""

    name: str
    usd_per_1k_at_equal_accuracy: float
    cost_change: float
    cost_change_ci95: tuple[float, float]
    gap_closed: float | None = None
    gap_closed_ci95: tuple[float, float] | None = None
    sleep_share: float | None = None
    trigger_shares: Mapping[str, float] | None = None
    gap_closed_observable: float | None = None
    gap_closed_observable_ci95: tuple[float, float] | None = None


def _weighted_at(s: SweptPlan, W: FloatArray, n_w: FloatArray, target: FloatArray) -> FloatArray:
    """Per bootstrap draw (rows of ``W``): the USD per query of ``s`` at accuracy ``target``."""
    A, U = (W @ s.correct.T) / n_w[:, None], (W @ s.usd.T) / n_w[:, None]
    lams = [p[0] for p in s.sweep]
    return np.array([at_equal_accuracy(tuple(zip(lams, A[d], U[d], strict=True)), float(target[d]))[1] for d in range(W.shape[0])])  # fmt: skip


def judge(
    t: ServedTables,
    reference: tuple[Plan, IntArray],
    swept: Sequence[SweptPlan],
    oracles: Mapping[str, str],
    observable: Mapping[str, str] | None = None,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> tuple[float, float, list[PolicyPoint]]:
    """Each swept policy at the reference's accuracy: cost change and the share of its oracle's
    saving closed (``oracles`` maps a policy to the oracle it is judged against; the others
    against the first one named; ``observable`` the same for the information-matched gap), with
    paired bootstrap intervals over contexts (one set of draws for every number; none where
    the policy misses the reference's accuracy in more than a tenth of the draws)."""
    acc, usd = evaluate_plan(t, *reference)
    c_ref, u_ref = per_context(t, *reference)
    n_ctx = t.counts.astype(np.float64)
    rng = np.random.default_rng(seed + 5)
    W = poisson_weights(n_boot, t.n_contexts, rng)
    n_w = np.maximum(W @ n_ctx, 1.0)
    ref_acc, ref_usd = (W @ c_ref) / n_w, (W @ u_ref) / n_w
    at = {s.name: s.at_accuracy(acc) for s in swept}
    boot = {s.name: _weighted_at(s, W, n_w, ref_acc) for s in swept}

    def gap(name: str, mapping: Mapping[str, str] | None) -> tuple[float | None, tuple[float, float] | None]:  # fmt: skip
        oracle = (mapping or {}).get(name, next(iter((mapping or {}).values()), None))
        if oracle not in boot:
            return None, None
        saved = ref_usd - boot[oracle]
        o_usd = at[oracle][1]
        point = (usd - at[name][1]) / (usd - o_usd) if usd - o_usd > 0 else math.nan
        return point, percentile_interval(
            (ref_usd - boot[name]) / np.where(saved > 0, saved, np.nan), min_finite=0.9
        )

    out = []
    for s in swept:
        lam, usd_at = at[s.name]
        change = usd_at / usd - 1 if math.isfinite(usd_at) else math.nan
        share = float((s.decide(lam)[0].sleep > 0).mean()) if math.isfinite(lam) else None
        (g, g_ci), (o, o_ci) = gap(s.name, oracles), gap(s.name, observable)
        out.append(PolicyPoint(s.name, 1000 * usd_at, change, percentile_interval(boot[s.name] / ref_usd - 1, min_finite=0.9), g, g_ci, share,
                               gap_closed_observable=o, gap_closed_observable_ci95=o_ci))  # fmt: skip
    return acc, usd, out


def fixed_plan(t: ServedTables, triggers: FloatArray, s: int, b: int, trigger: int = 0) -> tuple[Plan, IntArray]:  # fmt: skip
    """A fixed strategy as a plan: sleep level ``s`` for every context, submitted at trigger
    point ``trigger`` (0 at arrival, m after the m-th query; ``triggers`` from
    :func:`trigger_times`, ``(NEVER + 1, n_contexts)``), and budget ``b`` for every query,
    shape ``(n_queries,)``."""
    d = TriggerDecision(
        np.full(t.n_contexts, s, np.int64), np.full(t.n_contexts, trigger, np.int64)
    )
    return trigger_plan(t, triggers, d), np.full(t.query_context.size, b, np.int64)
