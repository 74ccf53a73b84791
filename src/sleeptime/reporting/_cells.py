"""Table cells: one way to write a number, a percent change and an interval, ``n/a`` where a
value is missing or not finite."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def number(x: float | None, fmt: str = ".2f") -> str:
    """``x`` in ``fmt``; ``n/a`` if missing or not finite."""
    return format(x, fmt) if _finite(x) else "n/a"


def percent(x: float | None) -> str:
    """A signed percent of a share: 0.097 -> ``+9.7%``."""
    return f"{100 * x:+.1f}%" if x is not None and _finite(x) else "n/a"


def cost_change(reduction: float | None) -> str:
    """A cost reduction written as a cost change, negative is cheaper: 0.097 -> ``-9.7%``."""
    return percent(-reduction) if reduction is not None and _finite(reduction) else "n/a"


def interval(ci: Sequence[float] | None, *, fmt: str = ".3f", scale: float = 1.0, sep: str = "–", unit: str = "") -> str:  # fmt: skip
    """An interval ``(lo, hi)`` as ``lo<unit><sep>hi<unit>``, each end times ``scale`` in ``fmt``
    (``interval(ci, fmt="+.1f", scale=100, sep=" to ", unit="%")`` -> ``-3.0% to +1.2%``)."""
    if ci is None or not all(_finite(v) for v in ci):
        return "n/a"
    return f"{scale * ci[0]:{fmt}}{unit}{sep}{scale * ci[1]:{fmt}}{unit}"
