"""Count laws by name: the one place a name such as ``gamma-poisson:0.5`` becomes a law of the
number of queries a context gets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from sleeptime.workloads._arrival_fits import GammaPoissonCount, SelfExcitingCount
from sleeptime.workloads._arrivals import GeometricCount, QueryCount

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
