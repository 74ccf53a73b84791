"""When to sleep: triggers, refresh after edits, the size of ``c'``, idle capacity, pass@k.

Every number here is **simulated** (the paper-calibrated outcome model and a price book).

The pieces share one table, :class:`ServedTables`: per query and action, the chance of a
correct answer and the test-time USD with ``c'`` served and without it, and per context the
USD of one sleep-time build. A *plan* then says per context which sleep level runs, when its
work is submitted and finishes, and per query whether ``c'`` is there and how much of its gain
it still carries (a stale ``c'`` after an edit keeps less). :func:`evaluate_plan` prices a plan
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
  :func:`observable_tables`: the bound of a policy whose features carry what the LM scores do;
- the *hindsight oracle*: also the realized number and times of the queries.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime.policy import (
    Environment,
    LearnedPolicy,
    LearnedTables,
    Sweep,
    at_equal_accuracy,
    choose_budget,
    expected_prompt_tokens,
)
from sleeptime.simulators import SimItems, sleep_plan
from sleeptime.workloads import (
    QueryCount,
    count_law,
    count_log_pmf,
    expected_remaining,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Thresholds of the posterior rule: sleep once the expected queries still to come reach one.
POSTERIOR_THRESHOLDS = (2.0, 4.0, 6.0)
#: Oracles deciding with the observables only (see :func:`observable_tables`).
OBS_TRIGGER, OBS_ARRIVAL = (
    "oracle (information-matched) trigger",
    "oracle (information-matched) at arrival",
)
#: The sweep of prices (accuracy per USD) every policy here is read off.
LAMS = np.geomspace(1.0, 1e7, 97)
#: Trigger points a policy may choose: at arrival (0) or after the m-th query, m <= MAX_TRIGGER.
MAX_TRIGGER = 4
NEVER = MAX_TRIGGER + 1


@dataclass(frozen=True)
class ServedTables:
    """Per (sleep level, budget, query): P(correct) and test-time USD and tokens with ``c'``
    served (``p1``, ``u1``, ``t1``; level 0 is without it, the same as ``p0``...), per (budget,
    query) without ``c'`` (``p0``, ``u0``, ``t0``); per (level, context) the USD of one build at
    the batch price and its sleep-time tokens (in + out); per level the seconds from submitting
    the work to ``c'`` being there."""

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
        return np.bincount(self.query_context, minlength=self.n_contexts).astype(np.int64)

    @property
    def n_sleep(self) -> int:
        return int(self.p1.shape[0])

    @property
    def n_budgets(self) -> int:
        return int(self.p0.shape[0])


def served_tables(env: Environment, items: SimItems) -> ServedTables:
    """Replay every (sleep level, budget) with ``c'`` served to every query (and without)."""
    n_s, n_b, n_q = env.n_sleep, env.n_budgets, items.n_queries
    price = env.prices.price(env.model)
    inp, outp = price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6
    counts = np.maximum(items.queries_per_context(), 1).astype(np.float64)
    p1, u1, t1 = (np.empty((n_s, n_b, n_q)) for _ in range(3))
    sleep_usd, sleep_tokens = np.zeros((n_s, items.n_contexts)), np.zeros((n_s, items.n_contexts))
    latency = np.zeros(n_s)
    for s in range(n_s):
        sleep = np.full(items.n_contexts, s, dtype=np.int64)
        plan = sleep_plan(items, sleep, env.outcome, price)
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
    expect = getattr(env.outcome, "p_given_latent_moments", None)
    if expect is None:
        return None
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

    def count(self, mean: float) -> QueryCount:
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
    test, _, _ = lt.policy._tables()
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
    test, _, _ = lt.policy._tables()
    s_eff = np.where(plan.served, plan.sleep[items.query_context], 0).astype(np.int64)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    return choose_budget(lt.p_query, test, s_eff, prompt, lam)


def sleep_cost_of(policy: LearnedPolicy, items: SimItems, n_sleep: int) -> FloatArray:
    """(levels, contexts): the policy's own price of each level's work."""
    _, sleep, _ = policy._tables()
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
class PolicyPoint:
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

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _weighted_at(s: SweptPlan, W: FloatArray, n_w: FloatArray, target: FloatArray) -> FloatArray:
    """Per bootstrap draw (rows of ``W``): the USD per query of ``s`` at accuracy ``target``."""
    A, U = (W @ s.correct.T) / n_w[:, None], (W @ s.usd.T) / n_w[:, None]
    lams = [p[0] for p in s.sweep]
    return np.array([at_equal_accuracy(tuple(zip(lams, A[d], U[d], strict=True)), float(target[d]))[1] for d in range(W.shape[0])])  # fmt: skip


