from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sleeptime._cli.main import main
from sleeptime.simulators import (
    CalibrationError,
    calibrate,
    interpolate_tokens,
    paper_data,
    read_points,
)


def test_every_series_fits_within_rmse(paper_dir: Path) -> None:
    cal = calibrate(paper_dir / "test_time_scaling.csv")
    assert len(cal.fits) == 16 and len(cal.panels()) == 8
    for fit in cal.fits.values():
        assert fit.rmse <= 0.03, fit.summary()


def test_joint_fit_with_quintiles_keeps_rmse(paper_dir: Path) -> None:
    cal = calibrate(
        paper_dir / "test_time_scaling.csv", quintiles=paper_dir / "predictability_quintiles.csv"
    )
    assert max(f.rmse for f in cal.fits.values()) <= 0.03


def test_token_savings_match_digitized_interpolation(paper_dir: Path) -> None:
    savings = {
        (t["benchmark"], t["model"]): t
        for t in calibrate(paper_dir / "test_time_scaling.csv").token_savings()
    }
    assert len(savings) == 8
    for t in savings.values():
        assert abs(t["ratio"] / t["ratio_digitized"] - 1) <= 0.30, t
    for key in [
        ("stateful-gsm-symbolic-p2", "gpt-4o-mini"),
        ("stateful-aime", "o3-mini"),
        ("stateful-aime", "deepseek-r1"),
    ]:
        assert savings[key]["ratio"] >= 4, savings[key]


def test_curves_are_monotone_saturating_and_cross_on_gsm(paper_dir: Path) -> None:
    cal = calibrate(paper_dir / "test_time_scaling.csv")
    t = np.geomspace(10, 1e6, 400)
    for fit in cal.fits.values():
        y = fit(t)
        assert np.all(np.diff(y) >= 0) and y[-1] <= fit.ceiling <= 1
    to = cal.curve("stateful-gsm-symbolic-p1", "gpt-4o-mini", "test_only")
    st = cal.curve("stateful-gsm-symbolic-p1", "gpt-4o-mini", "sleep_time")
    assert st(27) > to(27) + 0.3  # sleep-time far ahead at the lowest budget
    assert to(484) > st(484)  # test-only ends slightly above at the highest


def test_any_names_and_inverse() -> None:
    rows = [
        {
            "benchmark": "my-bench",
            "model": "my-llm",
            "condition": c,
            "avg_test_tokens": t,
            "accuracy": a,
        }
        for c, pts in {
            "test_only": [(10, 0.1), (100, 0.5), (1000, 0.8)],
            "sleep_time": [(10, 0.4), (100, 0.6), (1000, 0.7)],
        }.items()
        for t, a in pts
    ]
    cal = calibrate(rows)
    assert cal.panels() == [("my-bench", "my-llm")]
    fit = cal.curve("my-bench", "my-llm", "test_only")
    # three points, three parameters: the curve passes through each, and saturates above 0.8
    np.testing.assert_allclose(fit([10, 100, 1000]), [0.1, 0.5, 0.8], atol=1e-9)
    assert 0.8 < fit.ceiling < 0.99 and fit.degrees_of_freedom == 0
    assert fit.tokens_for(float(fit(300))) == pytest.approx(300, rel=1e-6)
    # at or above the ceiling the curve never gets there; just below it, beyond the last point
    assert fit.tokens_for(0.99) == fit.tokens_for(fit.ceiling) == float("inf")
    assert 1000 < fit.tokens_for(fit.ceiling - 1e-3) < float("inf")
    assert fit.tokens_for(0.0) == 0.0
    assert interpolate_tokens([10, 100], [0.1, 0.5], 0.3) == pytest.approx(np.sqrt(10 * 100))


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        ("benchmark,model,condition,accuracy\n", "missing columns ['avg_test_tokens']"),
        (
            "benchmark,model,condition,avg_test_tokens,accuracy\nb,m,test_only,abc,0.5\n",
            ":2: avg_test_tokens and accuracy must be numbers",
        ),
        (
            "benchmark,model,condition,avg_test_tokens,accuracy\nb,m,both,10,0.5\n",
            "condition must be one of",
        ),
        (
            "benchmark,model,condition,avg_test_tokens,accuracy\nb,m,test_only,10,1.5\n",
            "between 0 and 1",
        ),
        (
            "benchmark,model,condition,avg_test_tokens,accuracy\nb,m,test_only,-3,0.5\n",
            "positive number",
        ),
        ("benchmark,model,condition,avg_test_tokens,accuracy\n", "no calibration points"),
        (
            "benchmark,model,condition,avg_test_tokens,accuracy\nb,m,test_only,10,0.5\n",
            "need at least 2 points",
        ),
    ],
)
def test_bad_points(tmp_path: Path, csv: str, needle: str) -> None:
    path = tmp_path / "points.csv"
    path.write_text(csv)
    with pytest.raises(CalibrationError) as info:
        calibrate(path)
    assert needle in str(info.value)


def test_packaged_points_equal_the_shared_ones(paper_dir: Path) -> None:
    for name in ("test_time_scaling", "amortization", "predictability_quintiles"):
        assert paper_data(name).read_text() == (paper_dir / f"{name}.csv").read_text()
    assert len(read_points(paper_data("test_time_scaling"))) == 56


def test_calibrate_cli_json(
    paper_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "cal.png"
    assert (
        main(["calibrate", str(paper_dir / "test_time_scaling.csv"), "--json", "--plot", str(plot)])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert {"benchmark", "model", "condition", "rmse", "max_abs_error", "n_points"} <= set(
        out["fits"][0]
    )
    assert len(out["fits"]) == 16 and all(f["rmse"] <= 0.03 for f in out["fits"])
    assert {"benchmark", "model", "ratio"} <= set(out["token_savings"][0])
    assert plot.stat().st_size > 10_000
