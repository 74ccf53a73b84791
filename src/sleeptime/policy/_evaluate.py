"""Evaluate policies on held-out items: tables of outcomes, lambda searches, the comparison.

:func:`compare_policies` returns a :class:`Comparison`: typed rows and summaries, whose
``to_json()`` is what ``sleeptime compare --json`` prints (NaN becomes ``null`` there).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime._errors import SleeptimeError
from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables, Environment, Policy
from sleeptime.policy._baselines import FixedPolicy, oracle_decisions
from sleeptime.policy._learned import (
    LearnedPolicy,
    choose_budget,
    choose_sleep,
    expected_prompt_tokens,
)
from sleeptime.policy._sweeps import (
    Decisions,
    Sweep,
    at_equal_accuracy,
    at_equal_cost,
    lam_sweep,
)
from sleeptime.simulators import SimItems, pareto_front, poisson_bootstrap


class Group:
    """The groups a comparison's rows belong to."""

    TEST_ONLY = "test-only"
    FIXED_SLEEP = "fixed sleep-time"
    #: a fixed pair whose notes one model writes and another reads (not an operating point)
    FIXED_CROSS = "fixed across models"
    BASELINE = "baseline"
    ORACLE = "oracle"
    COUNT_BLIND = "oracle (count-blind)"
    LEARNED = "learned"
    FIXED = (TEST_ONLY, FIXED_SLEEP)


@dataclass
class LearnedTables:
    """A learned policy's predictions for every action, computed once; deciding for a new
    ``lam`` is then an argmax (the predictions do not depend on ``lam``)."""

    p_query: FloatArray  # (s, b, q)
    p_context: FloatArray  # (draws, s, b, c), from imputed context features and question draws
    policy: LearnedPolicy

    @classmethod
    def build(cls, policy: LearnedPolicy, items: SimItems) -> LearnedTables:
        """The fitted ``policy``'s predictions on ``items``: P(correct) per query, ``(s, b, q)``,
        and per context from its imputed features and each question draw, ``(draws, s, b, c)``.
        Reads the query and context features the policy names."""
        names = policy._names()
        Fq = np.column_stack([items.features[n] for n in names])
        Fc = np.column_stack([items.context_features[n] for n in names])
        return cls(policy.prediction_table(Fq), policy.context_prediction_table(Fc), policy)

    def decide(self, items: SimItems, env: Environment, lam: float) -> Decisions:
        """The policy's decisions at price ``lam`` (accuracy per USD) from the stored
        predictions: sleep level per context ``(n_contexts,)``, then budget per query
        ``(n_queries,)`` given whether ``env`` has ``c'`` ready. ``items`` must be those the
        tables were built on."""
        test, sleep_cost, ready_share = self.policy.cost_tables()
        sleep = choose_sleep(
            self.p_context, test, sleep_cost, ready_share, items.context_features["expected_queries"],
            items.context_tokens, expected_prompt_tokens(items), lam,
        )  # fmt: skip
        s_eff = np.where(env.ready(items, sleep), items.per_query(sleep), 0)
        prompt = items.per_query(items.context_tokens) + items.question_tokens
        return sleep, choose_budget(self.p_query, test, s_eff, prompt, lam)


def predicted_usd_per_query(
    lt: LearnedTables, items: SimItems, env: Environment, lam: float
) -> float:
    """What the policy expects its decisions at ``lam`` to cost per query on ``items``, from
    its own cost model: prompt and context lengths and whether ``c'`` is ready (all known to a
    router); no outcome is used."""
    test, sleep_cost, _ = lt.policy.cost_tables()
    sleep, budget = lt.decide(items, env, lam)
    s_eff = np.where(env.ready(items, sleep), items.per_query(sleep), 0)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    per_query = test[s_eff, budget, 0] + test[s_eff, budget, 1] * prompt
    per_context = np.where(
        sleep > 0, sleep_cost[sleep, 0] + sleep_cost[sleep, 1] * items.context_tokens, 0.0
    )
    return float((per_query.sum() + per_context.sum()) / max(items.n_queries, 1))


