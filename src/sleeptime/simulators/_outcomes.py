"""Outcome models: for an item and an action pair, the chance of a correct answer and the tokens.

An *item* is one query on one context. The simulator gives each item two latents that policies
never see: a difficulty ``z`` and a predictability ``u`` (both standard normal; only the
oracle reads them). :class:`PaperOutcomeModel` turns curves calibrated to the paper into
per-item probabilities so that the population means reproduce the curves exactly:

- test-only at budget level ``k``: ``p = Phi(c_k - sigma * z)`` with
  ``c_k = Phi^-1(m_to(t_k)) * sqrt(1 + sigma^2)``, so ``E[p] = m_to(t_k)``;
- with sleep-time: ``p = Phi(d_k + gamma * u + boost(r) - sigma * z)`` with
  ``d_k = Phi^-1(m_st(t'_k)) * sqrt(1 + sigma^2 + gamma^2)``, so ``E[p] = m_st(t'_k)`` at one
  unit of sleep compute. ``gamma`` makes the gain grow with predictability (fitted to the
  paper's quintile gains), ``boost(r) = a ln r - b (ln r)^2`` scales sleep-time compute
  (``r`` parallel rewrites or effort units) with diminishing returns.

Which parts are fitted and which are assumptions is listed in :data:`ASSUMPTIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from sleeptime._errors import SleeptimeError
from sleeptime._types import FloatArray, IntArray
from sleeptime.simulators._calibration import Calibration, CurveFit, family

#: What the paper-calibrated outcome model takes from the paper, and what it assumes.
ASSUMPTIONS: dict[str, str] = {
    "accuracy curves": "fitted to digitized Figs. 3-4 (test-only and sleep-time, per benchmark and model)",
    "test tokens per budget level": "the digitized points' average test-time tokens",
    "predictability effect (gamma)": "fitted to digitized Fig. 10 quintile gains where the panel has them; elsewhere the mean of the fitted values",
    "sleep tokens per context": "fitted to digitized Fig. 9 (cost per query vs queries per context) where available; elsewhere the same multiple of the lowest test-only budget",
    "difficulty spread (sigma)": "assumption: 1.0 (items differ; not identified by the figures)",
    "sleep-time scaling": "assumption shaped to the paper's headline: +13 points at k=5 on GSM with k=10 below k=5, +18 points at the highest effort on AIME, at the lowest budget",
    "size of c'": "assumption: 0.6 x the sleep output tokens of one rewrite",
    "answering from c' alone": "assumption: 0.15 probit units below answering from c and c' (details of c get lost)",
    "token spread": "assumption: an item's test tokens scale with exp(0.2 z) (harder items say more)",
}


class OutcomeError(SleeptimeError, ValueError):
    """An outcome model cannot be built or asked for this action."""


def _phi(x: FloatArray) -> FloatArray:
    from scipy.special import ndtr

    return np.asarray(ndtr(x), dtype=np.float64)


def _phi_inv(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(min(max(p, 1e-6), 1 - 1e-6)))


def _phi_inv_array(p: FloatArray) -> FloatArray:
    """The probit of each probability, clipped like :func:`_phi_inv`."""
    from scipy.special import ndtri

    return np.asarray(ndtri(np.clip(p, 1e-6, 1 - 1e-6)), dtype=np.float64)


@dataclass(frozen=True)
class SleepLevel:
    """A sleep-time action: ``compute`` units (k parallel rewrites, or an effort multiple); 0 = none."""

    name: str
    compute: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.compute) or self.compute < 0:
            raise OutcomeError(
                f"sleep level {self.name!r}: compute must be >= 0, got {self.compute}"
            )


GSM_SLEEP_LEVELS = (
    SleepLevel("none", 0), SleepLevel("k1", 1), SleepLevel("k2", 2), SleepLevel("k5", 5), SleepLevel("k10", 10),
)  # fmt: skip
EFFORT_SLEEP_LEVELS = (
    SleepLevel("none", 0), SleepLevel("low", 1), SleepLevel("medium", 2), SleepLevel("high", 4),
)  # fmt: skip


@dataclass(frozen=True)
class SleepScaling:
    """Accuracy added by more sleep-time compute: ``boost(r) = a ln r - b (ln r)^2`` (probit units).

    Built from a target: ``gain`` accuracy points at ``compute`` units at the lowest budget, with
    the boost peaking at ``peak`` units (beyond it, more rewrites distract).
    """

    gain: float
    compute: float
    peak: float

    def coefficients(self, base_accuracy: float, spread: float) -> tuple[float, float]:
        """``(a, b)`` of ``boost(r)`` in probit units: the boost at ``compute`` units lifts a
        population accuracy of ``base_accuracy`` (a share in [0, 1]) by ``gain`` (the target
        capped at 0.995), with ``spread`` the probit scale of the items' scores, and the boost
        peaks at ``peak`` units (``b = a / (2 ln peak)``)."""
        target = min(base_accuracy + self.gain, 0.995)
        boost = (_phi_inv(target) - _phi_inv(base_accuracy)) * spread
        lr, lp = math.log(self.compute), math.log(self.peak)
        a = boost / (lr - lr * lr / (2 * lp))
        return a, a / (2 * lp)


@dataclass(frozen=True)
class Outcome:
    """What an outcome model says for each query: the probability of a correct answer and the
    test-time output tokens; per context: sleep-time output tokens and the size of ``c'``."""

    p_correct: FloatArray
    test_output_tokens: FloatArray
    sleep_output_tokens: FloatArray
    cprime_tokens: FloatArray


