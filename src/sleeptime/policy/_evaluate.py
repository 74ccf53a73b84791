"""Evaluate policies on held-out items: tables of outcomes, lambda searches, the comparison."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime.policy._base import ActionTables, Environment, FloatArray, IntArray, Policy
from sleeptime.policy._baselines import FixedPolicy, OraclePolicy
from sleeptime.policy._learned import (
    LearnedPolicy,
    choose_budget,
    choose_sleep,
    expected_prompt_tokens,
)
from sleeptime.simulators import SimItems, pareto_front


@dataclass
class LearnedTables:
    """A learned policy's predictions for every action, computed once; deciding for a new
    ``lam`` is then an argmax (the predictions do not depend on ``lam``)."""

    p_query: FloatArray  # (s, b, q)
    p_context: FloatArray  # (draws, s, b, c), from imputed context features and question draws
    policy: LearnedPolicy

    @classmethod
    def build(cls, policy: LearnedPolicy, items: SimItems) -> LearnedTables:
        names = policy._names()
        Fq = np.column_stack([items.features[n] for n in names])
        Fc = np.column_stack([items.context_features[n] for n in names])
        return cls(policy.prediction_table(Fq), policy.context_prediction_table(Fc), policy)

    def decide(self, items: SimItems, env: Environment, lam: float) -> tuple[IntArray, IntArray]:
        test, sleep_cost, ready_share = self.policy._tables()
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
    test, sleep_cost, _ = lt.policy._tables()
    sleep, budget = lt.decide(items, env, lam)
    s_eff = np.where(env.ready(items, sleep), items.per_query(sleep), 0)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    per_query = test[s_eff, budget, 0] + test[s_eff, budget, 1] * prompt
    per_context = np.where(
        sleep > 0, sleep_cost[sleep, 0] + sleep_cost[sleep, 1] * items.context_tokens, 0.0
    )
    return float((per_query.sum() + per_context.sum()) / max(items.n_queries, 1))


def bisect_lam(
    measure: Callable[[float], float],
    target: float,
    *,
    at_least: bool = True,
    lo: float = 1.0,
    hi: float = 1e7,
    iterations: int = 40,
) -> float:
    """The ``lam`` at which ``measure`` (non-increasing in ``lam``: accuracy, or spend) crosses
    ``target``, by bisection on log ``lam``. ``at_least=True`` returns the largest ``lam`` whose
    measure is still >= target (e.g. accuracy); ``False`` the smallest whose measure is <= target
    (e.g. spend)."""
    a, b = math.log(lo), math.log(hi)
    for _ in range(iterations):
        mid = (a + b) / 2
        if measure(math.exp(mid)) >= target:
            a = mid
        else:
            b = mid
    if at_least:
        return math.exp(a)
    return math.exp(b) if measure(math.exp(a)) > target else math.exp(a)


LAMBDAS = np.geomspace(1.0, 1e7, 141)


def lam_sweep(
    tables: ActionTables,
    decide: Callable[[float], tuple[IntArray, IntArray]],
    lams: Sequence[float] = tuple(LAMBDAS),
) -> list[tuple[float, float, float]]:
    """(lam, accuracy, USD per query) of the decisions at each ``lam``."""
    return [(float(lam), *tables.evaluate(*decide(float(lam)))) for lam in lams]


def at_equal_accuracy(
    sweep: Sequence[tuple[float, float, float]], accuracy: float
) -> tuple[float, float]:
    """The cheapest swept point reaching ``accuracy``: (its lam, and the USD per query that a
    mix of the two Pareto points around ``accuracy`` needs, interpolated linearly)."""
    pts = sorted(sweep, key=lambda x: (x[2], -x[1]))
    front: list[tuple[float, float, float]] = []
    for p in pts:
        if not front or p[1] > front[-1][1]:
            front.append(p)
    reach = [p for p in front if p[1] >= accuracy]
    if not reach:
        return math.nan, math.nan
    hi = reach[0]
    below = [p for p in front if p[1] < accuracy]
    if not below:
        return hi[0], hi[2]
    lo = below[-1]
    t = (accuracy - lo[1]) / (hi[1] - lo[1])
    return hi[0], lo[2] + t * (hi[2] - lo[2])


def at_equal_cost(sweep: Sequence[tuple[float, float, float]], usd: float) -> tuple[float, float]:
    """The most accurate swept point costing at most ``usd``: (its lam, its accuracy)."""
    ok = [p for p in sweep if p[2] <= usd * (1 + 1e-12)]
    if not ok:
        return math.nan, math.nan
    best = max(ok, key=lambda p: p[1])
    return best[0], best[1]


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
    """95% interval of ``stat(weights)`` under Poisson weights on contexts."""
    rng = np.random.default_rng(seed)
    draws = [stat(rng.poisson(1.0, n_contexts).astype(np.float64)) for _ in range(n_boot)]
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return float(lo), float(hi)


def summarize_policy(
    name: str, env: Environment, items: SimItems, sleep: IntArray, test: IntArray, *, seed: int = 0
) -> dict[str, Any]:
    """Replay the decisions (expected mode) and keep the numbers a comparison shows."""
    agg = env.replay(items, sleep, test, seed=seed, bootstrap=1000, return_traces=False).aggregates
    return {
        "name": name,
        "accuracy": agg["accuracy"],
        "accuracy_ci95": agg["accuracy_ci95"],
        "usd_per_query": agg["usd_per_query"],
        "usd_per_1k_queries": agg["usd_per_1k_queries"],
        "test_tokens_per_query": agg["test_tokens_per_query"],
        "sleep_tokens_per_context": agg["sleep_tokens_per_context"],
        "latency_p95_s": agg["latency_p95_s"],
        "contexts_with_sleep": agg["contexts_with_sleep"],
    }


def _decider(
    lt: LearnedTables, items: SimItems, env: Environment
) -> Callable[[float], tuple[IntArray, IntArray]]:
    def decide(lam: float) -> tuple[IntArray, IntArray]:
        return lt.decide(items, env, lam)

    return decide


def _measure(
    tables: ActionTables, decide: Callable[[float], tuple[IntArray, IntArray]], which: int
) -> Callable[[float], float]:
    def measure(lam: float) -> float:
        return tables.evaluate(*decide(lam))[which]

    return measure


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
    import dataclasses

    f = items.context_features
    saved, policy.lam = policy.lam, lam
    try:

        def share(changed: dict[str, FloatArray]) -> float:
            moved = dataclasses.replace(items, context_features={**f, **changed})
            return float(np.mean(policy.decide_sleep(moved, env) > 0))

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
    finally:
        policy.lam = saved


def compare_policies(
    env: Environment,
    items: SimItems,
    *,
    learned: Sequence[LearnedPolicy] = (),
    extra: Sequence[Policy] = (),
    budget_usd_per_1k: float | None = None,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict[str, Any]:
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
    """
    tables = env.action_tables(items)
    rows: list[dict[str, Any]] = []
    fixed = {}
    for s in range(env.n_sleep):
        for b in range(env.n_budgets):
            pol = FixedPolicy(s, b, name=f"fixed({env.outcome.sleep_levels[s].name},b{b})")
            sleep, test = pol.decide(items, env)
            fixed[pol.name] = (sleep, test)
            rows.append(
                {
                    **summarize_policy(pol.name, env, items, sleep, test, seed=seed),
                    "group": "test-only" if s == 0 else "fixed sleep-time",
                }
            )
    for other in extra:
        sleep, test = other.decide(items, env)
        rows.append(
            {
                **summarize_policy(other.name, env, items, sleep, test, seed=seed),
                "group": "baseline",
            }
        )
    fixed_rows = [r for r in rows if r["name"] in fixed]
    if budget_usd_per_1k is None:
        budget_usd_per_1k = next(
            r["usd_per_1k_queries"]
            for r in fixed_rows
            if r["name"] == f"fixed(none,b{min(1, env.n_budgets - 1)})"
        )
    within = [r for r in fixed_rows if r["usd_per_1k_queries"] <= budget_usd_per_1k * (1 + 1e-9)]
    best = max(within, key=lambda r: r["accuracy"])
    best_sleep, best_test = fixed[best["name"]]
    target_acc, target_usd = tables.evaluate(best_sleep, best_test)

    oracle = OraclePolicy(1.0, tables)

    def oracle_at(lam: float) -> tuple[IntArray, IntArray]:
        oracle.lam = lam
        return oracle._solve(items, env)

    candidates: list[tuple[str, Callable[[float], tuple[IntArray, IntArray]], str]] = [
        ("oracle", oracle_at, "oracle")
    ]
    if "expected_queries" in items.context_features:
        blind = OraclePolicy(1.0, tables, counts="expected")

        def blind_at(lam: float) -> tuple[IntArray, IntArray]:
            blind.lam = lam
            return blind._solve(items, env)

        candidates.append((blind.name, blind_at, "oracle (count-blind)"))
    for learned_policy in learned:
        candidates.append(
            (
                learned_policy.name,
                _decider(LearnedTables.build(learned_policy, items), items, env),
                "learned",
            )
        )

    decisions: dict[str, dict[str, tuple[IntArray, IntArray]]] = {}
    interpolated: dict[str, dict[str, float]] = {}
    sweeps: dict[str, list[tuple[float, float, float]]] = {}
    lam_at_accuracy: dict[str, float] = {}
    for name, decide, group in candidates:
        # the lam -> (accuracy, cost) curve need not be monotone: read values off its Pareto front
        sweep = sweeps[name] = lam_sweep(tables, decide)
        lam_acc, usd_at_acc = at_equal_accuracy(sweep, target_acc)
        lam_cost, acc_at_cost = at_equal_cost(sweep, target_usd)
        lam_at_accuracy[name] = lam_acc
        interpolated[name] = {
            "usd_at_equal_accuracy": usd_at_acc,
            "accuracy_at_equal_cost": acc_at_cost,
        }
        at_acc, at_cost = decide(lam_acc), decide(lam_cost)
        decisions[name] = {"equal_accuracy": at_acc, "equal_cost": at_cost}
        row = summarize_policy(f"{name} @ equal accuracy", env, items, *at_acc, seed=seed)
        rows.append({**row, "group": group, "lam": lam_acc})
        row2 = summarize_policy(f"{name} @ equal cost", env, items, *at_cost, seed=seed)
        rows.append({**row2, "group": group, "lam": lam_cost})

    # paired bootstrap over contexts for the headline ratios
    _, c_static = per_context_sums(tables, best_sleep, best_test)
    n_static = tables.counts.astype(np.float64)
    _, c_oracle = per_context_sums(tables, *decisions["oracle"]["equal_accuracy"])
    summary: dict[str, Any] = {"best_static": best["name"], "best_static_accuracy": target_acc,
                               "best_static_usd_per_1k": 1000 * target_usd, "budget_usd_per_1k": budget_usd_per_1k}  # fmt: skip
    for name, _, group in candidates:
        if group != "learned":
            continue
        _, c_learned = per_context_sums(tables, *decisions[name]["equal_accuracy"])
        acc_l, _ = per_context_sums(tables, *decisions[name]["equal_cost"])
        acc_s, _ = per_context_sums(tables, best_sleep, best_test)

        def reduction(w: FloatArray, cl: FloatArray = c_learned) -> float:
            return 1 - float(w @ cl) / float(w @ c_static)

        def gap(w: FloatArray, cl: FloatArray = c_learned) -> float:
            return (float(w @ c_static) - float(w @ cl)) / max(
                float(w @ c_static) - float(w @ c_oracle), 1e-12
            )

        def gain(w: FloatArray, al: FloatArray = acc_l, ast: FloatArray = acc_s) -> float:
            return (float(w @ al) - float(w @ ast)) / float(w @ n_static)

        ones = np.ones(tables.n_contexts)
        summary[name] = {
            "cost_reduction_at_equal_accuracy": 1
            - interpolated[name]["usd_at_equal_accuracy"] / target_usd,
            "cost_reduction_at_reaching_point": reduction(ones),
            "cost_reduction_at_reaching_point_ci95": paired_bootstrap(
                reduction, tables.n_contexts, n_boot=n_boot, seed=seed
            ),
            "accuracy_gain_at_equal_cost": interpolated[name]["accuracy_at_equal_cost"]
            - target_acc,
            "accuracy_gain_ci95": paired_bootstrap(
                gain, tables.n_contexts, n_boot=n_boot, seed=seed
            ),
            "oracle_gap_closed": (target_usd - interpolated[name]["usd_at_equal_accuracy"])
            / max(target_usd - interpolated["oracle"]["usd_at_equal_accuracy"], 1e-15),
            "oracle_gap_closed_at_reaching_point": gap(ones),
            "oracle_gap_closed_at_reaching_point_ci95": paired_bootstrap(
                gap, tables.n_contexts, n_boot=n_boot, seed=seed
            ),
            "oracle_cost_reduction_at_equal_accuracy": 1
            - interpolated["oracle"]["usd_at_equal_accuracy"] / target_usd,
            "oracle_cost_reduction_at_reaching_point": 1
            - float(c_oracle.sum()) / float(c_static.sum()),
        }
        if "oracle-count-blind" in interpolated:
            blind_usd = interpolated["oracle-count-blind"]["usd_at_equal_accuracy"]
            summary[name]["count_blind_oracle_cost_reduction_at_equal_accuracy"] = (
                1 - blind_usd / target_usd
            )
            summary[name]["count_blind_gap_closed"] = (
                target_usd - interpolated[name]["usd_at_equal_accuracy"]
            ) / max(target_usd - blind_usd, 1e-15)
    for learned_policy in learned:
        name = learned_policy.name
        if "expected_queries" in items.context_features:
            summary[name]["decision_breakdown"] = decision_breakdown(
                items, decisions[name]["equal_accuracy"][0]
            )
            if math.isfinite(lam_at_accuracy[name]):  # NaN where it never reaches the accuracy
                summary[name]["decision_sensitivity"] = decision_sensitivity(
                    learned_policy, items, env, lam_at_accuracy[name]
                )
    front = pareto_front([r["accuracy"] for r in rows], [r["usd_per_query"] for r in rows])
    return {
        "policies": rows,
        "summary": summary,
        "pareto_front": [rows[i]["name"] for i in front],
        "decisions": decisions,
        "tables": tables,
        "sweeps": sweeps,
    }


def operating_points(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For every fixed strategy on the fixed strategies' Pareto front, the change in USD per
    query of each swept policy (learned ones, the oracles) at that strategy's accuracy: negative
    is cheaper; NaN where the policy never reaches that accuracy. ``result`` is
    :func:`compare_policies`' output."""
    fixed = [r for r in result["policies"] if r["group"] in ("test-only", "fixed sleep-time")]
    front = pareto_front([r["accuracy"] for r in fixed], [r["usd_per_query"] for r in fixed])
    out = []
    for i in sorted(front, key=lambda k: fixed[k]["usd_per_query"]):
        r = fixed[i]
        changes = {}
        for name, sweep in result["sweeps"].items():
            _, usd = at_equal_accuracy(sweep, r["accuracy"])
            changes[name] = usd / r["usd_per_query"] - 1
        out.append({"fixed": r["name"], "accuracy": r["accuracy"], "usd_per_1k_queries": r["usd_per_1k_queries"],
                    "cost_change_at_equal_accuracy": changes})  # fmt: skip
    return out
