"""Refresh after edits: how an edit makes ``c'`` stale and what a refresh plan costs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._served import (
    Plan,
    ServedTables,
)

# ---------------------------------------------------------------------------- edits and refresh
REFRESH_STRATEGIES = ("never", "always (full)", "always (incremental)", "learned")


@dataclass(frozen=True)
class EditEffect:
    """What an edit does to a ``c'`` built before it, stated and configurable.

    ``mode="share"``: answers from a stale ``c'`` keep ``1 - loss`` of the sleep-time gain;
    ``mode="wrong"``: a share ``touched`` of the questions ask about the edited part, and their
    answers from a stale ``c'`` are wrong. A refresh re-runs the work: whole, or an incremental
    rewrite at ``incremental_cost`` of the price that restores ``incremental_quality`` of the
    gain's freshness."""

    mode: str = "share"
    loss: float = 0.5
    touched: float = 0.3
    incremental_cost: float = 0.3
    incremental_quality: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("share", "wrong"):
            raise ValueError(f"the stale effect must be 'share' or 'wrong', got {self.mode!r}")
        for name in ("loss", "touched", "incremental_cost", "incremental_quality"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v}")


def draw_edits(t: ServedTables, rate: float, seed: int, max_edits: int = 12) -> FloatArray:
    """``(contexts, max_edits)`` edit times (inf padded): Poisson(``rate``) edits per context,
    uniform over its lifetime (until its last query)."""
    rng = np.random.default_rng(seed)
    n = np.minimum(rng.poisson(rate, t.n_contexts), max_edits)
    last = np.zeros(t.n_contexts)
    np.maximum.at(last, t.query_context, t.query_time_s)
    times = rng.random((t.n_contexts, max_edits)) * last[:, None]
    times[np.arange(max_edits)[None, :] >= n[:, None]] = np.inf
    return np.sort(times, axis=1)


def refresh_plan(t: ServedTables, base: Plan, start: FloatArray, edits: FloatArray, refresh: IntArray, effect: EditEffect) -> Plan:  # fmt: skip
    """``base`` with edits replayed: ``refresh[c, k]`` is 0 (none), 1 (whole) or 2
    (incremental) for edit ``k`` of context ``c``. A query's ``c'`` is fresh when the context's
    last edit before it came before the work started, or was refreshed and the refresh is
    done; else it is stale (its gain scaled down). Refreshes add their price."""
    qc, tq = t.query_context, t.query_time_s
    ed = edits[qc]  # (q, k)
    before = ed <= tq[:, None]
    k_last = before.sum(axis=1) - 1  # index of the last edit before the query, -1 none
    e_last = np.where(k_last >= 0, ed[np.arange(qc.size), np.maximum(k_last, 0)], -np.inf)
    st = start[qc]
    lat = t.latency_s[base.sleep][qc]
    r_last = np.where(k_last >= 0, refresh[qc, np.maximum(k_last, 0)], 0)
    fresh = (e_last < st) | ((r_last > 0) & (tq >= e_last + lat))
    quality = np.where((r_last == 2) & (e_last >= st), effect.incremental_quality, 1.0)
    gain = np.where(fresh, quality, 1.0 - effect.loss if effect.mode == "share" else 1.0)
    wrong = None
    if effect.mode == "wrong":  # a share of the stale answers ask about the edited part: wrong
        wrong = np.where(fresh, 0.0, effect.touched)
    slept = base.sleep > 0
    valid = np.isfinite(edits) & (edits >= start[:, None]) & slept[:, None]
    price = t.sleep_usd[base.sleep, np.arange(t.n_contexts)]
    extra = ((refresh == 1) & valid).sum(axis=1) * price + ((refresh == 2) & valid).sum(axis=1) * price * effect.incremental_cost  # fmt: skip
    return Plan(base.sleep, base.sleep_usd + extra, base.served, gain, wrong)


def seen_before(t: ServedTables, edits: FloatArray) -> IntArray:
    """``(contexts, max_edits)``: how many of its queries a context has had before each edit."""
    if not t.n_contexts:
        return np.zeros((0, edits.shape[1]), np.int64)
    ends = np.cumsum(t.counts)
    starts = ends - t.counts  # the queries are sorted by context, then time
    return np.stack([np.searchsorted(t.query_time_s[a:b], edits[c]) for c, (a, b) in enumerate(zip(starts, ends, strict=True))])  # fmt: skip


def remaining_factor(t: ServedTables, edits: FloatArray, seen: IntArray, remaining: FloatArray, m_max: int = 5) -> FloatArray:  # fmt: skip
    """Per number of queries seen before an edit (``m_max`` and more pooled): the queries that
    came after the edits of ``t``'s contexts over what the count posterior expected (1 where no
    edit was seen)."""
    valid = np.isfinite(edits)
    real = (t.counts[:, None] - seen)[valid]
    expect = np.take_along_axis(remaining.T, np.minimum(seen, remaining.shape[0] - 1), axis=1)[
        valid
    ]
    bucket = np.minimum(seen[valid], m_max)
    out = np.ones(m_max + 1)
    for m in range(m_max + 1):
        rows = bucket == m
        if rows.sum() >= 20 and expect[rows].sum() > 0:
            out[m] = float(real[rows].sum() / expect[rows].sum())
    return out
