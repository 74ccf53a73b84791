"""When sleep-time work pays, judged (simulated): refresh strategies after edits, the size of
``c'``, sleep-time work in a fleet's idle capacity, and sleep-time compute against pass@k."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy import _refresh as refreshes
from sleeptime.policy import _triggers as triggers
from sleeptime.policy._base import Environment
from sleeptime.policy._evaluate import LearnedTables
from sleeptime.policy._learned import LearnedPolicy
from sleeptime.policy._passk import PassKPoint
from sleeptime.policy._refresh import REFRESH_STRATEGIES, EditEffect
from sleeptime.policy._served import Plan, evaluate_plan, served_tables
from sleeptime.simulators import (
    DEFAULT_LOAD,
    SimItems,
    cprime_gain_share,
    schedule_idle,
)


@dataclass(frozen=True)
class EditRow(AsJson):
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


def edits_section(
    env: Environment, train: SimItems, test: SimItems, policy: LearnedPolicy, *,
    rates: Sequence[float], effect: EditEffect, reference: tuple[int, int] = (1, 1), seed: int = 0,
) -> list[EditRow]:  # fmt: skip
    """For each edit rate: the learned policy's sleep and budgets, with never, always (whole or
    incremental) and the learned refresh decision; each swept over ``lam``."""
    tt = served_tables(env, test)
    trig = triggers.trigger_times(tt)
    prior = triggers.fit_count_prior(
        train.queries_per_context(), train.context_features["expected_queries"], seed=seed
    )
    rem = prior.remaining(test.context_features["expected_queries"], m_max=64)
    lt = LearnedTables.build(policy, test)
    cost = triggers.sleep_cost_of(policy, test, tt.n_sleep)
    tr = served_tables(env, train)
    ready_all = triggers.ready_shares(
        tr, triggers.trigger_times(tr)
    )  # from the training contexts' history
    ready = ready_all[0]
    start = np.zeros(tt.n_contexts)
    rows = []
    last: dict[str, Any] = {}
    rem_train = prior.remaining(train.context_features["expected_queries"], m_max=64)
    for rate in rates:
        edits = refreshes.draw_edits(tt, rate, seed + 31)
        seen = refreshes.seen_before(tt, edits)
        # the count posterior does not know that an edit falls inside a context's life: calibrate
        # it on the training contexts' own edits (what an edit log shows), per queries seen
        train_edits = refreshes.draw_edits(tr, rate, seed + 37)
        factor = refreshes.remaining_factor(
            tr, train_edits, refreshes.seen_before(tr, train_edits), rem_train
        )
        er = np.take_along_axis(rem.T, np.minimum(seen, rem.shape[0] - 1), axis=1) * factor[np.minimum(seen, factor.size - 1)]  # (c, k)  # fmt: skip

        def strategy(
            kind: str, edits: FloatArray = edits, er: FloatArray = er
        ) -> Callable[[float], tuple[Plan, IntArray]]:
            def decide(lam: float) -> tuple[Plan, IntArray]:
                values = triggers.learned_values(lt, tt, test, lam)
                d = triggers.choose_trigger(values, rem, ready_all, cost, lam, (0,))
                base = triggers.trigger_plan(tt, trig, d)
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
                plan = refreshes.refresh_plan(tt, base, start, edits, refresh, effect)
                last["refresh"], last["base"] = refresh, base
                return plan, triggers.learned_budgets(lt, test, plan, lam)

            return decide

        base_ref, b_ref = triggers.fixed_plan(tt, trig, *reference)
        ref = (
            refreshes.refresh_plan(
                tt, base_ref, start, edits, np.ones(edits.shape, np.int64), effect
            ),
            b_ref,
        )
        acc, _ = evaluate_plan(tt, *ref)
        usd = {}
        for kind in REFRESH_STRATEGIES:
            usd[kind] = 1000 * triggers.sweep_plans(kind, tt, strategy(kind)).at_accuracy(acc)[1]
        lam_at = triggers.sweep_plans("learned", tt, strategy("learned")).at_accuracy(acc)[0]
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


@dataclass(frozen=True)
class CprimeSweep(AsJson):
    """Savings of sleep-time compute (fixed(k1,b0)) against test-only at equal accuracy, per
    ``c'`` length and queries per context, and the break-even length per query rate."""

    cprime_tokens: tuple[float, ...]
    query_rates: tuple[float, ...]
    savings: tuple[tuple[float, ...], ...]  # (rate, length)
    break_even_tokens: tuple[float | None, ...]
    saturation: float


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
    base_frac = float(outcome.cprime_fraction)
    per_unit = float(outcome.sleep_tokens_per_unit or 0.0)
    lengths: list[float] = []
    rows: list[tuple[float, ...]] = []
    for rate in rates:
        items = synthetic_items(
            n_contexts, arrivals=ArrivalProcess(queries=FixedCount(int(rate))), seed=seed
        )
        t0 = served_tables(env, items)
        trig = triggers.trigger_times(t0)
        to = [evaluate_plan(t0, *triggers.fixed_plan(t0, trig, 0, b)) for b in range(t0.n_budgets)]
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
            plan, b = triggers.fixed_plan(tm, trig, level, budget)
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
class IdleRow(AsJson):
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
def passk_at_equal_tokens(passk: Sequence[PassKPoint], point: PassKPoint) -> float:
    """The best pass@k accuracy at no more test-time tokens than ``point`` (NaN if none)."""
    ok = [p.accuracy for p in passk if p.test_tokens <= point.test_tokens * (1 + 1e-9)]
    return max(ok) if ok else math.nan
