"""Assumptions and schedules of sleep-time work: how ``c'``'s gain grows with its length, and
which idle capacity of a fleet runs it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sleeptime._types import BoolArray, FloatArray


# ---------------------------------------------------------------------------- the size of c'
def cprime_gain_share(scale: FloatArray, saturation: float) -> FloatArray:
    """Share of the calibrated sleep-time gain a ``c'`` of ``scale`` times the calibrated length
    carries: ``(1 - exp(-scale / s)) / (1 - exp(-1 / s))`` (1 at the calibrated length; shorter
    notes lose what they leave out, longer ones add less and less). An assumption, stated."""
    return np.asarray(
        (1 - np.exp(-np.asarray(scale) / saturation)) / (1 - math.exp(-1 / saturation))
    )


def schedule_idle(arrive_s: FloatArray, work_tokens: FloatArray, capacity: float, load: Sequence[float], deadline_s: float) -> tuple[FloatArray, BoolArray]:  # fmt: skip
    """First come, first served through the fleet's idle capacity ``capacity * (1 - load(hour))``
    tokens per second: per context, when its work would finish and whether that is within
    ``deadline_s`` of its arrival (else it goes to the batch API and takes no capacity)."""
    hours = math.ceil((float(arrive_s.max(initial=0.0)) + deadline_s) / 3600.0) + 1
    rate = capacity * (1 - np.asarray(load, dtype=np.float64)[np.arange(hours) % len(load)])
    served_cum = np.concatenate(([0.0], np.cumsum(rate * 3600.0)))  # tokens served by each hour

    def cum(t: float) -> float:
        h = min(int(t // 3600), hours - 1)
        return float(served_cum[h] + rate[h] * (t - 3600 * h))

    def inverse(x: float) -> float:
        h = int(np.searchsorted(served_cum, x, side="right") - 1)
        if h >= hours:
            return math.inf
        return 3600 * h + (x - served_cum[h]) / rate[h] if rate[h] > 0 else math.inf

    done = np.full(arrive_s.size, math.inf)
    ok = np.zeros(arrive_s.size, dtype=bool)
    queue_end = 0.0
    for i in np.argsort(arrive_s, kind="stable"):
        pos = max(cum(float(arrive_s[i])), queue_end) + float(work_tokens[i])
        finish = inverse(pos) if pos <= served_cum[-1] else math.inf
        if finish - arrive_s[i] <= deadline_s:
            done[i], ok[i], queue_end = finish, True, pos
    return done, ok


#: A diurnal load of a self-hosted fleet (share of capacity busy with live traffic by hour,
#: 0-23): an assumption, quiet at night, busiest mid-afternoon.
DEFAULT_LOAD = tuple(
    round(0.55 + 0.35 * math.sin(2 * math.pi * (h - 9) / 24), 3) for h in range(24)
)