def _interval(x: FloatArray) -> tuple[float, float]:
    ok = x[np.isfinite(x)]
    if ok.size < 0.9 * x.size:  # the policy misses the accuracy in too many draws
        return (math.nan, math.nan)
    lo, hi = np.quantile(ok, [0.025, 0.975])
    return float(lo), float(hi)


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
    paired bootstrap intervals over contexts (one set of draws for every number)."""
    acc, usd = evaluate_plan(t, *reference)
    c_ref, u_ref = per_context(t, *reference)
    n_ctx = t.counts.astype(np.float64)
    rng = np.random.default_rng(seed + 5)
    W = rng.poisson(1.0, size=(n_boot, t.n_contexts)).astype(np.float64)
    W[W.sum(axis=1) == 0, 0] = 1.0
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
        return point, _interval((ref_usd - boot[name]) / np.where(saved > 0, saved, np.nan))

    out = []
    for s in swept:
        lam, usd_at = at[s.name]
        change = usd_at / usd - 1 if math.isfinite(usd_at) else math.nan
        share = float((s.decide(lam)[0].sleep > 0).mean()) if math.isfinite(lam) else None
        (g, g_ci), (o, o_ci) = gap(s.name, oracles), gap(s.name, observable)
        out.append(PolicyPoint(s.name, 1000 * usd_at, change, _interval(boot[s.name] / ref_usd - 1), g, g_ci, share,
                               gap_closed_observable=o, gap_closed_observable_ci95=o_ci))  # fmt: skip
    return acc, usd, out


# ---------------------------------------------------------------------------- the sections
def _fixed(t: ServedTables, triggers: FloatArray, s: int, b: int, trigger: int = 0) -> tuple[Plan, IntArray]:  # fmt: skip
    d = TriggerDecision(
        np.full(t.n_contexts, s, np.int64), np.full(t.n_contexts, trigger, np.int64)
    )
    return trigger_plan(t, triggers, d), np.full(t.query_context.size, b, np.int64)


@dataclass(frozen=True)
class TriggerSection:
    """Triggers on one scenario: the fitted count prior, fixed triggers, and every swept
    policy at the operating point (fixed(k1,b1) at arrival)."""

    arrivals: str
    prior: CountPrior
    reference: str
    accuracy: float
    usd_per_1k: float
    fixed: Mapping[str, tuple[float, float]]
    points: tuple[PolicyPoint, ...]
    sweeps: Mapping[str, Sweep]

    def point(self, name: str) -> PolicyPoint:
        return next(p for p in self.points if p.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"arrivals": self.arrivals, "count_prior": {"family": self.prior.family, "param": self.prior.param,
                "heldout_loglik_per_context": dict(self.prior.heldout_loglik)}, "reference": self.reference,
                "accuracy": self.accuracy, "usd_per_1k": self.usd_per_1k,
                "fixed": {k: {"accuracy": a, "usd_per_1k": 1000 * u} for k, (a, u) in self.fixed.items()},
                "policies": [p.to_json() for p in self.points]}  # fmt: skip


def trigger_section(
    env: Environment, train: SimItems, test: SimItems, policy: LearnedPolicy, true_prior: CountPrior,
    *, arrivals: str, reference: tuple[int, int] = (1, 1), n_boot: int = 500, seed: int = 0,
    observed_all: FloatArray | None = None, rho: float = 0.5,
) -> TriggerSection:  # fmt: skip
    """The learned trigger against sleeping at arrival and never sleeping (both the learned
    policy's budgets), fixed triggers, the count-blind, information-matched and hindsight oracles."""
    tt, tr = served_tables(env, test), served_tables(env, train)
    trig, trig_train = trigger_times(tt), trigger_times(tr)
    prior = fit_count_prior(
        train.queries_per_context(), train.context_features["expected_queries"], seed=seed
    )
    rem_learned = prior.remaining(test.context_features["expected_queries"])
    rem_true = true_prior.remaining(test.context_features["true_mean_queries"])
    ready = ready_shares(tr, trig_train)
    lt = LearnedTables.build(policy, test)
    cost = sleep_cost_of(policy, test, tt.n_sleep)

    def learned(allowed: Sequence[int]) -> Callable[[float], tuple[Plan, IntArray]]:
        def decide(lam: float) -> tuple[Plan, IntArray]:
            d = choose_trigger(
                learned_values(lt, tt, test, lam), rem_learned, ready, cost, lam, allowed
            )
            plan = trigger_plan(tt, trig, d)
            return plan, learned_budgets(lt, test, plan, lam)

        return decide

    def never_learned(lam: float) -> tuple[Plan, IntArray]:
        d = TriggerDecision(
            np.zeros(tt.n_contexts, np.int64), np.full(tt.n_contexts, NEVER, np.int64)
        )
        plan = trigger_plan(tt, trig, d)
        return plan, learned_budgets(lt, test, plan, lam)

    true_cost = tt.sleep_usd

    def informed(allowed: Sequence[int], dt: ServedTables = tt) -> Callable[[float], tuple[Plan, IntArray]]:  # fmt: skip
        def decide(lam: float) -> tuple[Plan, IntArray]:
            d = choose_trigger(true_values(dt, lam), rem_true, ready, true_cost, lam, allowed)
            plan = trigger_plan(tt, trig, d)
            return plan, oracle_budgets(dt, plan, lam)

        return decide

    def hindsight(lam: float) -> tuple[Plan, IntArray]:
        best_value = np.full(tt.n_contexts, -np.inf)
        best = TriggerDecision(
            np.zeros(tt.n_contexts, np.int64), np.full(tt.n_contexts, NEVER, np.int64)
        )
        for m in range(NEVER + 1):
            for s in range(tt.n_sleep if m < NEVER else 1):
                d = TriggerDecision(
                    np.full(tt.n_contexts, s, np.int64), np.full(tt.n_contexts, m, np.int64)
                )
                plan = trigger_plan(tt, trig, d)
                c, u = per_context(tt, plan, oracle_budgets(tt, plan, lam))
                value = c - lam * u
                better = value > best_value + 1e-15
                best_value = np.where(better, value, best_value)
                best = TriggerDecision(
                    np.where(better, s, best.sleep), np.where(better, m, best.trigger)
                )
        plan = trigger_plan(tt, trig, best)
        return plan, oracle_budgets(tt, plan, lam)

    swept = [
        sweep_plans("learned trigger", tt, learned(tuple(range(MAX_TRIGGER + 1)))),
        sweep_plans("learned at arrival", tt, learned((0,))),
        sweep_plans("learned never", tt, never_learned),
        sweep_plans("oracle (count-blind) trigger", tt, informed(tuple(range(MAX_TRIGGER + 1)))),
        sweep_plans("oracle (count-blind) at arrival", tt, informed((0,))),
        sweep_plans("oracle (hindsight)", tt, hindsight),
    ]
    obs = observable_tables(env, tt, test, observed_all, rho) if observed_all is not None else None
    if obs is not None:
        swept[3:3] = [
            sweep_plans(OBS_TRIGGER, tt, informed(tuple(range(MAX_TRIGGER + 1)), obs)),
            sweep_plans(OBS_ARRIVAL, tt, informed((0,), obs)),
        ]
    ref = _fixed(tt, trig, *reference)
    im = "oracle (count-blind) trigger"
    oracles = {
        "learned trigger": im,
        "learned at arrival": "oracle (count-blind) at arrival",
    }
    observable = {"learned trigger": OBS_TRIGGER, "learned at arrival": OBS_ARRIVAL} if obs is not None else None  # fmt: skip
    acc, usd, points = judge(tt, ref, swept, oracles, observable, n_boot=n_boot, seed=seed)
    # which triggers the learned one takes at the operating point
    lam = swept[0].at_accuracy(acc)[0]
    if math.isfinite(lam):
        d = choose_trigger(learned_values(lt, tt, test, lam), rem_learned, ready, cost, lam)
        shares = {("at arrival" if m == 0 else f"after query {m}"): float(((d.trigger == m) & (d.sleep > 0)).mean()) for m in range(MAX_TRIGGER + 1)}  # fmt: skip
        shares["never"] = float((d.sleep == 0).mean())
        points[0] = dataclasses.replace(points[0], trigger_shares=shares)
    fixed = {}
    names = {0: "at arrival", 1: "after query 1", 2: "after query 2", NEVER: "never"}
    for m, label in names.items():
        s = reference[0] if m != NEVER else 0
        fixed[f"fixed(k{reference[0]},b{reference[1]}) {label}"] = evaluate_plan(
            tt, *_fixed(tt, trig, s, reference[1], m)
        )
    for theta in POSTERIOR_THRESHOLDS:  # sleep once the expected queries still to come reach theta
        first = np.argmax(rem_learned >= theta, axis=0)
        trigger = np.where((rem_learned >= theta).any(axis=0), first, NEVER)
        d = TriggerDecision(
            np.full(tt.n_contexts, reference[0], np.int64), trigger.astype(np.int64)
        )
        plan = trigger_plan(tt, trig, d)
        fixed[f"k{reference[0]},b{reference[1]} once E[queries to come] >= {theta:g}"] = evaluate_plan(tt, plan, np.full(tt.query_context.size, reference[1], np.int64))  # fmt: skip
    name = f"fixed(k{reference[0]},b{reference[1]}) at arrival"
    return TriggerSection(
        arrivals,
        prior,
        name,
        acc,
        1000 * usd,
        fixed,
        tuple(points),
        {s.name: s.sweep for s in swept},
    )


# ---------------------------------------------------------------------------- edits and refresh
REFRESH_STRATEGIES = ("never", "always (full)", "always (incremental)", "learned")


@dataclass(frozen=True)
class EditEffect:
    """What an edit does to a ``c'`` built before it, stated and configurable.

    ``mode="share"``: answers from a stale ``c'`` keep ``1 - loss`` of the sleep-time gain;
    ``mode="wrong"``: a share ``touched`` of the questions ask about the edited part, and their
    answers from a stale ``c'`` are wrong. A refresh re-runs the work: whole, or an incremental
    rewrite at ``incremental_cost`` of the price that restores ``incremental_quality`` of the
    gain's freshness."""

    mode: str = "share"
    loss: float = 0.5
    touched: float = 0.3
    incremental_cost: float = 0.3
    incremental_quality: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("share", "wrong"):
            raise ValueError(f"the stale effect must be 'share' or 'wrong', got {self.mode!r}")
        for name in ("loss", "touched", "incremental_cost", "incremental_quality"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")


def draw_edits(t: ServedTables, rate: float, seed: int, max_edits: int = 12) -> FloatArray:
    """``(contexts, max_edits)`` edit times (inf padded): Poisson(``rate``) edits per context,
    uniform over its lifetime (until its last query)."""
    rng = np.random.default_rng(seed)
    n = np.minimum(rng.poisson(rate, t.n_contexts), max_edits)
    last = np.zeros(t.n_contexts)
    np.maximum.at(last, t.query_context, t.query_time_s)
    times = rng.random((t.n_contexts, max_edits)) * last[:, None]
    times[np.arange(max_edits)[None, :] >= n[:, None]] = np.inf
    return np.sort(times, axis=1)


def refresh_plan(t: ServedTables, base: Plan, start: FloatArray, edits: FloatArray, refresh: IntArray, effect: EditEffect) -> Plan:  # fmt: skip
    """``base`` with edits replayed: ``refresh[c, k]`` is 0 (none), 1 (whole) or 2
    (incremental) for edit ``k`` of context ``c``. A query's ``c'`` is fresh when the context's
    last edit before it came before the work started, or was refreshed and the refresh is
    done; else it is stale (its gain scaled down). Refreshes add their price."""
    qc, tq = t.query_context, t.query_time_s
    ed = edits[qc]  # (q, k)
    before = ed <= tq[:, None]
    k_last = before.sum(axis=1) - 1  # index of the last edit before the query, -1 none
    e_last = np.where(k_last >= 0, ed[np.arange(qc.size), np.maximum(k_last, 0)], -np.inf)
    st = start[qc]
    lat = t.latency_s[base.sleep][qc]
    r_last = np.where(k_last >= 0, refresh[qc, np.maximum(k_last, 0)], 0)
    fresh = (e_last < st) | ((r_last > 0) & (tq >= e_last + lat))
    quality = np.where((r_last == 2) & (e_last >= st), effect.incremental_quality, 1.0)
    gain = np.where(fresh, quality, 1.0 - effect.loss if effect.mode == "share" else 1.0)
    wrong = None
    if effect.mode == "wrong":  # a share of the stale answers ask about the edited part: wrong
        wrong = np.where(fresh, 0.0, effect.touched)
    slept = base.sleep > 0
    valid = np.isfinite(edits) & (edits >= start[:, None]) & slept[:, None]
    price = t.sleep_usd[base.sleep, np.arange(t.n_contexts)]
    extra = ((refresh == 1) & valid).sum(axis=1) * price + ((refresh == 2) & valid).sum(axis=1) * price * effect.incremental_cost  # fmt: skip
    return Plan(base.sleep, base.sleep_usd + extra, base.served, gain, wrong)


@dataclass(frozen=True)
class EditRow:
    """One edit rate: each refresh strategy's USD per 1k queries at the reference's accuracy
    (fixed(k1,b1) at arrival, always refreshing in whole), the learned refresh's saving
    against never and always refreshing (the cheaper way), and the share of the edits of slept
    contexts it refreshes at that accuracy."""

    edit_rate: float
    accuracy: float
    usd_per_1k: Mapping[str, float]
    saving_vs_never: float
    saving_vs_always: float
    refresh_share: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _seen_before(t: ServedTables, edits: FloatArray) -> IntArray:
    """``(contexts, max_edits)``: how many of its queries a context has had before each edit."""
    if not t.n_contexts:
        return np.zeros((0, edits.shape[1]), np.int64)
    ends = np.cumsum(t.counts)
    starts = ends - t.counts  # the queries are sorted by context, then time
    return np.stack([np.searchsorted(t.query_time_s[a:b], edits[c]) for c, (a, b) in enumerate(zip(starts, ends, strict=True))])  # fmt: skip


def _remaining_factor(t: ServedTables, edits: FloatArray, seen: IntArray, remaining: FloatArray, m_max: int = 5) -> FloatArray:  # fmt: skip
    """Per number of queries seen before an edit (``m_max`` and more pooled): the queries that
    came after the edits of ``t``'s contexts over what the count posterior expected (1 where no
    edit was seen)."""
    valid = np.isfinite(edits)
    real = (t.counts[:, None] - seen)[valid]
    expect = np.take_along_axis(remaining.T, np.minimum(seen, remaining.shape[0] - 1), axis=1)[
        valid
    ]
    bucket = np.minimum(seen[valid], m_max)
    out = np.ones(m_max + 1)
    for m in range(m_max + 1):
        rows = bucket == m
        if rows.sum() >= 20 and expect[rows].sum() > 0:
            out[m] = float(real[rows].sum() / expect[rows].sum())
    return out


def edits_section(
    env: Environment, train: SimItems, test: SimItems, policy: LearnedPolicy, *,
    rates: Sequence[float], effect: EditEffect, reference: tuple[int, int] = (1, 1), seed: int = 0,
) -> list[EditRow]:  # fmt: skip
    """For each edit rate: the learned policy's sleep and budgets, with never, always (whole or
    incremental) and the learned refresh decision; each swept over ``lam``."""
    tt = served_tables(env, test)
    trig = trigger_times(tt)
    prior = fit_count_prior(
        train.queries_per_context(), train.context_features["expected_queries"], seed=seed
    )
    rem = prior.remaining(test.context_features["expected_queries"], m_max=64)
    lt = LearnedTables.build(policy, test)
    cost = sleep_cost_of(policy, test, tt.n_sleep)
    tr = served_tables(env, train)
    ready_all = ready_shares(tr, trigger_times(tr))  # from the training contexts' history
    ready = ready_all[0]
    start = np.zeros(tt.n_contexts)
    rows = []
    last: dict[str, Any] = {}
    rem_train = prior.remaining(train.context_features["expected_queries"], m_max=64)
    for rate in rates:
        edits = draw_edits(tt, rate, seed + 31)
        seen = _seen_before(tt, edits)
        # the count posterior does not know that an edit falls inside a context's life: calibrate
        # it on the training contexts' own edits (what an edit log shows), per queries seen
        train_edits = draw_edits(tr, rate, seed + 37)
        factor = _remaining_factor(tr, train_edits, _seen_before(tr, train_edits), rem_train)
        er = np.take_along_axis(rem.T, np.minimum(seen, rem.shape[0] - 1), axis=1) * factor[np.minimum(seen, factor.size - 1)]  # (c, k)  # fmt: skip

        def strategy(
            kind: str, edits: FloatArray = edits, er: FloatArray = er
        ) -> Callable[[float], tuple[Plan, IntArray]]:
            def decide(lam: float) -> tuple[Plan, IntArray]:
                values = learned_values(lt, tt, test, lam)
                d = choose_trigger(values, rem, ready_all, cost, lam, (0,))
                base = trigger_plan(tt, trig, d)
                if kind == "never":
                    refresh = np.zeros(edits.shape, np.int64)
                elif kind == "always (full)":
                    refresh = np.ones(edits.shape, np.int64)
                elif kind == "always (incremental)":
                    refresh = np.full(edits.shape, 2, np.int64)
                else:
                    s = base.sleep
                    idx = np.arange(tt.n_contexts)
                    if effect.mode == "share":
                        per_query = effect.loss * np.maximum(values[s, idx] - values[0], 0.0)
                    else:
                        per_query = effect.touched * lt.p_context[:, s, :, idx].mean(axis=1).max(
                            axis=1
                        )  # (c, draws, b) -> (c,)
                    worth = er * ready[s][:, None] * per_query[:, None]
                    price = cost[s, idx][:, None]
                    full = worth - lam * price
                    incr = (
                        worth * effect.incremental_quality - lam * price * effect.incremental_cost
                    )
                    refresh = np.where(
                        np.maximum(full, incr) > 0, np.where(incr >= full, 2, 1), 0
                    ).astype(np.int64)
                plan = refresh_plan(tt, base, start, edits, refresh, effect)
                last["refresh"], last["base"] = refresh, base
                return plan, learned_budgets(lt, test, plan, lam)

            return decide

        base_ref, b_ref = _fixed(tt, trig, *reference)
        ref = (
            refresh_plan(tt, base_ref, start, edits, np.ones(edits.shape, np.int64), effect),
            b_ref,
        )
        acc, _ = evaluate_plan(tt, *ref)
        usd = {}
        for kind in REFRESH_STRATEGIES:
            usd[kind] = 1000 * sweep_plans(kind, tt, strategy(kind)).at_accuracy(acc)[1]
        lam_at = sweep_plans("learned", tt, strategy("learned")).at_accuracy(acc)[0]
        share = math.nan
        if math.isfinite(lam_at):
            strategy("learned")(lam_at)
            slept = last["base"].sleep > 0
            due = np.isfinite(edits) & slept[:, None]  # edits of contexts whose c' they make stale
            share = float((last["refresh"] > 0)[due].mean()) if due.any() else 0.0
        always = min(usd["always (full)"], usd["always (incremental)"])
        rows.append(
            EditRow(
                float(rate),
                acc,
                usd,
                1 - usd["learned"] / usd["never"],
                1 - usd["learned"] / always,
                share,
            )
        )
    return rows


# ---------------------------------------------------------------------------- the size of c'
def cprime_gain_share(scale: FloatArray, saturation: float) -> FloatArray:
    """Share of the calibrated sleep-time gain a ``c'`` of ``scale`` times the calibrated length
    carries: ``(1 - exp(-scale / s)) / (1 - exp(-1 / s))`` (1 at the calibrated length; shorter
    notes lose what they leave out, longer ones add less and less). An assumption, stated."""
    return np.asarray(
        (1 - np.exp(-np.asarray(scale) / saturation)) / (1 - math.exp(-1 / saturation))
    )


@dataclass(frozen=True)
class CprimeSweep:
    """Savings of sleep-time compute (fixed(k1,b0)) against test-only at equal accuracy, per
    ``c'`` length and queries per context, and the break-even length per query rate."""

    cprime_tokens: tuple[float, ...]
    query_rates: tuple[float, ...]
    savings: tuple[tuple[float, ...], ...]  # (rate, length)
    break_even_tokens: tuple[float | None, ...]
    saturation: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def cprime_sweep(
    env: Environment, *, scales: Sequence[float], rates: Sequence[int], saturation: float = 0.5,
    n_contexts: int = 2000, seed: int = 0, level: int = 1, budget: int = 1,
) -> CprimeSweep:  # fmt: skip
    """For each queries-per-context rate and ``c'`` length: the USD of sleep level ``level`` at
    ``budget`` against test-only's cost at that accuracy (interpolated on test-only's budgets).
    Writing a longer ``c'`` costs its output tokens; every later prompt carries it (cache reads
    discount it where the book says); its gain follows :func:`cprime_gain_share`."""
    from sleeptime.simulators import synthetic_items
    from sleeptime.workloads import ArrivalProcess, FixedCount

    outcome = env.outcome
    base_frac = float(getattr(outcome, "cprime_fraction", 0.6))
    per_unit = float(getattr(outcome, "sleep_tokens_per_unit", 0.0) or 0.0)
    lengths: list[float] = []
    rows: list[tuple[float, ...]] = []
    for rate in rates:
        items = synthetic_items(
            n_contexts, arrivals=ArrivalProcess(queries=FixedCount(int(rate))), seed=seed
        )
        t0 = served_tables(env, items)
        trig = trigger_times(t0)
        to = [evaluate_plan(t0, *_fixed(t0, trig, 0, b)) for b in range(t0.n_budgets)]
        row = []
        for m in scales:
            # the work writes the same reasoning and a c' m times as long
            out_scale = (1 - base_frac) + base_frac * m
            scaled = dataclasses.replace(
                outcome,
                cprime_fraction=base_frac * m / out_scale,
                sleep_tokens_per_unit=per_unit * out_scale,
            )  # type: ignore[type-var]
            tm = served_tables(Environment(scaled, env.prices, env.model), items)
            plan, b = _fixed(tm, trig, level, budget)
            plan = dataclasses.replace(
                plan,
                gain=np.full(
                    plan.served.size, float(cprime_gain_share(np.array([m]), saturation)[0])
                ),
            )
            acc, usd = evaluate_plan(tm, plan, b)
            row.append(1 - usd / _cost_at(to, acc))
            if len(lengths) < len(scales):
                lengths.append(base_frac * per_unit * m)
        rows.append(tuple(row))
    breaks = tuple(_crossing(lengths, r) for r in rows)
    return CprimeSweep(
        tuple(lengths), tuple(float(r) for r in rates), tuple(rows), breaks, saturation
    )


def _cost_at(points: Sequence[tuple[float, float]], accuracy: float) -> float:
    """The USD per query a mix of test-only budgets needs for ``accuracy`` (NaN beyond them)."""
    from sleeptime.simulators import pareto_front

    acc = [a for a, _ in points]
    usd = [u for _, u in points]
    front = sorted(pareto_front(acc, usd), key=lambda i: usd[i])
    fa, fu = np.array([acc[i] for i in front]), np.array([usd[i] for i in front])
    if accuracy > fa.max():
        return math.nan
    if accuracy <= fa.min():
        return float(fu[0])
    return float(np.interp(accuracy, fa, fu))


def _crossing(x: Sequence[float], y: Sequence[float]) -> float | None:
    """The first ``x`` where ``y`` falls from >= 0 to below 0 (log-linear between points)."""
    for i in range(1, len(x)):
        if math.isfinite(y[i - 1]) and math.isfinite(y[i]) and y[i - 1] >= 0 > y[i]:
            t = y[i - 1] / (y[i - 1] - y[i])
            return float(math.exp(math.log(x[i - 1]) + t * (math.log(x[i]) - math.log(x[i - 1]))))
    return None


# ---------------------------------------------------------------------------- idle capacity
@dataclass(frozen=True)
class IdleRow:
    """One fleet size: the share of sleep-time work (tokens) done in idle capacity before its
    deadline, USD of sleep-time work against all of it at batch prices, and what the queries
    lose (accuracy, share served without ``c'``) against batch."""

    capacity_tokens_per_s: float
    idle_share: float
    sleep_usd_per_1k: float
    batch_sleep_usd_per_1k: float
    usd_saved_share: float
    accuracy: float
    batch_accuracy: float
    served_without_cprime: float
    batch_served_without_cprime: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def schedule_idle(arrive_s: FloatArray, work_tokens: FloatArray, capacity: float, load: Sequence[float], deadline_s: float) -> tuple[FloatArray, BoolArray]:  # fmt: skip
    """First come, first served through the fleet's idle capacity ``capacity * (1 - load(hour))``
    tokens per second: per context, when its work would finish and whether that is within
    ``deadline_s`` of its arrival (else it goes to the batch API and takes no capacity)."""
    hours = math.ceil((float(arrive_s.max(initial=0.0)) + deadline_s) / 3600.0) + 1
    rate = capacity * (1 - np.asarray(load, dtype=np.float64)[np.arange(hours) % len(load)])
    served_cum = np.concatenate(([0.0], np.cumsum(rate * 3600.0)))  # tokens served by each hour

    def cum(t: float) -> float:
        h = min(int(t // 3600), hours - 1)
        return float(served_cum[h] + rate[h] * (t - 3600 * h))

    def inverse(x: float) -> float:
        h = int(np.searchsorted(served_cum, x, side="right") - 1)
        if h >= hours:
            return math.inf
        return 3600 * h + (x - served_cum[h]) / rate[h] if rate[h] > 0 else math.inf

    done = np.full(arrive_s.size, math.inf)
    ok = np.zeros(arrive_s.size, dtype=bool)
    queue_end = 0.0
    for i in np.argsort(arrive_s, kind="stable"):
        pos = max(cum(float(arrive_s[i])), queue_end) + float(work_tokens[i])
        finish = inverse(pos) if pos <= served_cum[-1] else math.inf
        if finish - arrive_s[i] <= deadline_s:
            done[i], ok[i], queue_end = finish, True, pos
    return done, ok


#: A diurnal load of a self-hosted fleet (share of capacity busy with live traffic by hour,
#: 0-23): an assumption, quiet at night, busiest mid-afternoon.
DEFAULT_LOAD = tuple(
    round(0.55 + 0.35 * math.sin(2 * math.pi * (h - 9) / 24), 3) for h in range(24)
)


def idle_section(
    env: Environment, test: SimItems, *, capacities: Sequence[float], load: Sequence[float] = DEFAULT_LOAD,
    energy_usd_per_mtok: float = 0.0, deadline_s: float = 86_400.0, level: int = 1, budget: int = 1, seed: int = 0,
) -> list[IdleRow]:  # fmt: skip
    """Every context sleeps at ``level`` (answers at ``budget``); its work runs in the fleet's idle
    capacity when it fits before the deadline, else through the batch API. Contexts arrive over
    one day with the load curve's shape (busy hours bring more)."""
    tt = served_tables(env, test)
    rng = np.random.default_rng(seed + 41)
    weights = np.asarray(load, dtype=np.float64) / float(np.sum(load))
    hour = rng.choice(len(load), size=tt.n_contexts, p=weights)
    arrive = 3600.0 * (hour + rng.random(tt.n_contexts))
    sleep = np.full(tt.n_contexts, level, np.int64)
    budgets = np.full(tt.query_context.size, budget, np.int64)
    work = tt.sleep_tokens[level]
    idx = np.arange(tt.n_contexts)

    def outcome(done_after: FloatArray, usd: FloatArray) -> tuple[float, float, float]:
        served = tt.query_time_s >= done_after[tt.query_context]
        acc, total = evaluate_plan(tt, Plan(sleep, usd, served, np.ones(served.size)), budgets)
        return acc, total, 1 - float(served.mean())

    batch_usd = tt.sleep_usd[level, idx]
    b_acc, _, b_without = outcome(np.full(tt.n_contexts, tt.latency_s[level]), batch_usd)
    n_q = max(tt.query_context.size, 1)
    rows = []
    for cap in capacities:
        done, ok = schedule_idle(arrive, work, float(cap), load, deadline_s)
        after = np.where(ok, done - arrive, tt.latency_s[level])
        usd = np.where(ok, energy_usd_per_mtok / 1e6 * work, batch_usd)
        acc, _, without = outcome(after, usd)
        rows.append(IdleRow(float(cap), float(work[ok].sum() / max(work.sum(), 1e-12)), 1000 * float(usd.sum()) / n_q,
                            1000 * float(batch_usd.sum()) / n_q, 1 - float(usd.sum()) / max(float(batch_usd.sum()), 1e-15),
                            acc, b_acc, without, b_without))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------- pass@k
@dataclass(frozen=True)
class PassKPoint:
    """Accuracy, test-time output tokens per query and USD per 1k queries of one strategy."""

    name: str
    accuracy: float
    test_tokens: float
    usd_per_1k: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def pass_at_k(env: Environment, test: SimItems, ks: Sequence[int] = (1, 2, 4, 8)) -> tuple[list[PassKPoint], list[PassKPoint]]:  # fmt: skip
    """The paper's Fig. 5 comparison: ``k`` test-only samples at each budget with an oracle
    verifier (correct if any is, ``1 - (1 - p)^k`` per query; ``k`` times the output tokens,
    the prompt sent once), against each sleep-time level with ``c'`` served."""
    tt = served_tables(env, test)
    trig = trigger_times(tt)
    price = env.prices.price(env.model)
    outp = price.output_usd_per_mtok / 1e6
    passk = []
    for b in range(tt.n_budgets):
        for k in ks:
            acc = float((1 - (1 - tt.p0[b]) ** k).mean())
            tokens = float(k * tt.t0[b].mean())
            usd = float((tt.u0[b] + (k - 1) * outp * tt.t0[b]).mean())
            passk.append(PassKPoint(f"pass@{k} b{b}", acc, tokens, 1000 * usd))
    sleep = []
    for s in range(1, tt.n_sleep):
        for b in range(tt.n_budgets):
            plan, budget = _fixed(tt, trig, s, b)
            plan = dataclasses.replace(plan, served=np.ones(plan.served.size, dtype=bool))
            acc, usd = evaluate_plan(tt, plan, budget)
            sleep.append(
                PassKPoint(f"{env.fixed_name(s, b)}", acc, float(tt.t1[s, b].mean()), 1000 * usd)
            )
    return passk, sleep


def passk_at_equal_tokens(passk: Sequence[PassKPoint], point: PassKPoint) -> float:
    """The best pass@k accuracy at no more test-time tokens than ``point`` (NaN if none)."""
    ok = [p.accuracy for p in passk if p.test_tokens <= point.test_tokens * (1 + 1e-9)]
    return max(ok) if ok else math.nan
