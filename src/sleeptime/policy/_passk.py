"""pass@k: the baseline of k test-time samples per query, priced."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sleeptime._json import AsJson
from sleeptime.policy._base import Environment
from sleeptime.policy._served import (
    evaluate_plan,
    served_tables,
)
from sleeptime.policy._triggers import fixed_plan, trigger_times
from sleeptime.simulators import SimItems


@dataclass(frozen=True)
class PassKPoint(AsJson):
    """Accuracy, test-time output tokens per query and USD per 1k queries of one strategy."""

    name: str
    accuracy: float
    test_tokens: float
    usd_per_1k: float


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
            plan, budget = fixed_plan(tt, trig, s, b)
            plan = dataclasses.replace(plan, served=np.ones(plan.served.size, dtype=bool))
            acc, usd = evaluate_plan(tt, plan, budget)
            sleep.append(
                PassKPoint(f"{env.fixed_name(s, b)}", acc, float(tt.t1[s, b].mean()), 1000 * usd)
            )
    return passk, sleep
