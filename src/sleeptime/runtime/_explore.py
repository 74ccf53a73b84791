"""Exploration around a policy's decisions, with the probability of each choice known.

A policy that always takes its own best action leaves no data about the others; an off-policy
estimate of another policy needs, for every logged decision, the probability the router had of
taking it (its *propensity*). :class:`Exploration` is epsilon-greedy: with probability
``epsilon`` it takes an action drawn uniformly from all of them (its own included), else its
own, so every action has a probability of at least ``epsilon / n``. Seeded; off (0) by default.
Standard library only, as the rest of :mod:`sleeptime.runtime`.
"""

from __future__ import annotations

import math
import random

from sleeptime.runtime._errors import DecisionError


class Exploration:
    """Epsilon-greedy choices around the policy's own: ``epsilon`` in [0, 1] (0: never explore,
    every propensity 1), ``seed`` for the draws (the same seed and calls give the same choices)."""

    def __init__(self, epsilon: float = 0.0, seed: int = 0) -> None:
        if type(epsilon).__name__ in ("bool", "bool_") or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or not 0.0 <= epsilon <= 1.0:  # fmt: skip
            raise DecisionError(f"exploration epsilon must be a number in [0, 1], got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.seed = seed
        self._rng = random.Random(seed)

    def choose(self, greedy: int, n: int) -> tuple[int, float]:
        """An action index in ``range(n)`` and the probability it had: the policy's own
        (``greedy``) with ``1 - epsilon + epsilon / n``, any other with ``epsilon / n``."""
        if self.epsilon == 0.0 or n <= 1:
            return greedy, 1.0
        action = self._rng.randrange(n) if self._rng.random() < self.epsilon else greedy
        return action, self.probability(action, greedy, n)

    def probability(self, action: int, greedy: int, n: int) -> float:
        """The probability this exploration gives ``action`` where the policy's own is ``greedy``."""
        if n <= 1 or self.epsilon == 0.0:
            return 1.0 if action == greedy else 0.0
        share = self.epsilon / n
        return 1.0 - self.epsilon + share if action == greedy else share
