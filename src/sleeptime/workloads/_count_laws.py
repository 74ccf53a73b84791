"""Count laws by name: the one place a name such as ``gamma-poisson:0.5`` becomes a law of the
number of queries a context gets."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from sleeptime.workloads._arrival_fits import GammaPoissonCount, SelfExcitingCount, fit_arrivals
from sleeptime.workloads._arrivals import (
    ArrivalProcess,
    ExponentialDurations,
    GeometricCount,
    QueryCount,
)

#: The count laws a scenario or a study names: geometric (memoryless), gamma-poisson (over-
#: dispersed, with a shape), self-exciting (bursts); ``fitted`` means the best family fitted to
#: an access log (:func:`~sleeptime.workloads.fit_arrivals`).
COUNT_LAWS = ("geometric", "gamma-poisson", "self-exciting", "fitted")


def parse_count_law(name: str) -> tuple[str, float]:
    """``geometric``, ``gamma-poisson:SHAPE`` (default shape 0.5), ``self-exciting`` or
    ``fitted`` -> (family, shape; 0.0 where the family has none)."""
    family, _, arg = name.partition(":")
    if family not in COUNT_LAWS:
        raise ValueError(f"arrivals {name!r}: the family must be geometric, gamma-poisson:SHAPE, self-exciting or fitted")  # fmt: skip
    if family == "gamma-poisson":
        try:
            shape = float(arg or "0.5")
        except ValueError:
            raise ValueError(f"arrivals {name!r}: the shape after ':' must be a number") from None
        if not shape > 0:
            raise ValueError(f"arrivals {name!r}: the shape must be positive")
        return family, shape
    return family, 0.0


def count_law(
    family: str,
    mean: float | Sequence[float] | NDArray[np.float64],
    *,
    shape: float = 0.5,
    delay_mean_s: float = 300.0,
) -> QueryCount:
    """The count law ``family`` with mean ``mean`` queries per context (> 1; scalar or one per
    context): geometric, gamma-poisson with ``shape``, or self-exciting with follow-up queries
    ``delay_mean_s`` apart on average."""
    if family == "geometric":
        return GeometricCount(mean)
    if family == "gamma-poisson":
        return GammaPoissonCount(mean, shape)
    if family == "self-exciting":
        return SelfExcitingCount.with_mean(mean, delay_mean_s)
    raise ValueError(f"count law {family!r}: must be geometric, gamma-poisson or self-exciting")


def arrival_process(
    family: str,
    means: float | Sequence[float] | NDArray[np.float64],
    *,
    dispersion: float = 0.5,
    idle_mean_s: float = 3600.0,
    gap_mean_s: float = 600.0,
    access_log: str | None = None,
    seed: int = 0,
) -> ArrivalProcess:
    """Queries arriving by the count law ``family`` (one of :data:`COUNT_LAWS`) with ``means``
    queries per context (scalar or per context; gamma-poisson with shape ``dispersion``), idle
    windows and gaps exponential with the given means; ``fitted`` samples the best family fitted
    to ``access_log`` instead (:func:`~sleeptime.workloads.fit_arrivals`)."""
    idle, gap = ExponentialDurations(idle_mean_s), ExponentialDurations(gap_mean_s)
    if family == "fitted":
        if not access_log:
            raise ValueError("arrivals = 'fitted' needs an access log (access_log = PATH, or --access-log)")  # fmt: skip
        fitted = fit_arrivals(access_log, seed=seed, idle_mean_s=idle_mean_s).process
        return dataclasses.replace(fitted, idle=idle)
    if family not in COUNT_LAWS:
        raise ValueError(f"arrivals must be one of {', '.join(COUNT_LAWS)}, got {family!r}")
    queries = count_law(family, means, shape=dispersion, delay_mean_s=gap_mean_s)
    return ArrivalProcess(queries=queries, idle=idle, gap=gap)