@dataclass(frozen=True)
class ServedQueries:
    """The arrays :meth:`OutcomeModel.outcome` reads, as its subclasses receive them (see there
    for each array's meaning and shape)."""

    difficulty: FloatArray
    predictability: FloatArray
    sleep_action: IntArray
    test_action: IntArray
    served_with_sleep: NDArray[np.bool_]
    context_sleep_action: IntArray
    features: Mapping[str, FloatArray] | None = None
    cprime_only: NDArray[np.bool_] | None = None


class OutcomeModel:
    """Base class. Subclasses say, per query, how likely a correct answer is and what it costs.

    Lifecycle: build (or ``fit``) once, then call :meth:`outcome` with whole arrays; it must be
    vectorized and pure (same inputs, same outputs). ``sleep_levels`` and ``budgets`` name the
    actions it knows: sleep action ``i`` is ``sleep_levels[i]`` (0 is none), test action ``k`` is
    ``budgets[k]``.
    """

    sleep_levels: tuple[SleepLevel, ...]
    budgets: tuple[str, ...]
    #: What a model states beyond :meth:`outcome` (a subclass sets what it knows; the defaults
    #: say it does not know): the share of a rewrite's output kept as ``c'``; sleep-time output
    #: tokens per unit of sleep compute; test-time output tokens per budget level, shape
    #: ``(n_budgets,)``; and a real run's own request parameters per budget level.
    cprime_fraction: float = 0.6
    sleep_tokens_per_unit: float | None = None
    tokens_test_only: FloatArray | None = None
    budget_params: tuple[Mapping[str, Any], ...] = ()
    #: Whether :meth:`p_given_latent_moments` has a closed form here.
    has_latent_moments: ClassVar[bool] = False
    #: The model (a price book entry) of each sleep action and of each test action, where the
    #: actions span several models (:class:`~sleeptime.simulators.MultiModelOutcome`); empty:
    #: every action runs on the environment's one model.
    sleep_models: tuple[str, ...] = ()
    test_models: tuple[str, ...] = ()

    def p_given_latent_moments(self, sleep_action: int, test_action: int, predictability_mean: FloatArray, predictability_var: float) -> FloatArray:  # fmt: skip
        """P(correct) per query given only the mean and variance of its latent predictability
        (its difficulty integrated out), shape of ``predictability_mean``; only where
        :attr:`has_latent_moments` (else NotImplementedError)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no closed form of P(correct) given the latent moments"
        )

    def outcome(
        self,
        *,
        difficulty: FloatArray,
        predictability: FloatArray,
        sleep_action: IntArray,
        test_action: IntArray,
        served_with_sleep: NDArray[np.bool_],
        context_sleep_action: IntArray,
        features: Mapping[str, FloatArray] | None = None,
        cprime_only: NDArray[np.bool_] | None = None,
    ) -> Outcome:
        """The outcome of each query under its actions, as an :class:`Outcome`.

        Per query, shape ``(n_queries,)``: the latents ``difficulty`` and ``predictability``
        (standard normal), ``sleep_action`` (its context's sleep level, an index into
        ``sleep_levels``), ``test_action`` (an index into ``budgets``), ``served_with_sleep``
        (whether the answer saw ``c'``) and, optionally, ``cprime_only`` (whether it saw ``c'``
        instead of ``c``). Per context, shape ``(n_contexts,)``: ``context_sleep_action``.
        ``features`` holds further per-query arrays a model may read. Returns P(correct) and
        test-time output tokens per query, sleep-time output tokens and the size of ``c'`` in
        tokens per context. Must be vectorized and pure; raises OutcomeError for an action out
        of range. Subclasses implement :meth:`_outcome`, which receives the checked arrays as
        one :class:`ServedQueries`.
        """
        self.check_actions(sleep_action, test_action)
        return self._outcome(
            ServedQueries(difficulty, predictability, sleep_action, test_action,
                          served_with_sleep, context_sleep_action, features, cprime_only)
        )  # fmt: skip

    def _outcome(self, q: ServedQueries) -> Outcome:
        """:meth:`outcome` of arrays whose actions are in range; what a subclass implements."""
        raise NotImplementedError(f"{type(self).__name__} implements no outcome")

    def check_actions(self, sleep_action: IntArray, test_action: IntArray) -> None:
        """Raise OutcomeError unless every sleep action indexes ``sleep_levels`` and every test
        action indexes ``budgets`` (integer arrays of any shape; empty arrays pass)."""
        if sleep_action.size and (
            sleep_action.min() < 0 or sleep_action.max() >= len(self.sleep_levels)
        ):
            raise OutcomeError(
                f"sleep actions must be in 0..{len(self.sleep_levels) - 1} ({[s.name for s in self.sleep_levels]})"
            )
        if test_action.size and (test_action.min() < 0 or test_action.max() >= len(self.budgets)):
            raise OutcomeError(
                f"test actions must be in 0..{len(self.budgets) - 1} ({list(self.budgets)})"
            )


def _quintile_gains_model(
    m_to: float, m_st: float, sigma: float, gamma: float, n_grid: int = 4000
) -> FloatArray:
    """Mean gain of sleep-time over test-only per quintile of latent predictability."""
    u = np.asarray([_phi_inv((i + 0.5) / n_grid) for i in range(n_grid)])
    c_to = _phi_inv(m_to) * math.sqrt(1 + sigma**2)
    d = _phi_inv(m_st) * math.sqrt(1 + sigma**2 + gamma**2)
    gain = _phi((d + gamma * u) / math.sqrt(1 + sigma**2)) - _phi(
        np.array([c_to / math.sqrt(1 + sigma**2)])
    )
    return np.asarray(gain.reshape(5, -1).mean(axis=1), dtype=np.float64)


def fit_predictability_effect(
    m_to: float, m_st: float, gains: Sequence[float], sigma: float
) -> float:
    """The ``gamma`` whose quintile gains best match ``gains`` (least squares, 0..6)."""
    from scipy.optimize import minimize_scalar

    target = np.asarray(gains, dtype=np.float64)
    if target.size != 5:
        raise OutcomeError(f"need five quintile gains, got {target.size}")

    def loss(g: float) -> float:
        return float(np.sum((_quintile_gains_model(m_to, m_st, sigma, g, 1000) - target) ** 2))

    return float(minimize_scalar(loss, bounds=(0.0, 6.0), method="bounded").x)


@dataclass
class PaperOutcomeModel(OutcomeModel):
    """Outcomes calibrated to the paper's curves for one (benchmark, model) panel.

    Budget levels are the digitized test-only points (``tokens_test_only[k]``), and with
    sleep-time the sleep-time points at the same rank (``tokens_sleep_time[k]``).
    """

    calibration: Calibration
    benchmark: str
    model: str
    has_latent_moments: ClassVar[bool] = True
    difficulty_spread: float = 1.0
    predictability_effect: float | None = None
    sleep_levels: tuple[SleepLevel, ...] = ()
    scaling: SleepScaling | None = None
    sleep_tokens_per_unit: float | None = None
    cprime_fraction: float = 0.6
    cprime_only_penalty: float = 0.15
    token_spread: float = 0.2
    budgets: tuple[str, ...] = field(init=False)
    tokens_test_only: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.to: CurveFit = self.calibration.curve(self.benchmark, self.model, "test_only")
        self.st: CurveFit = self.calibration.curve(self.benchmark, self.model, "sleep_time")
        aime = "aime" in self.benchmark.lower()
        if not self.sleep_levels:
            self.sleep_levels = EFFORT_SLEEP_LEVELS if aime else GSM_SLEEP_LEVELS
        if self.scaling is None:
            top = max(s.compute for s in self.sleep_levels)
            self.scaling = (
                SleepScaling(0.18, top, top * 2) if aime else SleepScaling(0.13, 5.0, 6.0)
            )
        if self.sleep_levels[0].compute != 0:
            raise OutcomeError("sleep level 0 must be 'none' (compute 0)")
        n = len(self.to.tokens)
        self.tokens_test_only = np.asarray(self.to.tokens, dtype=np.float64)
        st_tokens = np.asarray(self.st.tokens, dtype=np.float64)
        self.tokens_sleep_time = (
            st_tokens
            if st_tokens.size == n
            else np.interp(np.linspace(0, 1, n), np.linspace(0, 1, st_tokens.size), st_tokens)
        )
        self.budgets = tuple(f"level-{k}" for k in range(n))
        sigma = self.difficulty_spread
        m_to_low, m_st_low = (
            float(self.to(self.tokens_test_only[0])),
            float(self.st(self.tokens_sleep_time[0])),
        )
        if self.predictability_effect is None:
            self.predictability_effect = self._default_gamma(sigma)
        gamma = self.predictability_effect
        self._spread_to = math.sqrt(1 + sigma**2)
        self._spread_st = math.sqrt(1 + sigma**2 + gamma**2)
        self._c = (
            np.array([_phi_inv(float(self.to(t))) for t in self.tokens_test_only]) * self._spread_to
        )
        self._d = (
            np.array([_phi_inv(float(self.st(t))) for t in self.tokens_sleep_time])
            * self._spread_st
        )
        self._a, self._b = self.scaling.coefficients(m_st_low, self._spread_st)
        self._m_to_low = m_to_low
        if self.sleep_tokens_per_unit is None:
            self.sleep_tokens_per_unit = self._default_sleep_tokens()
        compute = np.array([s.compute for s in self.sleep_levels])
        log_r = np.log(np.maximum(compute, 1e-12))
        self._boost = np.where(compute > 0, self._a * log_r - self._b * log_r**2, 0.0)
        self._sleep_tokens = compute * self.sleep_tokens_per_unit
        self._score_table = np.concatenate([self._c, *(self._d + b for b in self._boost[1:])])
        self._token_table = np.concatenate(
            [self.tokens_test_only, *([self.tokens_sleep_time] * (len(compute) - 1))]
        )
        self._cprime = np.where(compute > 0, self.cprime_fraction * self.sleep_tokens_per_unit, 0.0)

    def _token_scale(self, difficulty: FloatArray) -> FloatArray:
        """``exp(spread z - spread^2 / 2)``, mean 1; remembered for read-only (item) arrays."""
        memo = self.__dict__.get("_scale_memo")
        if memo is not None and memo[0] is difficulty:
            cached: FloatArray = memo[1]
            return cached
        scale = np.exp(self.token_spread * difficulty - self.token_spread**2 / 2)
        if not difficulty.flags.writeable:
            self.__dict__["_scale_memo"] = (difficulty, scale)
        return scale

    def _default_gamma(self, sigma: float) -> float:
        fitted = []
        for (b, m), gains in self.calibration.quintile_gains.items():
            if (b, m) not in self.calibration.panels():
                continue
            to, st = (
                self.calibration.curve(b, m, "test_only"),
                self.calibration.curve(b, m, "sleep_time"),
            )
            g = fit_predictability_effect(
                float(to(min(to.tokens))), float(st(min(st.tokens))), gains, sigma
            )
            if (b, m) == (self.benchmark, self.model):
                return g
            fitted.append(g)
        return float(np.mean(fitted)) if fitted else 0.5

    def _default_sleep_tokens(self) -> float:
        fam = family(self.benchmark)
        amort = self.calibration.amortization
        if (fam, self.model) in amort:
            return float(amort[(fam, self.model)]["sleep_tokens"])
        ratios = []
        for (f, m), entry in amort.items():
            for b, mm in self.calibration.panels():
                if family(b) == f and mm == m:
                    ratios.append(
                        float(entry["sleep_tokens"])
                        / min(self.calibration.curve(b, mm, "test_only").tokens)
                    )
        ratio = float(np.median(ratios)) if ratios else 20.0
        return ratio * float(self.tokens_test_only[0])

    def describe(self) -> dict[str, Any]:
        """The model's parameters, for logs and reports."""
        return {
            "benchmark": self.benchmark,
            "model": self.model,
            "budgets_test_tokens": self.tokens_test_only.tolist(),
            "budgets_sleep_time_test_tokens": self.tokens_sleep_time.tolist(),
            "sleep_levels": [s.name for s in self.sleep_levels],
            "sleep_tokens_per_unit": self.sleep_tokens_per_unit,
            "difficulty_spread": self.difficulty_spread,
            "predictability_effect": self.predictability_effect,
            "scaling": {
                "gain": self.scaling.gain,
                "compute": self.scaling.compute,
                "peak": self.scaling.peak,
            }
            if self.scaling
            else None,
            "cprime_fraction": self.cprime_fraction,
        }

    def mean_accuracy(self, sleep_action: int, test_action: int) -> float:
        """Population accuracy of one fixed action pair (every query served with ``c'``)."""
        if sleep_action == 0:
            return float(self.to(self.tokens_test_only[test_action]))
        z = (self._d[test_action] + self._boost[sleep_action]) / self._spread_st
        return float(_phi(np.array([z]))[0])

    def p_given_latent_moments(self, sleep_action: int, test_action: int, predictability_mean: FloatArray, predictability_var: float) -> FloatArray:  # fmt: skip
        """P(correct) with ``c'`` served (level ``sleep_action`` > 0; without it at level 0) when
        the latent predictability is only known to be normal with this mean and variance and the
        difficulty not at all (standard normal): a probit with normal latents has it in closed
        form, ``Phi((offset + gamma mu) / sqrt(1 + sigma^2 + gamma^2 var))`` (``Phi(offset /
        sqrt(1 + sigma^2))`` without ``c'``). What a policy that sees an observable correlated
        with the latent could know at best."""
        self.check_actions(np.array([sleep_action]), np.array([test_action]))
        gamma = float(self.predictability_effect or 0.0) if sleep_action else 0.0
        offset = self._score_table[sleep_action * len(self.budgets) + test_action]
        mean = np.asarray(predictability_mean, dtype=np.float64)
        spread = math.sqrt(1 + self.difficulty_spread**2 + gamma**2 * predictability_var)
        return _phi((offset + gamma * mean) / spread)

    def _outcome(self, q: ServedQueries) -> Outcome:
        """:meth:`OutcomeModel.outcome` from the calibrated curves (see the module docstring):
        ``p = Phi(c_k - sigma z)`` where the query is answered without ``c'``, else
        ``Phi(d_k + gamma u + boost(r) - sigma z)``, less ``cprime_only_penalty`` probit units
        where it sees ``c'`` alone. Test tokens are the budget level's digitized tokens times
        ``exp(token_spread z - token_spread^2 / 2)``; sleep tokens per context are
        ``compute * sleep_tokens_per_unit``, ``c'`` is ``cprime_fraction`` of one unit's.
        ``features`` is not read."""
        gamma = float(self.predictability_effect or 0.0)
        with_sleep = q.served_with_sleep & (q.sleep_action > 0)
        # one lookup per query: (sleep level served, budget) -> probit offset and base tokens
        combo = np.where(with_sleep, q.sleep_action, 0) * len(self.budgets) + q.test_action
        score = self._score_table[combo]
        score += gamma * (q.predictability * with_sleep)
        score -= self.difficulty_spread * q.difficulty
        if q.cprime_only is not None and q.cprime_only.any():
            score -= self.cprime_only_penalty * q.cprime_only
        p = _phi(score)
        tokens = self._token_table[combo]
        tokens *= self._token_scale(q.difficulty)
        ctx = q.context_sleep_action
        return Outcome(p, tokens, self._sleep_tokens[ctx], self._cprime[ctx])