def per_context_sums(
    tables: ActionTables, sleep: IntArray, test: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per context: the sum of expected correct answers and of USD under the decisions."""
    s = np.repeat(sleep, tables.counts)
    idx = np.arange(tables.p.shape[2])
    correct = np.bincount(
        tables.query_context, weights=tables.p[s, test, idx], minlength=tables.n_contexts
    )
    usd = np.bincount(
        tables.query_context, weights=tables.usd[s, test, idx], minlength=tables.n_contexts
    )
    return correct.astype(np.float64), usd.astype(np.float64)


def paired_bootstrap(
    stat: Callable[[FloatArray], float], n_contexts: int, *, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% interval of ``stat(weights)`` under Poisson weights on contexts (the same draws for
    every policy compared, hence paired)."""

    def per_draw(w: FloatArray) -> FloatArray:
        return np.array([stat(row) for row in w])

    return poisson_bootstrap(per_draw, n_contexts, n_boot=n_boot, rng=np.random.default_rng(seed))


@dataclass(frozen=True)
class PolicyRow:
    """One policy's decisions replayed on held-out items (expected mode): accuracy with its 95%
    bootstrap interval over contexts, USD, tokens and latency; ``lam`` for swept policies."""

    name: str
    group: str
    accuracy: float
    accuracy_ci95: tuple[float, float]
    usd_per_query: float
    usd_per_1k_queries: float
    test_tokens_per_query: float
    sleep_tokens_per_context: float
    latency_p95_s: float
    contexts_with_sleep: float
    lam: float | None = None
    usd_per_query_ci95: tuple[float, float] | None = None
    test_tokens_per_query_ci95: tuple[float, float] | None = None

    #: The fields of a row in ``--json`` output and results, in order.
    JSON_FIELDS = ("name", "accuracy", "usd_per_query", "test_tokens_per_query", "sleep_tokens_per_context",
                   "latency_p95_s", "accuracy_ci95", "group")  # fmt: skip

    @property
    def is_fixed(self) -> bool:
        """Whether the row is a fixed strategy (test-only or fixed sleep-time)."""
        return self.group in Group.FIXED

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the row (``JSON_FIELDS``, and the cost and token intervals
        where measured), as ``--json`` prints it."""
        out = {k: getattr(self, k) for k in self.JSON_FIELDS}
        for k in ("usd_per_query_ci95", "test_tokens_per_query_ci95"):  # measured rows have them
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out


def policy_row(name: str, group: str, env: Environment, items: SimItems, sleep: IntArray, test: IntArray, *, seed: int = 0, lam: float | None = None) -> PolicyRow:  # fmt: skip
    """Replay the decisions (expected mode) and keep the numbers a comparison shows."""
    agg = env.replay(items, sleep, test, seed=seed, bootstrap=1000, return_traces=False).aggregates
    lo, hi = agg["accuracy_ci95"]
    return PolicyRow(name, group, agg["accuracy"], (lo, hi), agg["usd_per_query"], agg["usd_per_1k_queries"],
                     agg["test_tokens_per_query"], agg["sleep_tokens_per_context"], agg["latency_p95_s"],
                     agg["contexts_with_sleep"], lam, _pair(agg.get("usd_per_query_ci95")),
                     _pair(agg.get("test_tokens_per_query_ci95")))  # fmt: skip


def _pair(value: Any) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class SweptPolicy:
    """A policy priced at every ``lam`` of a sweep, read off at the operating point: the cost
    at the operating point's accuracy (interpolated between the two Pareto points around it)
    and the accuracy at its cost, with the decisions of the swept points there."""

    name: str
    group: str
    sweep: Sweep
    lam_at_equal_accuracy: float
    lam_at_equal_cost: float
    usd_at_equal_accuracy: float
    accuracy_at_equal_cost: float
    at_equal_accuracy: Decisions
    at_equal_cost: Decisions


@dataclass(frozen=True)
class OperatingPoint:
    """The best fixed strategy within ``budget_usd_per_1k``: what every policy is measured against."""

    best_static: str
    accuracy: float
    usd_per_1k: float
    budget_usd_per_1k: float

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the operating point (keys ``best_static*`` and
        ``budget_usd_per_1k``), as ``--json`` prints it."""
        return {"best_static": self.best_static, "best_static_accuracy": self.accuracy,
                "best_static_usd_per_1k": self.usd_per_1k, "budget_usd_per_1k": self.budget_usd_per_1k}  # fmt: skip


@dataclass(frozen=True)
class LearnedSummary(AsJson):
    """A learned policy against the operating point (positive reductions are savings).

    The ``*_at_equal_accuracy`` numbers interpolate its sweep between the two Pareto points
    around the operating point's accuracy (a mix of two ``lam`` values reaches it exactly); the
    ``*_at_reaching_point`` numbers are those of the first swept point that reaches it, with a
    paired bootstrap interval over contexts. Count-blind numbers are None where the items have
    no expected query counts; the sensitivity is None where the policy never reaches the
    operating point's accuracy."""

    cost_reduction_at_equal_accuracy: float
    cost_reduction_at_reaching_point: float
    cost_reduction_at_reaching_point_ci95: tuple[float, float]
    accuracy_gain_at_equal_cost: float
    accuracy_gain_ci95: tuple[float, float]
    oracle_gap_closed: float
    oracle_gap_closed_at_reaching_point: float
    oracle_gap_closed_at_reaching_point_ci95: tuple[float, float]
    oracle_cost_reduction_at_equal_accuracy: float
    oracle_cost_reduction_at_reaching_point: float
    count_blind_oracle_cost_reduction_at_equal_accuracy: float | None = None
    count_blind_gap_closed: float | None = None
    decision_breakdown: Mapping[str, Any] | None = None
    decision_sensitivity: Mapping[str, Mapping[str, float]] | None = None


@dataclass(frozen=True)
class FixedPointChange(AsJson):
    """At one fixed strategy of the fixed strategies' Pareto front: each swept policy's change
    in USD per query at that strategy's accuracy (negative is cheaper; NaN where the policy
    never reaches it)."""

    fixed: str
    accuracy: float
    usd_per_1k_queries: float
    cost_change_at_equal_accuracy: Mapping[str, float]


@dataclass(frozen=True)
class Comparison:
    """Every policy of :func:`compare_policies` on the same items: rows, swept policies (the
    oracles and each learned policy), each learned policy's summary, the Pareto front of all
    rows, and the action tables the numbers were read from."""

    rows: tuple[PolicyRow, ...]
    operating_point: OperatingPoint
    swept: Mapping[str, SweptPolicy]
    learned: Mapping[str, LearnedSummary]
    pareto_front: tuple[str, ...]
    tables: ActionTables
    #: where the actions span several models: who sleeps and who answers
    #: (:meth:`Environment.model_mix`) under each swept policy at equal accuracy and the
    #: operating point's fixed strategy
    model_mix: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def row(self, name: str) -> PolicyRow:
        """The row of the policy named ``name``; StopIteration where there is none."""
        return next(r for r in self.rows if r.name == name)

    @property
    def fixed_rows(self) -> tuple[PolicyRow, ...]:
        """The rows of the fixed strategies (test-only and fixed sleep-time), in row order."""
        return tuple(r for r in self.rows if r.is_fixed)

    @property
    def oracle(self) -> SweptPolicy:
        """The oracle's sweep (every comparison has one)."""
        return next(p for p in self.swept.values() if p.group == Group.ORACLE)

    @property
    def count_blind(self) -> SweptPolicy | None:
        """The count-blind oracle's sweep, or None where the items have no expected counts."""
        return next((p for p in self.swept.values() if p.group == Group.COUNT_BLIND), None)

    def operating_points(self) -> list[FixedPointChange]:
        """Each swept policy's cost change at every point of the fixed strategies' Pareto
        front, by rising cost."""
        fixed = self.fixed_rows
        front = pareto_front([r.accuracy for r in fixed], [r.usd_per_query for r in fixed])
        out = []
        for i in sorted(front, key=lambda k: fixed[k].usd_per_query):
            r = fixed[i]
            changes = {name: at_equal_accuracy(p.sweep, r.accuracy)[1] / r.usd_per_query - 1 for name, p in self.swept.items()}  # fmt: skip
            out.append(FixedPointChange(r.name, r.accuracy, r.usd_per_1k_queries, changes))
        return out

    def summary_json(self, name: str) -> dict[str, Any] | None:
        """The headline of learned policy ``name`` against the operating point (``--json``'s
        ``summary``), or None where it was not compared."""
        main = self.learned.get(name)
        if main is None:
            return None
        return {"best_static": self.operating_point.best_static, "cost_reduction_at_equal_accuracy": main.cost_reduction_at_equal_accuracy,
                "accuracy_gain_at_equal_cost": main.accuracy_gain_at_equal_cost, "oracle_gap_closed": main.oracle_gap_closed}  # fmt: skip

    def details_json(self) -> dict[str, Any]:
        """The operating point and every learned policy's summary (``--json``'s ``details``)."""
        return {**self.operating_point.to_json(), **{n: s.to_json() for n, s in self.learned.items()}}  # fmt: skip

    def metrics(self) -> dict[str, Any]:
        """The numbers a tracked run logs: the operating point's accuracy
        (``accuracy_best_static``) and each learned policy's summary as ``NAME.KEY`` (``-`` in a
        name written ``_``)."""
        out: dict[str, Any] = {"accuracy_best_static": self.operating_point.accuracy}
        for name, s in self.learned.items():
            out.update({f"{name.replace('-', '_')}.{k}": v for k, v in s.to_json().items()})
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the comparison (``policies``, ``details``,
        ``operating_points``, ``pareto_front``), as ``--json`` prints it."""
        return {
            "policies": [r.to_json() for r in self.rows],
            "details": self.details_json(),
            "operating_points": [p.to_json() for p in self.operating_points()],
            "pareto_front": list(self.pareto_front),
            **({"model_mix": dict(self.model_mix)} if self.model_mix else {}),
        }


def decision_breakdown(items: SimItems, sleep: IntArray) -> dict[str, Any]:
    """Share of contexts given sleep-time compute, by tercile of expected queries and of
    predicted predictability (what a policy's sleep decision should follow)."""
    out: dict[str, Any] = {}
    for feature in ("expected_queries", "predicted_predictability"):
        values = items.context_features.get(feature)
        if values is None:
            continue
        edges = np.quantile(values, [1 / 3, 2 / 3])
        tercile = np.searchsorted(edges, values, side="right")
        out[feature] = {
            label: {
                "contexts": int((tercile == t).sum()),
                "sleep_share": float((sleep[tercile == t] > 0).mean())
                if np.any(tercile == t)
                else 0.0,
            }
            for t, label in enumerate(("low", "middle", "high"))
        }
    return out


#: Context inputs that carry a context's (predicted) predictability: moved together.
PREDICTABILITY_INPUTS = (
    "predicted_predictability",
    "predicted_predictability_cheap",
    "logprob_mean",
)


def decision_sensitivity(
    policy: LearnedPolicy, items: SimItems, env: Environment, lam: float
) -> dict[str, dict[str, float]]:
    """What the sleep decision follows, one input at a time with the rest of each context kept
    as it is: the share of contexts given sleep-time compute when the predicted predictability
    is moved by -1, 0 and +1 standard deviations, and when the expected number of queries is
    halved, kept and doubled. (Across contexts these inputs are correlated with others, e.g.
    context length, so a breakdown by tercile mixes their effects; this one does not.)"""
    f = items.context_features

    def share(changed: dict[str, FloatArray]) -> float:
        moved = dataclasses.replace(items, context_features={**f, **changed})
        return float(np.mean(policy.decide_sleep(moved, env, lam=lam) > 0))

    names = [n for n in PREDICTABILITY_INPUTS if n in f]
    out: dict[str, dict[str, float]] = {}
    if names:
        out["predicted_predictability"] = {
            f"{k:+d} sd": share({n: f[n] + k * float(np.std(f[n])) for n in names})
            for k in (-1, 0, 1)
        }
    if "expected_queries" in f:
        out["expected_queries"] = {
            f"x{m:g}": share({"expected_queries": f["expected_queries"] * m})
            for m in (0.5, 1.0, 2.0)
        }
    return out


def _learned_decider(lt: LearnedTables, items: SimItems, env: Environment) -> Callable[[float], Decisions]:  # fmt: skip
    def decide(lam: float) -> Decisions:
        return lt.decide(items, env, lam)

    return decide


def _swept(name: str, group: str, tables: ActionTables, decide: Callable[[float], Decisions], target: tuple[float, float]) -> SweptPolicy:  # fmt: skip
    # the lam -> (accuracy, cost) curve need not be monotone: read values off its Pareto front
    sweep = lam_sweep(tables, decide)
    lam_acc, usd_at_acc = at_equal_accuracy(sweep, target[0])
    lam_cost, acc_at_cost = at_equal_cost(sweep, target[1])
    return SweptPolicy(name, group, sweep, lam_acc, lam_cost, usd_at_acc, acc_at_cost, decide(lam_acc), decide(lam_cost))  # fmt: skip


def _learned_summary(
    swept: SweptPolicy,
    oracle: SweptPolicy,
    blind: SweptPolicy | None,
    tables: ActionTables,
    best: Decisions,
    target: tuple[float, float],
    *,
    n_boot: int,
    seed: int,
) -> LearnedSummary:
    """A learned policy against the operating point, with paired bootstrap intervals."""
    target_acc, target_usd = target
    acc_s, c_static = per_context_sums(tables, *best)
    n_static = tables.counts.astype(np.float64)
    _, c_oracle = per_context_sums(tables, *oracle.at_equal_accuracy)
    _, c_learned = per_context_sums(tables, *swept.at_equal_accuracy)
    acc_l, _ = per_context_sums(tables, *swept.at_equal_cost)

    def reduction(w: FloatArray) -> float:
        return 1 - float(w @ c_learned) / float(w @ c_static)

    def gap(w: FloatArray) -> float:
        return (float(w @ c_static) - float(w @ c_learned)) / max(
            float(w @ c_static) - float(w @ c_oracle), 1e-12
        )

    def gain(w: FloatArray) -> float:
        return (float(w @ acc_l) - float(w @ acc_s)) / float(w @ n_static)

    def interval(stat: Callable[[FloatArray], float]) -> tuple[float, float]:
        return paired_bootstrap(stat, tables.n_contexts, n_boot=n_boot, seed=seed)

    ones = np.ones(tables.n_contexts)
    saved = target_usd - swept.usd_at_equal_accuracy
    blind_usd = blind.usd_at_equal_accuracy if blind is not None else None
    reaches = math.isfinite(swept.lam_at_equal_accuracy)  # else there is no reaching point
    nan2 = (math.nan, math.nan)
    return LearnedSummary(
        cost_reduction_at_equal_accuracy=1 - swept.usd_at_equal_accuracy / target_usd,
        cost_reduction_at_reaching_point=reduction(ones) if reaches else math.nan,
        cost_reduction_at_reaching_point_ci95=interval(reduction) if reaches else nan2,
        accuracy_gain_at_equal_cost=swept.accuracy_at_equal_cost - target_acc,
        accuracy_gain_ci95=interval(gain),
        oracle_gap_closed=saved / max(target_usd - oracle.usd_at_equal_accuracy, 1e-15),
        oracle_gap_closed_at_reaching_point=gap(ones) if reaches else math.nan,
        oracle_gap_closed_at_reaching_point_ci95=interval(gap) if reaches else nan2,
        oracle_cost_reduction_at_equal_accuracy=1 - oracle.usd_at_equal_accuracy / target_usd,
        oracle_cost_reduction_at_reaching_point=1 - float(c_oracle.sum()) / float(c_static.sum()),
        count_blind_oracle_cost_reduction_at_equal_accuracy=None if blind_usd is None else 1 - blind_usd / target_usd,
        count_blind_gap_closed=None if blind_usd is None else saved / max(target_usd - blind_usd, 1e-15),
    )  # fmt: skip


def compare_policies(
    env: Environment,
    items: SimItems,
    *,
    learned: Sequence[LearnedPolicy] = (),
    extra: Sequence[Policy] = (),
    budget_usd_per_1k: float | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Every fixed strategy, the extra baselines, each learned policy and the oracle on ``items``.

    The operating point: the best fixed strategy (``best_static``) is the most accurate one
    whose cost is within ``budget_usd_per_1k`` (default: test-only at the middle budget, what
    an assistant without sleep-time compute would run). Each learned policy and the oracle are
    swept over ``lam``, and so is the count-blind oracle (every latent, but only the expected
    number of queries per context: an upper bound for policies that decide sleep-time work
    before the queries come); the cost at equal accuracy is read off the Pareto front of that sweep
    (linear between the two points around the accuracy: a mix of the two policies reaches
    it), and so is the accuracy at equal cost. Bootstrap intervals (contexts resampled) are
    given for the swept point that first reaches the accuracy ("reaching point").
    ``progress`` is called with the name of each policy as its evaluation starts.
    """
    step = progress or (lambda name: None)
    tables = env.action_tables(items)
    rows: list[PolicyRow] = []
    fixed: dict[str, Decisions] = {}
    step("fixed strategies and baselines")
    for s in range(env.n_sleep):
        for b in range(env.n_budgets):
            pol = FixedPolicy(s, b, name=env.fixed_name(s, b))
            fixed[pol.name] = pol.decide(items, env)
            group = Group.TEST_ONLY if s == 0 else Group.FIXED_SLEEP if env.single_model(s, b) else Group.FIXED_CROSS  # fmt: skip
            rows.append(policy_row(pol.name, group, env, items, *fixed[pol.name], seed=seed))
    for other in extra:
        rows.append(policy_row(other.name, Group.BASELINE, env, items, *other.decide(items, env), seed=seed))  # fmt: skip
    # the operating point: the best fixed strategy of one model (across models: rows, not a target)
    fixed_rows = [r for r in rows if r.name in fixed and r.is_fixed]
    if budget_usd_per_1k is None:
        middle = env.fixed_name(0, min(1, env.n_budgets - 1))
        budget_usd_per_1k = next(r.usd_per_1k_queries for r in fixed_rows if r.name == middle)
    within = [r for r in fixed_rows if r.usd_per_1k_queries <= budget_usd_per_1k * (1 + 1e-9)]
    if not within:
        cheapest = min(fixed_rows, key=lambda r: r.usd_per_1k_queries)
        raise SleeptimeError(
            f"no fixed strategy costs at most {budget_usd_per_1k:g} USD per 1,000 queries under the price book "
            f"{env.prices.version!r} (the cheapest, {cheapest.name}, costs {cheapest.usd_per_1k_queries:.4g}): "
            "raise the operating point's budget (--budget-usd-per-1k, or [policies] budget_usd_per_1k in a spec)"
        )  # fmt: skip
    best = max(within, key=lambda r: r.accuracy)
    target = tables.evaluate(*fixed[best.name])
    point = OperatingPoint(best.name, target[0], 1000 * target[1], budget_usd_per_1k)

    candidates: list[tuple[str, str, Callable[[float], Decisions]]] = [
        ("oracle", Group.ORACLE, lambda lam: oracle_decisions(tables, lam))
    ]
    expected = items.context_features.get("expected_queries")
    if expected is not None:
        candidates.append(("oracle-count-blind", Group.COUNT_BLIND,
                           lambda lam: oracle_decisions(tables, lam, counts="expected", expected_queries=expected)))  # fmt: skip
    for policy in learned:
        candidates.append((policy.name, Group.LEARNED, _learned_decider(LearnedTables.build(policy, items), items, env)))  # fmt: skip
    swept: dict[str, SweptPolicy] = {}
    for name, group, decide in candidates:
        step(name)
        p = swept[name] = _swept(name, group, tables, decide, target)
        for label, lam, decisions in (("equal accuracy", p.lam_at_equal_accuracy, p.at_equal_accuracy),
                                      ("equal cost", p.lam_at_equal_cost, p.at_equal_cost)):  # fmt: skip
            rows.append(policy_row(f"{name} @ {label}", group, env, items, *decisions, seed=seed, lam=lam))  # fmt: skip

    oracle = swept["oracle"]
    blind = swept.get("oracle-count-blind")
    summaries: dict[str, LearnedSummary] = {}
    for policy in learned:
        p = swept[policy.name]
        summary = _learned_summary(p, oracle, blind, tables, fixed[best.name], target, n_boot=n_boot, seed=seed)  # fmt: skip
        if expected is not None:
            sensitivity = None
            if math.isfinite(p.lam_at_equal_accuracy):
                sensitivity = decision_sensitivity(policy, items, env, p.lam_at_equal_accuracy)
            summary = dataclasses.replace(summary, decision_breakdown=decision_breakdown(items, p.at_equal_accuracy[0]),
                                          decision_sensitivity=sensitivity)  # fmt: skip
        summaries[policy.name] = summary
    front = pareto_front([r.accuracy for r in rows], [r.usd_per_query for r in rows])
    mix = {}
    if len(env.models) > 1:
        mix = {name: env.model_mix(items, *p.at_equal_accuracy) for name, p in swept.items() if math.isfinite(p.lam_at_equal_accuracy)}  # fmt: skip
        mix[point.best_static] = env.model_mix(items, *fixed[point.best_static])
    return Comparison(
        tuple(rows), point, swept, summaries, tuple(rows[i].name for i in front), tables, mix
    )
