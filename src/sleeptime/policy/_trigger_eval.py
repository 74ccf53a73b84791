"""Trigger policies judged (simulated): per arrival law, the learned trigger, fixed rules and the
oracles at the accuracy of a fixed strategy, with paired bootstrap intervals over contexts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime._types import FloatArray, IntArray
from sleeptime.policy import _served as served
from sleeptime.policy import _triggers as triggers
from sleeptime.policy._base import Environment
from sleeptime.policy._evaluate import LearnedTables
from sleeptime.policy._learned import LearnedPolicy
from sleeptime.policy._served import Plan, ServedTables
from sleeptime.policy._sweeps import Sweep
from sleeptime.policy._triggers import CountPrior, PolicyPoint, TriggerDecision
from sleeptime.simulators import (
    SimItems,
)


# ---------------------------------------------------------------------------- the sections
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
        """The point of the policy named ``name``; StopIteration where there is none."""
        return next(p for p in self.points if p.name == name)

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the section (count prior, reference, fixed triggers in USD
        per 1k queries, policy points), as ``--json`` prints it."""
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
    tt, tr = served.served_tables(env, test), served.served_tables(env, train)
    trig, trig_train = triggers.trigger_times(tt), triggers.trigger_times(tr)
    prior = triggers.fit_count_prior(
        train.queries_per_context(), train.context_features["expected_queries"], seed=seed
    )
    rem_learned = prior.remaining(test.context_features["expected_queries"])
    rem_true = true_prior.remaining(test.context_features["true_mean_queries"])
    ready = triggers.ready_shares(tr, trig_train)
    lt = LearnedTables.build(policy, test)
    cost = triggers.sleep_cost_of(policy, test, tt.n_sleep)

    def learned(allowed: Sequence[int]) -> Callable[[float], tuple[Plan, IntArray]]:
        def decide(lam: float) -> tuple[Plan, IntArray]:
            d = triggers.choose_trigger(
                triggers.learned_values(lt, tt, test, lam), rem_learned, ready, cost, lam, allowed
            )
            plan = triggers.trigger_plan(tt, trig, d)
            return plan, triggers.learned_budgets(lt, test, plan, lam)

        return decide

    def never_learned(lam: float) -> tuple[Plan, IntArray]:
        d = TriggerDecision(
            np.zeros(tt.n_contexts, np.int64), np.full(tt.n_contexts, served.NEVER, np.int64)
        )
        plan = triggers.trigger_plan(tt, trig, d)
        return plan, triggers.learned_budgets(lt, test, plan, lam)

    true_cost = tt.sleep_usd

    def informed(allowed: Sequence[int], dt: ServedTables = tt) -> Callable[[float], tuple[Plan, IntArray]]:  # fmt: skip
        def decide(lam: float) -> tuple[Plan, IntArray]:
            d = triggers.choose_trigger(
                triggers.true_values(dt, lam), rem_true, ready, true_cost, lam, allowed
            )
            plan = triggers.trigger_plan(tt, trig, d)
            return plan, served.oracle_budgets(dt, plan, lam)

        return decide

    def hindsight(lam: float) -> tuple[Plan, IntArray]:
        best_value = np.full(tt.n_contexts, -np.inf)
        best = TriggerDecision(
            np.zeros(tt.n_contexts, np.int64), np.full(tt.n_contexts, served.NEVER, np.int64)
        )
        for m in range(served.NEVER + 1):
            for s in range(tt.n_sleep if m < served.NEVER else 1):
                d = TriggerDecision(
                    np.full(tt.n_contexts, s, np.int64), np.full(tt.n_contexts, m, np.int64)
                )
                plan = triggers.trigger_plan(tt, trig, d)
                c, u = served.per_context(tt, plan, served.oracle_budgets(tt, plan, lam))
                value = c - lam * u
                better = value > best_value + 1e-15
                best_value = np.where(better, value, best_value)
                best = TriggerDecision(
                    np.where(better, s, best.sleep), np.where(better, m, best.trigger)
                )
        plan = triggers.trigger_plan(tt, trig, best)
        return plan, served.oracle_budgets(tt, plan, lam)

    swept = [
        triggers.sweep_plans("learned trigger", tt, learned(tuple(range(served.MAX_TRIGGER + 1)))),
        triggers.sweep_plans("learned at arrival", tt, learned((0,))),
        triggers.sweep_plans("learned never", tt, never_learned),
        triggers.sweep_plans(
            "oracle (count-blind) trigger", tt, informed(tuple(range(served.MAX_TRIGGER + 1)))
        ),
        triggers.sweep_plans("oracle (count-blind) at arrival", tt, informed((0,))),
        triggers.sweep_plans("oracle (hindsight)", tt, hindsight),
    ]
    obs = (
        served.observable_tables(env, tt, test, observed_all, rho)
        if observed_all is not None
        else None
    )
    if obs is not None:
        swept[3:3] = [
            triggers.sweep_plans(
                served.OBS_TRIGGER, tt, informed(tuple(range(served.MAX_TRIGGER + 1)), obs)
            ),
            triggers.sweep_plans(served.OBS_ARRIVAL, tt, informed((0,), obs)),
        ]
    ref = triggers.fixed_plan(tt, trig, *reference)
    im = "oracle (count-blind) trigger"
    oracles = {
        "learned trigger": im,
        "learned at arrival": "oracle (count-blind) at arrival",
    }
    observable = {"learned trigger": served.OBS_TRIGGER, "learned at arrival": served.OBS_ARRIVAL} if obs is not None else None  # fmt: skip
    acc, usd, points = triggers.judge(tt, ref, swept, oracles, observable, n_boot=n_boot, seed=seed)
    # which triggers the learned one takes at the operating point
    lam = swept[0].at_accuracy(acc)[0]
    if math.isfinite(lam):
        d = triggers.choose_trigger(
            triggers.learned_values(lt, tt, test, lam), rem_learned, ready, cost, lam
        )
        shares = {("at arrival" if m == 0 else f"after query {m}"): float(((d.trigger == m) & (d.sleep > 0)).mean()) for m in range(served.MAX_TRIGGER + 1)}  # fmt: skip
        shares["never"] = float((d.sleep == 0).mean())
        points[0] = dataclasses.replace(points[0], trigger_shares=shares)
    fixed = {}
    names = {0: "at arrival", 1: "after query 1", 2: "after query 2", served.NEVER: "never"}
    for m, label in names.items():
        s = reference[0] if m != served.NEVER else 0
        fixed[f"fixed(k{reference[0]},b{reference[1]}) {label}"] = served.evaluate_plan(
            tt, *triggers.fixed_plan(tt, trig, s, reference[1], m)
        )
    for (
        theta
    ) in served.POSTERIOR_THRESHOLDS:  # sleep once the expected queries still to come reach theta
        first = np.argmax(rem_learned >= theta, axis=0)
        trigger = np.where((rem_learned >= theta).any(axis=0), first, served.NEVER)
        d = TriggerDecision(
            np.full(tt.n_contexts, reference[0], np.int64), trigger.astype(np.int64)
        )
        plan = triggers.trigger_plan(tt, trig, d)
        fixed[f"k{reference[0]},b{reference[1]} once E[queries to come] >= {theta:g}"] = served.evaluate_plan(tt, plan, np.full(tt.query_context.size, reference[1], np.int64))  # fmt: skip
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
