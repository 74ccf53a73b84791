"""Off-policy evaluation: what a candidate policy would have achieved on logged traffic.

A router that explores logs, per answered query, the actions it took (the context's sleep level
and the query's test action), the probability it had of taking them (the *propensity*) and the
outcome that came back. A candidate's accuracy and USD per query are then estimated from those
rows alone, by the direct method (an outcome model's prediction under the candidate), inverse
propensity scoring (IPS), self-normalized IPS (SNIPS) and doubly robust (DR: the direct method,
corrected by the propensity-weighted error of the outcome model on the logged actions).

**The context is the unit.** A sleep-time decision is made once per context and its cost is
shared by the context's queries; a query's weight is the ratio of the candidate's to the
behaviour's probability of the whole (sleep level, test action) pair it was served with, so the
sleep factor is common to every query of a context. The queries of a context are not
independent, so every interval resamples contexts (Poisson bootstrap, as everywhere in
sleeptime), never queries. Every array is one value per logged query, shape ``(n,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleeptime._errors import SleeptimeError
from sleeptime._json import AsJson
from sleeptime._types import FloatArray, IntArray
from sleeptime.simulators import poisson_bootstrap

#: the estimators, in the order reports list them
ESTIMATORS = ("dm", "ips", "snips", "dr")


def outcome_model_params(seed: int) -> dict[str, float | int]:
    """The gradient-boosting parameters of every outcome model fitted to a log (the direct
    method's, the doubly robust correction's, the refit's targets)."""
    return {"max_iter": 100, "max_leaf_nodes": 15, "min_samples_leaf": 20, "l2_regularization": 1.0, "random_state": seed}  # fmt: skip


class OffPolicyError(SleeptimeError, ValueError):
    """Logged decisions that no estimate may be drawn from; the message names the rows."""


@dataclass(frozen=True)
class LoggedDecisions:
    """Logged decisions joined to their outcomes and to a candidate's probabilities.

    ``context``: each query's context, integers ``0..n_contexts-1`` (the bootstrap's unit).
    ``reward``: the outcome, e.g. 1 for a right answer (0..1). ``cost``: USD of the query,
    the context's sleep-time cost shared by its queries included. ``propensity``: the
    behaviour policy's probability of the logged (sleep level, test action) pair, in (0, 1].
    ``target``: the candidate's probability of that same pair, in [0, 1]. ``dm_logged``: an
    outcome model's (reward, cost) at the logged pair, shape ``(n, 2)``; ``dm_target``: its
    expectation under the candidate, ``(n, 2)``.
    """

    context: IntArray
    reward: FloatArray
    cost: FloatArray
    propensity: FloatArray
    target: FloatArray
    dm_logged: FloatArray
    dm_target: FloatArray

    def __post_init__(self) -> None:
        n = self.context.shape[0]
        for name in ("reward", "cost", "propensity", "target"):
            if getattr(self, name).shape != (n,):
                raise OffPolicyError(f"{name} has shape {getattr(self, name).shape}; one value per logged query ({n},) expected")  # fmt: skip
        for name in ("dm_logged", "dm_target"):
            if getattr(self, name).shape != (n, 2):
                raise OffPolicyError(f"{name} has shape {getattr(self, name).shape}; (reward, cost) per logged query ({n}, 2) expected")  # fmt: skip
        _check_probability(self.propensity, "propensity", low_open=True)
        _check_probability(self.target, "target", low_open=False)

    @property
    def n_contexts(self) -> int:
        """Contexts in the log (the highest index plus one)."""
        return int(self.context.max()) + 1 if self.context.size else 0

    @property
    def weight(self) -> FloatArray:
        """Importance weights, candidate over behaviour probability, shape ``(n,)``."""
        return np.asarray(self.target / self.propensity, dtype=np.float64)


def _check_probability(p: FloatArray, name: str, *, low_open: bool) -> None:
    """Every value finite and in (0, 1] (``low_open``) or [0, 1]; else an error naming the rows."""
    bad = ~np.isfinite(p) | (p > 1.0) | ((p <= 0.0) if low_open else (p < 0.0))
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(f"row {i}: {p[i]!r}" for i in rows[:5])
        more = f" and {rows.size - 5} more" if rows.size > 5 else ""
        rule = "in (0, 1]: a logged action had to be possible" if low_open else "in [0, 1]"
        raise OffPolicyError(f"{name} must be {rule}; {rows.size} rows are not ({shown}{more})")


@dataclass(frozen=True)
class OffPolicyEstimate(AsJson):
    """One estimator's estimate of a candidate's accuracy and USD per query on logged traffic,
    with percentile intervals over resampled contexts, and the effective sample size of the
    importance weights (Kish's, ``(sum w)^2 / sum w^2``; the queries the estimate is worth)."""

    estimator: str
    reward: float
    reward_ci95: tuple[float, float]
    cost: float
    cost_ci95: tuple[float, float]
    effective_sample_size: float
    queries: int
    contexts: int


def off_policy_estimates(logs: LoggedDecisions, *, n_boot: int = 500, seed: int = 0, level: float = 0.95,
                         estimators: tuple[str, ...] = ESTIMATORS, max_blocks: int = 5000) -> dict[str, OffPolicyEstimate]:  # fmt: skip
    """Each estimator's estimate of the candidate's mean reward and cost per query on ``logs``.

    Every estimator is a ratio of per-context sums (the direct method, IPS and DR divide by the
    number of queries, SNIPS by the sum of the weights), so the bootstrap reweights contexts
    and recomputes the ratio after one pass over the rows; beyond ``max_blocks`` contexts they
    are grouped into that many random blocks first (the same interval in the limit, memory
    ``n_boot x max_blocks`` however long the log), as :func:`~sleeptime.simulators.bootstrap_interval` does."""
    unknown = set(estimators) - set(ESTIMATORS)
    if unknown:
        raise OffPolicyError(
            f"unknown estimators {sorted(unknown)}; known: {', '.join(ESTIMATORS)}"
        )
    w = logs.weight
    n_ctx = logs.n_contexts
    ess = float(w.sum() ** 2 / np.sum(w**2)) if np.any(w > 0) else 0.0

    def sums(values: FloatArray) -> FloatArray:
        return np.bincount(logs.context, weights=values, minlength=n_ctx).astype(np.float64)

    count = sums(np.ones_like(w))
    out: dict[str, OffPolicyEstimate] = {}
    for name in estimators:
        rows = []
        for k, observed in enumerate((logs.reward, logs.cost)):
            if name == "dm":
                top, bottom = sums(logs.dm_target[:, k]), count
            elif name == "ips":
                top, bottom = sums(w * observed), count
            elif name == "snips":
                top, bottom = sums(w * observed), sums(w)
            else:  # dr
                top, bottom = sums(logs.dm_target[:, k] + w * (observed - logs.dm_logged[:, k])), count  # fmt: skip
            rows += [top, bottom]
        out[name] = estimates_from_sums(name, np.array(rows), ess, int(w.size), n_boot=n_boot, seed=seed, level=level, max_blocks=max_blocks)  # fmt: skip
    return out


def estimates_from_sums(name: str, sums: FloatArray, ess: float, queries: int, *, n_boot: int = 500, seed: int = 0,
                        level: float = 0.95, max_blocks: int = 5000) -> OffPolicyEstimate:  # fmt: skip
    """One estimator's estimate from its per-context sums, shape ``(4, n_contexts)``: the
    reward's numerator and denominator, then the cost's; the intervals resample contexts."""
    est = [(_ratio(sums[i].sum(), sums[i + 1].sum()), _interval(sums[i], sums[i + 1], n_boot, seed, level, max_blocks)) for i in (0, 2)]  # fmt: skip
    (r, r_ci), (c, c_ci) = est
    return OffPolicyEstimate(name, r, r_ci, c, c_ci, ess, queries, int(sums.shape[1]))


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom > 0 else float("nan")


def _interval(top: FloatArray, bottom: FloatArray, n_boot: int, seed: int, level: float, max_blocks: int) -> tuple[float, float]:  # fmt: skip
    """Percentile interval of ``sum(top) / sum(bottom)`` over contexts resampled with Poisson
    weights (draws whose denominator is 0, possible for SNIPS, are left out)."""
    if n_boot <= 0 or top.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    if top.size > max_blocks:
        block = rng.integers(0, max_blocks, size=top.size)
        top = np.bincount(block, weights=top, minlength=max_blocks).astype(np.float64)
        bottom = np.bincount(block, weights=bottom, minlength=max_blocks).astype(np.float64)

    def stat(weights: FloatArray) -> FloatArray:
        b = weights @ bottom
        t = weights @ top
        return np.divide(t, b, out=np.full_like(t, np.nan), where=b > 0)

    return poisson_bootstrap(stat, top.size, n_boot=n_boot, rng=rng, level=level, min_finite=0.0)
