from __future__ import annotations

import numpy as np
import pytest

from sleeptime import WorkloadError
from sleeptime.workloads import (
    ArrivalProcess,
    EmpiricalCount,
    EmpiricalDurations,
    ExponentialDurations,
    FixedCount,
    GeometricCount,
    PoissonCount,
)

N = 200_000


@pytest.mark.parametrize("count", [GeometricCount(4.0), PoissonCount(4.0)])
def test_count_means(count: GeometricCount | PoissonCount) -> None:
    draws = count.sample(N, seed=1)
    assert draws.min() >= 1
    assert draws.mean() == pytest.approx(4.0, rel=0.01)


def test_geometric_variance_and_per_context_means() -> None:
    draws = GeometricCount(4.0).sample(N, seed=2)
    assert draws.var() == pytest.approx((1 - 0.25) / 0.25**2, rel=0.03)  # (1-p)/p^2 = 12
    means = np.where(np.arange(N) % 2 == 0, 1.5, 8.0)
    mixed = GeometricCount(means).sample(N, seed=3)
    assert mixed[::2].mean() == pytest.approx(1.5, rel=0.02)
    assert mixed[1::2].mean() == pytest.approx(8.0, rel=0.02)


def test_fixed_and_empirical_counts() -> None:
    assert set(FixedCount(3).sample(10, seed=0)) == {3}
    draws = EmpiricalCount([1, 1, 1, 9]).sample(N, seed=4)
    assert set(np.unique(draws)) == {1, 9}
    assert (draws == 9).mean() == pytest.approx(0.25, abs=0.01)


def test_durations() -> None:
    idle = ExponentialDurations(120.0).sample(N, seed=5)
    assert idle.mean() == pytest.approx(120.0, rel=0.01)
    assert np.median(idle) == pytest.approx(120.0 * np.log(2), rel=0.02)
    emp = EmpiricalDurations([10.0, 20.0]).sample(N, seed=6)
    assert emp.mean() == pytest.approx(15.0, rel=0.01)


def test_arrival_process_shapes_order_and_determinism() -> None:
    process = ArrivalProcess(
        queries=GeometricCount(4.0), idle=ExponentialDurations(60.0),
        gap=ExponentialDurations(30.0),
    )  # fmt: skip
    a = process.sample(50_000, seed=9)
    b = process.sample(50_000, seed=9)
    for field in ("queries_per_context", "idle_s", "query_context", "query_time_s"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.query_context.shape == a.query_time_s.shape == (a.n_queries,)
    assert np.all(np.diff(a.query_context) >= 0)
    starts = np.concatenate(([0], np.cumsum(a.queries_per_context)[:-1]))
    np.testing.assert_allclose(
        a.query_time_s[starts], a.idle_s
    )  # first query after the idle window
    same = a.query_context[1:] == a.query_context[:-1]
    assert np.all(np.diff(a.query_time_s)[same] >= 0)  # later queries come later
    later_gaps = np.diff(a.query_time_s)[same]
    assert later_gaps.mean() == pytest.approx(30.0, rel=0.03)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: GeometricCount(0.5).sample(3, seed=0),
        lambda: PoissonCount(float("nan")).sample(3, seed=0),
        lambda: FixedCount(0).sample(3, seed=0),
        lambda: EmpiricalCount([]).sample(3, seed=0),
        lambda: EmpiricalDurations([-1.0]).sample(3, seed=0),
        lambda: ExponentialDurations(float("inf")).sample(3, seed=0),
        lambda: ArrivalProcess().sample(0, seed=0),
    ],
)
def test_bad_parameters_raise_workload_error(bad: object) -> None:
    with pytest.raises(WorkloadError):
        bad()  # type: ignore[operator]
