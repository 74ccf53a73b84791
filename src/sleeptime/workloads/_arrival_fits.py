"""Query counts where history speaks, and fitting arrival models to an access log.

Geometric counts are memoryless: a context that has had ``m`` queries expects as many more as a
new one. The families here are not, so *waiting* tells a policy something:

- :class:`GammaPoissonCount`: each context has its own rate (gamma distributed), counts are
  ``1 + Poisson(rate)``: overdispersed; a context seen often is likely a busy one.
- :class:`SelfExcitingCount`: bursts. The first query starts a cluster; each query triggers
  ``Poisson(branching)`` more, each after an exponential delay (a Hawkes process with an
  exponential kernel, seen as its branching structure). Counts follow the Borel distribution.
- :class:`PowerLawCount`: popularity across contexts follows a power law,
  ``P(N = n) ~ n^-alpha`` on ``n >= 1`` (a few contexts get most queries).

:func:`fit_arrivals` fits these and the memoryless families to a log of ``(context_id,
timestamp)`` rows (CSV or JSONL: a user's own access log), compares them by held-out
log-likelihood of the per-context counts, and returns an :class:`ArrivalFit` whose ``process``
samples from the best.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._errors import WorkloadError
from sleeptime._types import FloatArray, IntArray
from sleeptime.workloads._arrivals import (
    ArrivalProcess,
    ExponentialDurations,
    GeometricCount,
    PoissonCount,
    QueryCount,
    Seed,
    _positive,
    _rng,
)


@dataclass(frozen=True)
class GammaPoissonCount(QueryCount):
    """``1 + Poisson(rate)`` with ``rate ~ Gamma(shape, (mean - 1) / shape)``: mean ``mean``,
    variance ``(mean - 1) + (mean - 1)^2 / shape``. A small ``shape`` is strong overdispersion;
    ``shape -> inf`` is Poisson. ``mean`` may be per context."""

    mean: float | Sequence[float] | NDArray[np.float64]
    shape: float = 1.0

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """Queries per context, shape ``(n_contexts,)``, each >= 1; WorkloadError unless
        ``mean`` > 1 and ``shape`` > 0."""
        mean = np.broadcast_to(_positive("GammaPoissonCount.mean", self.mean, 1.0), n_contexts)
        shape = float(_positive("GammaPoissonCount.shape", self.shape))
        rng = _rng(seed)
        rate = rng.gamma(shape, (mean - 1.0) / shape)
        return (1 + rng.poisson(rate)).astype(np.int64)

    def log_pmf(self, n: IntArray) -> FloatArray:
        """Natural log of ``P(N = n)`` per count (``n`` >= 1; ``mean`` scalar or of ``n``'s
        shape): ``n - 1`` is negative binomial."""
        from scipy.stats import nbinom

        m = np.asarray(self.mean, dtype=np.float64) - 1.0
        return np.asarray(nbinom.logpmf(n - 1, self.shape, self.shape / (self.shape + m)))


@dataclass(frozen=True)
class SelfExcitingCount(QueryCount):
    """Bursts: each query triggers ``Poisson(branching)`` further queries, each after an
    exponential delay of mean ``delay_mean_s`` from the query that triggered it. Counts are
    Borel distributed with mean ``1 / (1 - branching)``; ``branching`` must be below 1."""

    branching: float | Sequence[float] | NDArray[np.float64]
    delay_mean_s: float = 300.0

    @classmethod
    def with_mean(
        cls, mean: float | Sequence[float] | NDArray[np.float64], delay_mean_s: float = 300.0
    ) -> SelfExcitingCount:
        """The process whose counts have mean ``mean`` (> 1; scalar or per context)."""
        return cls(1.0 - 1.0 / _positive("mean", mean, 1.0), delay_mean_s)

    def _check(self) -> None:
        eta = np.asarray(self.branching, dtype=np.float64)
        if eta.size == 0 or not np.all((eta >= 0) & (eta < 1)):
            raise WorkloadError(f"SelfExcitingCount.branching must be in [0, 1), got {self.branching}")  # fmt: skip
        _positive("SelfExcitingCount.delay_mean_s", self.delay_mean_s)

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """Queries per context, shape ``(n_contexts,)``, each >= 1 (the counts of
        :meth:`sample_with_times`); WorkloadError unless ``branching`` is in [0, 1)."""
        return self.sample_with_times(n_contexts, seed)[0]

    def sample_with_times(self, n_contexts: int, seed: Seed) -> tuple[IntArray, FloatArray]:
        """Counts per context and each query's time after its context's first query, sorted
        per context (contexts in order); generations are drawn vectorized across contexts."""
        self._check()
        rng = _rng(seed)
        eta = np.broadcast_to(np.asarray(self.branching, dtype=np.float64), (n_contexts,))
        owner = [np.arange(n_contexts, dtype=np.int64)]
        times = [np.zeros(n_contexts)]
        parent_owner, parent_time = owner[0], times[0]
        while parent_owner.size:
            kids = rng.poisson(eta[parent_owner])
            parent_owner = np.repeat(parent_owner, kids)
            parent_time = np.repeat(parent_time, kids) + rng.exponential(
                self.delay_mean_s, int(kids.sum())
            )
            owner.append(parent_owner)
            times.append(parent_time)
        o, t = np.concatenate(owner), np.concatenate(times)
        order = np.lexsort((t, o))
        counts = np.bincount(o, minlength=n_contexts).astype(np.int64)
        return counts, t[order]

    def log_pmf(self, n: IntArray) -> FloatArray:
        """Natural log of the Borel ``P(N = n) = exp(-eta n) (eta n)^(n - 1) / n!`` per count
        (``n`` >= 1, ``eta`` the branching); at ``eta = 0`` all mass is on ``n = 1``."""
        from scipy.special import gammaln

        eta = np.asarray(self.branching, dtype=np.float64)
        nf = n.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -eta * nf + (nf - 1) * np.log(eta * nf) - gammaln(nf + 1)
        return np.asarray(np.where(eta == 0, np.where(n == 1, 0.0, -np.inf), out))


@dataclass(frozen=True)
class PowerLawCount(QueryCount):
    """``P(N = n) = n^-alpha / zeta(alpha)`` on ``n >= 1``: popularity across contexts follows
    a power law; the mean is finite for ``alpha > 2``."""

    alpha: float

    def sample(self, n_contexts: int, seed: Seed) -> NDArray[np.int64]:
        """Queries per context, shape ``(n_contexts,)``, each >= 1 (Zipf draws);
        WorkloadError unless ``alpha`` > 1."""
        if not self.alpha > 1:
            raise WorkloadError(f"PowerLawCount.alpha must be greater than 1, got {self.alpha}")
        return _rng(seed).zipf(self.alpha, n_contexts).astype(np.int64)

    @property
    def mean(self) -> float:
        """Mean queries per context, ``zeta(alpha - 1) / zeta(alpha)``; inf for ``alpha`` <= 2."""
        from scipy.special import zeta

        return float(zeta(self.alpha - 1) / zeta(self.alpha)) if self.alpha > 2 else math.inf

    def log_pmf(self, n: IntArray) -> FloatArray:
        """Natural log of ``P(N = n) = n^-alpha / zeta(alpha)`` per count (``n`` >= 1)."""
        from scipy.special import zeta

        return np.asarray(-self.alpha * np.log(n.astype(np.float64)) - math.log(zeta(self.alpha)))


def _geometric_log_pmf(mean: float, n: IntArray) -> FloatArray:
    p = 1.0 / mean
    return np.asarray((n - 1) * math.log1p(-p) + math.log(p)) if p < 1 else np.where(n == 1, 0.0, -np.inf)  # fmt: skip


def _poisson_log_pmf(mean: float, n: IntArray) -> FloatArray:
    from scipy.stats import poisson

    return np.asarray(poisson.logpmf(n - 1, max(mean - 1.0, 1e-12)))


#: The families :func:`fit_arrivals` compares, in the order reported.
FAMILIES = ("geometric", "poisson", "gamma-poisson", "self-exciting", "power-law")


def _fit_family(name: str, counts: IntArray, gaps_mean_s: float) -> tuple[QueryCount, dict[str, float]]:  # fmt: skip
    """Maximum-likelihood fit of one family to counts (>= 1)."""
    from scipy.optimize import minimize, minimize_scalar

    mean = float(counts.mean())
    if name == "geometric":
        return GeometricCount(mean), {"mean": mean}
    if name == "poisson":
        return PoissonCount(mean), {"mean": mean}
    if name == "self-exciting":
        eta = 1.0 - 1.0 / mean  # the MLE of the Borel distribution
        return SelfExcitingCount(eta, gaps_mean_s), {"branching": eta, "delay_mean_s": gaps_mean_s}  # fmt: skip
    if name == "power-law":
        log_n = float(np.log(counts).mean())

        def nll_alpha(a: float) -> float:
            from scipy.special import zeta

            return float(a * log_n + math.log(zeta(a)))

        alpha = float(minimize_scalar(nll_alpha, bounds=(1.01, 20.0), method="bounded").x)
        return PowerLawCount(alpha), {"alpha": alpha}
    if name == "gamma-poisson":
        if mean <= 1.0:
            return GammaPoissonCount(1.0 + 1e-9, 1e6), {"mean": mean, "shape": 1e6}

        def nll(theta: FloatArray) -> float:
            return -float(GammaPoissonCount(1.0 + math.exp(theta[0]), math.exp(theta[1])).log_pmf(counts).sum())  # fmt: skip

        res = minimize(nll, np.array([math.log(mean - 1.0), 0.0]), method="Nelder-Mead",
                       options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})  # fmt: skip
        m, shape = 1.0 + math.exp(res.x[0]), math.exp(res.x[1])
        return GammaPoissonCount(m, shape), {"mean": m, "shape": shape}
    raise WorkloadError(f"unknown arrival family {name!r}; known: {', '.join(FAMILIES)}")


def count_log_pmf(count: QueryCount, n: IntArray) -> FloatArray:
    """Log-probability of each count under a count model (the fitted families)."""
    if isinstance(count, GeometricCount):
        return _geometric_log_pmf(float(np.mean(count.mean)), n)
    if isinstance(count, PoissonCount):
        return _poisson_log_pmf(float(np.mean(count.mean)), n)
    if isinstance(count, (GammaPoissonCount, SelfExcitingCount, PowerLawCount)):
        return count.log_pmf(n)
    raise WorkloadError(f"no likelihood for {type(count).__name__}")


def expected_remaining(count: QueryCount, seen: int | IntArray, *, n_max: int = 2000) -> FloatArray:
    """Posterior expected number of queries still to come once ``seen`` queries have come
    (``E[N - m | N >= m]``), from the count model alone: constant for geometric counts
    (memoryless), rising with ``m`` for overdispersed, bursty and power-law counts.
    ``count`` must have one (scalar) mean."""
    n = np.arange(1, n_max + 1, dtype=np.int64)
    pmf = np.exp(count_log_pmf(count, n))
    m = np.atleast_1d(np.asarray(seen, dtype=np.int64))
    # tail sums: S0[m] = P(N >= m), S1[m] = E[N 1{N >= m}]
    s0 = np.concatenate((np.cumsum(pmf[::-1])[::-1], [0.0]))
    s1 = np.concatenate((np.cumsum((n * pmf)[::-1])[::-1], [0.0]))
    idx = np.clip(m - 1, 0, n_max)  # index of n = m (m = 0: the whole distribution)
    tail = np.maximum(s0[idx], 1e-300)
    out = s1[idx] / tail - np.maximum(m, 0)
    out[m <= 0] = float((n * pmf).sum())
    return np.asarray(np.maximum(out, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class AccessLog:
    """An access log grouped by context: queries per context and the gaps between a context's
    consecutive queries (seconds)."""

    context_ids: tuple[str, ...]
    counts: IntArray
    gaps_s: FloatArray
    source: str = ""


def _timestamp(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise WorkloadError(f"{where}: timestamp must be seconds or an ISO 8601 time, got {value!r}")  # fmt: skip
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise WorkloadError(f"{where}: timestamp must be finite, got {value!r}")
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise WorkloadError(f"{where}: timestamp {text!r} is neither seconds nor an ISO 8601 time") from None  # fmt: skip


def access_log_from_rows(rows: Iterable[tuple[str, float]], *, source: str = "rows") -> AccessLog:
    """Group ``(context_id, timestamp_s)`` rows (any order) by context."""
    by_ctx: dict[str, list[float]] = {}
    for ctx, t in rows:
        by_ctx.setdefault(str(ctx), []).append(float(t))
    if not by_ctx:
        raise WorkloadError(f"{source}: the access log has no rows")
    ids = tuple(sorted(by_ctx))
    counts = np.array([len(by_ctx[c]) for c in ids], dtype=np.int64)
    gaps = np.concatenate([np.diff(np.sort(by_ctx[c])) for c in ids]) if ids else np.zeros(0)
    return AccessLog(ids, counts, gaps.astype(np.float64), source)


def read_access_log(path: str | Path, *, context_field: str = "context_id", time_field: str = "timestamp") -> AccessLog:  # fmt: skip
    """Read an access log: CSV with a header naming ``context_field`` and ``time_field``, or
    JSONL objects with those keys. Timestamps are seconds or ISO 8601 times. Errors name the
    file, line and field."""
    p = Path(path)
    if not p.is_file():
        raise WorkloadError(f"{p}: no such access log")
    rows: list[tuple[str, float]] = []
    if p.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        from sleeptime._json import jsonl_objects

        for i, obj in jsonl_objects(
            p.read_text(encoding="utf-8"), p, error=WorkloadError, what="a row"
        ):
            rows.append(_row(obj, f"{p}:{i}", context_field, time_field))
    else:
        with p.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {context_field, time_field} - set(reader.fieldnames or ())
            if missing:
                raise WorkloadError(f"{p}:1: the header has no {', '.join(sorted(missing))} column (it has {', '.join(reader.fieldnames or ()) or 'nothing'})")  # fmt: skip
            for row in reader:
                rows.append(_row(row, f"{p}:{reader.line_num}", context_field, time_field))
    return access_log_from_rows(rows, source=str(p))


def _row(obj: Mapping[str, Any], where: str, context_field: str, time_field: str) -> tuple[str, float]:  # fmt: skip
    for key in (context_field, time_field):
        if obj.get(key) in (None, ""):
            raise WorkloadError(f"{where}: field {key!r} is missing or empty")
    return str(obj[context_field]), _timestamp(obj[time_field], f"{where}: field {time_field!r}")


@dataclass(frozen=True)
class FamilyFit:
    """One family fitted to the training contexts: its parameters and mean log-likelihood per
    context on the training and the held-out contexts."""

    family: str
    params: Mapping[str, float]
    train_loglik: float
    heldout_loglik: float
    count: QueryCount = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the family's fit (log-likelihoods in nats per context), as
        ``--json`` prints it."""
        return {"family": self.family, "params": dict(self.params), "train_loglik_per_context": self.train_loglik,
                "heldout_loglik_per_context": self.heldout_loglik}  # fmt: skip


