"""Arrival processes as seeded arrays: queries per context, idle windows, query times.

Every sampler takes a ``numpy.random.Generator`` (or a seed) and returns arrays, so a replay of
millions of queries never loops in Python. Means may be scalars or per-context arrays (hot and
cold documents differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sleeptime._errors import WorkloadError

Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _positive(name: str, value: ArrayLike, minimum: float = 0.0) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= minimum):
        raise WorkloadError(f"{name} must be finite and greater than {minimum:g}, got {value!r}")
    return arr


class QueryCount:
    """How many queries arrive for each context (at least one each)."""

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """Queries per context, shape ``(n_contexts,)``, every value >= 1."""
        raise NotImplementedError


@dataclass(frozen=True)
class FixedCount(QueryCount):
    """Every context gets exactly ``n`` queries."""

    n: int

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """``n`` queries for every context, shape ``(n_contexts,)``; WorkloadError if ``n`` < 1."""
        if self.n < 1:
            raise WorkloadError(f"FixedCount.n must be at least 1, got {self.n}")
        return np.full(n_contexts, self.n, dtype=np.int64)


@dataclass(frozen=True)
class _MeanCount(QueryCount):
    """A count law with at least one query and ``mean`` queries on average (scalar or per context)."""

    mean: float | Sequence[float] | NDArray[np.float64]

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """Queries per context, shape ``(n_contexts,)``, each >= 1; WorkloadError unless
        ``mean`` is finite and >= 1 (broadcast to ``n_contexts``)."""
        name = f"{type(self).__name__}.mean"
        mean = np.broadcast_to(_positive(name, self.mean, 1.0 - 1e-12), n_contexts)
        return self._draw(_rng(seed), mean).astype(np.int64)

    def _draw(self, rng: np.random.Generator, mean: NDArray[np.float64]) -> NDArray[np.int64]:
        raise NotImplementedError


@dataclass(frozen=True)
class PoissonCount(_MeanCount):
    """``1 + Poisson(mean - 1)`` queries: at least one, ``mean`` on average (scalar or per context)."""

    def _draw(self, rng: np.random.Generator, mean: NDArray[np.float64]) -> NDArray[np.int64]:
        return 1 + rng.poisson(mean - 1.0)


@dataclass(frozen=True)
class GeometricCount(_MeanCount):
    """Geometric on ``{1, 2, ...}`` with the given mean (``p = 1 / mean``); scalar or per context."""

    def _draw(self, rng: np.random.Generator, mean: NDArray[np.float64]) -> NDArray[np.int64]:
        return rng.geometric(1.0 / mean)


@dataclass(frozen=True)
class EmpiricalCount(QueryCount):
    """Resample observed query counts (e.g. from production logs) with replacement."""

    values: Sequence[int]

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """``n_contexts`` counts drawn from ``values`` with replacement, shape ``(n_contexts,)``;
        WorkloadError unless ``values`` are integers >= 1 (and not empty)."""
        values = np.asarray(self.values)
        if values.size == 0 or not np.issubdtype(values.dtype, np.integer) or np.any(values < 1):
            raise WorkloadError("EmpiricalCount.values must be a non-empty list of integers >= 1")
        return _rng(seed).choice(values.astype(np.int64), size=n_contexts)


class Durations:
    """A distribution of durations in seconds (idle windows, gaps between queries)."""

    def sample(self, size: int, seed: Seed) -> NDArray[np.float64]:
        """Durations in seconds, shape ``(size,)``, every value >= 0."""
        raise NotImplementedError


@dataclass(frozen=True)
class ExponentialDurations(Durations):
    """Exponential durations with mean ``mean_s`` seconds."""

    mean_s: float

    def sample(self, size: int, seed: Seed) -> NDArray[np.float64]:
        """Durations in seconds, shape ``(size,)``; WorkloadError unless ``mean_s`` > 0."""
        scale = float(_positive("ExponentialDurations.mean_s", self.mean_s))
        return _rng(seed).exponential(scale, size=size)


@dataclass(frozen=True)
class EmpiricalDurations(Durations):
    """Resample observed durations (seconds) with replacement."""

    values_s: Sequence[float]

    def sample(self, size: int, seed: Seed) -> NDArray[np.float64]:
        """``size`` durations in seconds drawn from ``values_s`` with replacement; WorkloadError
        unless they are finite, >= 0 and not empty."""
        values = np.asarray(self.values_s, dtype=np.float64)
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise WorkloadError("EmpiricalDurations.values_s must be non-empty, finite and >= 0")
        return _rng(seed).choice(values, size=size)


@dataclass(frozen=True)
class Arrivals:
    """One sampled arrival pattern for ``n_contexts`` contexts.

    ``query_context`` maps each query to its context (sorted), and ``query_time_s`` is its
    arrival time in seconds after its context arrived: the idle window, then gaps between
    queries.
    """

    queries_per_context: NDArray[np.int64]
    idle_s: NDArray[np.float64]
    query_context: NDArray[np.int64]
    query_time_s: NDArray[np.float64]

    @property
    def n_queries(self) -> int:
        """The number of queries over all contexts (the length of ``query_context``)."""
        return int(self.queries_per_context.sum())


@dataclass(frozen=True)
class ArrivalProcess:
    """How queries arrive for each context.

    ``queries``: queries per context. ``idle``: the window between a context's arrival and its
    first query (sleep-time work runs in it). ``gap``: the time between later queries of a
    context. (Fit one to an access log with :func:`~sleeptime.workloads.fit_arrivals`.)
    """

    queries: QueryCount = GeometricCount(4.0)
    idle: Durations = ExponentialDurations(600.0)
    gap: Durations = ExponentialDurations(300.0)

    @classmethod
    def simple(cls, queries_per_context: float = 4.0, *, fixed_queries: int | None = None, idle_mean_s: float = 600.0) -> ArrivalProcess:  # fmt: skip
        """Geometric queries per context of mean ``queries_per_context`` (exactly
        ``fixed_queries`` where given) after exponential idle windows of mean ``idle_mean_s``
        seconds; WorkloadError names the option at fault."""
        if fixed_queries is None and not queries_per_context > 0:
            raise WorkloadError(f"--queries-per-context must be a positive mean, got {queries_per_context}")  # fmt: skip
        if fixed_queries is not None and fixed_queries < 1:
            raise WorkloadError(f"--fixed-queries must be at least 1, got {fixed_queries}")
        if not idle_mean_s > 0:
            raise WorkloadError(f"--idle-mean-s must be positive, got {idle_mean_s}")
        counts = FixedCount(fixed_queries) if fixed_queries else GeometricCount(queries_per_context)
        return cls(queries=counts, idle=ExponentialDurations(idle_mean_s))

    def sample(self, n_contexts: int, *, seed: Seed) -> Arrivals:
        """Draw one arrival pattern; the same seed gives the same arrays."""
        if n_contexts < 1:
            raise WorkloadError(f"n_contexts must be at least 1, got {n_contexts}")
        rng = _rng(seed)
        timed = getattr(self.queries, "sample_with_times", None)
        if timed is not None:  # a process that draws its own times (bursts): no gap draws
            counts, within = timed(n_contexts, rng)
            idle = self.idle.sample(n_contexts, rng)
        else:
            counts = self.queries.sample(n_contexts, rng)
            idle = self.idle.sample(n_contexts, rng)
            n = int(counts.sum())
            gaps = self.gap.sample(n, rng)
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            gaps[starts] = 0.0  # the first query of a context arrives right after the idle window
            cum = np.cumsum(gaps)
            within = cum - np.repeat(cum[starts], counts)
        query_context = np.repeat(np.arange(n_contexts, dtype=np.int64), counts)
        query_time = np.repeat(idle, counts) + within
        return Arrivals(counts, idle, query_context, query_time)
