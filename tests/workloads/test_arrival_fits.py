"""Count families where history speaks, fitted back from samples and from access-log files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sleeptime import WorkloadError
from sleeptime.workloads import (
    ArrivalProcess,
    GammaPoissonCount,
    GeometricCount,
    PowerLawCount,
    SelfExcitingCount,
    access_log_from_rows,
    count_log_pmf,
    expected_remaining,
    fit_arrivals,
    read_access_log,
)

N = 20_000


def _log_of(counts: np.ndarray, gap_s: float = 60.0):
    ids = np.repeat(np.arange(counts.size), counts)
    t = np.arange(ids.size, dtype=float) * gap_s  # consecutive rows `gap_s` apart
    return access_log_from_rows(zip((f"c{i}" for i in ids), t, strict=True))


@pytest.mark.parametrize(
    ("count", "family", "params"),
    [
        (GammaPoissonCount(4.0, 0.5), "gamma-poisson", {"mean": 4.0, "shape": 0.5}),
        (SelfExcitingCount(0.7, 60.0), "self-exciting", {"branching": 0.7}),
        (PowerLawCount(2.5), "power-law", {"alpha": 2.5}),
    ],
)
def test_fit_recovers_the_family_and_its_parameters(count, family, params) -> None:
    counts = count.sample(N, seed=11)
    fit = fit_arrivals(_log_of(counts), seed=0)
    assert fit.best == family
    best = fit.fit(family)
    for key, value in params.items():
        assert best.params[key] == pytest.approx(value, rel=0.08), (key, best.params)
    # the process samples the refitted family, and the same seed gives the same arrays
    a, b = fit.process.sample(500, seed=3), fit.process.sample(500, seed=3)
    assert type(fit.process.queries) is type(count)
    assert np.array_equal(a.query_time_s, b.query_time_s)
    assert fit.mean_gap_s == pytest.approx(60.0)


def test_memoryless_counts_are_best_fitted_as_geometric_or_its_equal() -> None:
    fit = fit_arrivals(_log_of(GeometricCount(4.0).sample(N, seed=5)))
    geo, gp = fit.fit("geometric"), fit.fit("gamma-poisson")
    assert geo.heldout_loglik >= max(f.heldout_loglik for f in fit.fits) - 1e-4
    assert gp.params["shape"] == pytest.approx(1.0, rel=0.1)  # NB with shape 1 is geometric
    assert fit.fit("poisson").heldout_loglik < geo.heldout_loglik - 0.3


def test_log_pmfs_sum_to_one_and_have_the_stated_means() -> None:
    n = np.arange(1, 20_000)
    for count, mean in ((GammaPoissonCount(3.0, 0.7), 3.0), (SelfExcitingCount.with_mean(3.0), 3.0), (PowerLawCount(3.0), PowerLawCount(3.0).mean)):  # fmt: skip
        pmf = np.exp(count_log_pmf(count, n))
        assert pmf.sum() == pytest.approx(1.0, abs=2e-3)
        assert (n * pmf).sum() == pytest.approx(mean, rel=0.01)
        assert count.sample(N, seed=2).mean() == pytest.approx(mean, rel=0.06)


def test_waiting_tells_nothing_for_geometric_counts_and_something_for_the_others() -> None:
    seen = np.arange(1, 6)
    flat = expected_remaining(GeometricCount(4.0), seen)
    assert np.allclose(flat, 3.0)
    for count in (
        GammaPoissonCount(4.0, 0.5),
        SelfExcitingCount.with_mean(4.0),
        PowerLawCount(2.5),
    ):
        rising = expected_remaining(count, seen)
        assert np.all(np.diff(rising) > 0), (count, rising)
    # by simulation: contexts that reached 3 queries got on average that many more
    draws = GammaPoissonCount(4.0, 0.5).sample(200_000, seed=9)
    assert (draws[draws >= 3] - 3).mean() == pytest.approx(float(expected_remaining(GammaPoissonCount(4.0, 0.5), 3)[0]), rel=0.03)  # fmt: skip


def test_bursts_cluster_in_time() -> None:
    process = ArrivalProcess(queries=SelfExcitingCount(0.75, 30.0))
    arr = process.sample(5000, seed=1)
    assert arr.queries_per_context.mean() == pytest.approx(4.0, rel=0.1)
    t = arr.query_time_s
    same = arr.query_context[1:] == arr.query_context[:-1]
    assert np.all(np.diff(t)[same] >= 0)  # sorted within each context
    # each query follows its trigger by ~30 s: consecutive gaps are far below the default 300 s
    assert np.diff(t)[same].mean() < 60.0


def test_access_logs_from_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = tmp_path / "log.csv"
    csv_path.write_text(
        "context_id,timestamp\na,2026-01-01T00:00:00Z\na,2026-01-01T00:01:00Z\nb,10\nc,5\nd,1\nd,3\nd,9\n"
    )
    log = read_access_log(csv_path)
    assert log.context_ids == ("a", "b", "c", "d")
    assert log.counts.tolist() == [2, 1, 1, 3]
    assert sorted(log.gaps_s.tolist()) == [2.0, 6.0, 60.0]
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text(
        "\n".join(json.dumps({"doc": c, "t": t}) for c, t in (("x", 1), ("x", 4), ("y", 2)))
    )
    assert read_access_log(jsonl, context_field="doc", time_field="t").counts.tolist() == [2, 1]
    bad = tmp_path / "bad.csv"
    bad.write_text("context_id,timestamp\na,1\nb,yesterday\n")
    with pytest.raises(WorkloadError, match=r"bad\.csv:3: field 'timestamp'"):
        read_access_log(bad)
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("doc,time\na,1\n")
    with pytest.raises(
        WorkloadError, match=r"nohead\.csv:1: the header has no context_id, timestamp"
    ):
        read_access_log(nohead)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"context_id": "a", "timestamp": 1}\n{"context_id": "a"}\n')
    with pytest.raises(WorkloadError, match=r"broken\.jsonl:2: field 'timestamp' is missing"):
        read_access_log(broken)
    with pytest.raises(WorkloadError, match="at least 4 contexts"):
        fit_arrivals(read_access_log(jsonl, context_field="doc", time_field="t"))