@dataclass(frozen=True)
class ArrivalFit:
    """Every family fitted to an access log, the best by held-out log-likelihood, and the
    arrival process that samples from it (gaps: exponential with the log's mean gap)."""

    fits: tuple[FamilyFit, ...]
    best: str
    process: ArrivalProcess
    contexts: int
    heldout_contexts: int
    mean_count: float
    mean_gap_s: float
    source: str = ""

    def fit(self, family: str) -> FamilyFit:
        """The fit of the family named ``family``; StopIteration where it was not fitted."""
        return next(f for f in self.fits if f.family == family)

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the fit (log size, mean count and gap in seconds, the best
        family, every family's fit), as ``--json`` prints it."""
        return {"source": self.source, "contexts": self.contexts, "heldout_contexts": self.heldout_contexts,
                "mean_queries_per_context": self.mean_count, "mean_gap_s": self.mean_gap_s, "best": self.best,
                "fits": [f.to_json() for f in self.fits]}  # fmt: skip


def fit_arrivals(
    log: AccessLog | str | Path,
    *,
    heldout_share: float = 0.25,
    seed: int = 0,
    idle_mean_s: float | None = None,
    families: Sequence[str] = FAMILIES,
) -> ArrivalFit:
    """Fit each family to the per-context counts of a share of the log's contexts and score it
    on the rest (held-out log-likelihood per context); the best family is then refitted on every
    context. The process samples that family's counts, gaps exponential with the log's mean gap,
    and an idle window (before a context's first query) of mean ``idle_mean_s`` (default: the
    mean gap; a log of queries alone does not show when a context arrived)."""
    data = log if isinstance(log, AccessLog) else read_access_log(log)
    counts = data.counts
    if counts.size < 4:
        raise WorkloadError(f"{data.source}: need at least 4 contexts to fit and hold some out, got {counts.size}")  # fmt: skip
    if not 0 < heldout_share < 1:
        raise WorkloadError(f"heldout_share must be in (0, 1), got {heldout_share}")
    gap = float(data.gaps_s.mean()) if data.gaps_s.size and data.gaps_s.mean() > 0 else 300.0
    order = np.random.default_rng(seed).permutation(counts.size)
    n_test = max(1, round(counts.size * heldout_share))
    test, train = counts[order[:n_test]], counts[order[n_test:]]
    fits = []
    for name in families:
        count, params = _fit_family(name, train, gap)
        fits.append(FamilyFit(name, params, float(count_log_pmf(count, train).mean()),
                              float(count_log_pmf(count, test).mean()), count))  # fmt: skip
    best = max(fits, key=lambda f: f.heldout_loglik)
    final, _ = _fit_family(best.family, counts, gap)
    process = ArrivalProcess(
        queries=final,
        idle=ExponentialDurations(gap if idle_mean_s is None else idle_mean_s),
        gap=ExponentialDurations(gap),
    )
    return ArrivalFit(tuple(fits), best.family, process, int(counts.size), int(n_test),
                      float(counts.mean()), gap, data.source)  # fmt: skip


def synthetic_access_log(path: Path, *, contexts: int = 2000, mean: float = 4.0, delay_s: float = 600.0, seed: int = 7) -> Path:  # fmt: skip
    """A synthetic access log of bursty traffic (self-exciting, ``mean`` queries per context)
    as CSV ``context_id,timestamp``: what a user's own log would be, for the fitted scenario."""
    from sleeptime._atomic import atomic_write_text

    arr = ArrivalProcess(queries=SelfExcitingCount.with_mean(mean, delay_s), idle=ExponentialDurations(3600.0)).sample(contexts, seed=seed)  # fmt: skip
    starts = np.random.default_rng(seed + 1).random(contexts) * 30 * 86_400.0
    t = starts[arr.query_context] + arr.query_time_s
    lines = [
        "context_id,timestamp",
        *(f"doc{c},{x:.3f}" for c, x in zip(arr.query_context, t, strict=True)),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
