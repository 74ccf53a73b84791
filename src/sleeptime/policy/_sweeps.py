"""Sweeping the price ``lam``: the grid, a policy's (lam, accuracy, USD) points, the lam that
spends a budget, and reading a sweep at equal accuracy or equal cost."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables
from sleeptime.simulators import pareto_front

Decisions = tuple[IntArray, IntArray]


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


def lam_grid(points: int = 141) -> FloatArray:
    """The prices ``lam`` (accuracy per USD per query) every sweep reads a policy at: ``points``
    values evenly spaced in log from 1 to 1e7 (141 for comparisons; the when-to-sleep study,
    which sweeps thousands of plans, reads 97)."""
    return np.geomspace(1.0, 1e7, points)


LAMBDAS = lam_grid(141)
Sweep = tuple[tuple[float, float, float], ...]


def lam_sweep(
    tables: ActionTables,
    decide: Callable[[float], Decisions],
    lams: Sequence[float] = tuple(LAMBDAS),
) -> Sweep:
    """(lam, accuracy, USD per query) of the decisions at each ``lam``."""
    return tuple((float(lam), *tables.evaluate(*decide(float(lam)))) for lam in lams)


def at_equal_accuracy(sweep: Sweep, accuracy: float) -> tuple[float, float]:
    """The cheapest swept point reaching ``accuracy``: (its lam, and the USD per query that a
    mix of the two Pareto points around ``accuracy`` needs, interpolated linearly); NaN where
    no swept point reaches it."""
    front = [sweep[i] for i in pareto_front([p[1] for p in sweep], [p[2] for p in sweep])]
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


def at_equal_cost(sweep: Sweep, usd: float) -> tuple[float, float]:
    """The most accurate swept point costing at most ``usd``: (its lam, its accuracy)."""
    ok = [p for p in sweep if p[2] <= usd * (1 + 1e-12)]
    if not ok:
        return math.nan, math.nan
    best = max(ok, key=lambda p: p[1])
    return best[0], best[1]


def pareto_points(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (accuracy, usd) points no other beats, by rising cost."""
    front = pareto_front([a for a, _ in points], [u for _, u in points])
    return [points[i] for i in front]


def accuracy_at_matched_cost(points: list[tuple[float, float]], usd: float) -> float:
    """Accuracy reachable at ``usd`` per query from ``(accuracy, usd)`` points: linear between
    the two Pareto points around ``usd`` (a mix of the two policies over contexts spends
    exactly that), nan below the cheapest point, the best accuracy above the dearest."""
    front = pareto_points(points)
    if not front or usd < front[0][1] * (1 - 1e-12):
        return math.nan
    for (a0, u0), (a1, u1) in itertools.pairwise(front):
        if u0 <= usd <= u1:
            return a0 + (a1 - a0) * (usd - u0) / (u1 - u0) if u1 > u0 else max(a0, a1)
    return front[-1][0]
