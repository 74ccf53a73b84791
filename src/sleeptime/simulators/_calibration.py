"""Fit accuracy-vs-test-tokens curves to points digitized from the paper (or your own).

Each (benchmark, model, condition) series is fitted with a logistic in log tokens::

    accuracy(t) = ceiling / (1 + exp(-(ln t - midpoint) / scale))

which rises monotonically with test-time tokens and saturates at ``ceiling``. Test-only and
sleep-time series are fitted separately, so their curves may cross (at the highest GSM budgets
test-only ends slightly above sleep-time, as the paper reports).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sleeptime._errors import SleeptimeError

CONDITIONS = ("test_only", "sleep_time")
POINT_COLUMNS = ("benchmark", "model", "condition", "avg_test_tokens", "accuracy")


class CalibrationError(SleeptimeError, ValueError):
    """Calibration points are missing, malformed, or cannot be fitted."""


@dataclass(frozen=True)
class Point:
    """One digitized point: accuracy at an average number of test-time tokens."""

    benchmark: str
    model: str
    condition: str
    avg_test_tokens: float
    accuracy: float


@dataclass(frozen=True)
class CurveFit:
    """A fitted saturating curve of accuracy in log test-time tokens."""

    benchmark: str
    model: str
    condition: str
    ceiling: float
    midpoint: float
    scale: float
    tokens: tuple[float, ...]
    accuracy: tuple[float, ...]
    rmse: float
    max_abs_error: float
    #: Observations in the fit (the series' points and any ``extra``) less the 3 parameters; at
    #: 0 the curve passes through every point, whatever its shape: the RMSE then says nothing.
    degrees_of_freedom: int = 0

    def __call__(self, tokens: ArrayLike) -> NDArray[np.float64]:
        t = np.maximum(np.asarray(tokens, dtype=np.float64), 1e-9)
        return np.asarray(
            self.ceiling / (1.0 + np.exp(-(np.log(t) - self.midpoint) / self.scale)),
            dtype=np.float64,
        )

    def tokens_for(self, accuracy: float) -> float:
        """Test-time tokens at which the curve reaches ``accuracy`` (inf if never)."""
        if accuracy >= self.ceiling:
            return math.inf
        if accuracy <= 0:
            return 0.0
        return float(math.exp(self.midpoint - self.scale * math.log(self.ceiling / accuracy - 1.0)))

    def summary(self) -> dict[str, Any]:
        """The fit in a JSON-able dict: its panel and condition, its errors (accuracy points as
        shares), points and degrees of freedom, and the parameters (``midpoint_tokens`` in
        test-time tokens, ``scale`` in log-tokens)."""
        return {
            "benchmark": self.benchmark,
            "model": self.model,
            "condition": self.condition,
            "rmse": self.rmse,
            "max_abs_error": self.max_abs_error,
            "n_points": len(self.tokens),
            "degrees_of_freedom": self.degrees_of_freedom,
            "ceiling": self.ceiling,
            "midpoint_tokens": math.exp(self.midpoint),
            "scale": self.scale,
        }


def read_points(source: str | Path | Iterable[Mapping[str, Any]]) -> list[Point]:
    """Points from a CSV file with columns :data:`POINT_COLUMNS`, or from row mappings."""
    where = str(source) if isinstance(source, (str, Path)) else "points"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise CalibrationError(f"{path}: no such file")
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(POINT_COLUMNS) - set(reader.fieldnames or [])
            if missing:
                raise CalibrationError(
                    f"{path}: missing columns {sorted(missing)}; a calibration CSV needs {', '.join(POINT_COLUMNS)}"
                )
            rows: list[tuple[int, Mapping[str, Any]]] = [(reader.line_num, r) for r in reader]
    else:
        rows = [(i + 1, r) for i, r in enumerate(source)]
    points = []
    for line, row in rows:
        try:
            tokens = float(row["avg_test_tokens"])
            acc = float(row["accuracy"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(
                f"{where}:{line}: avg_test_tokens and accuracy must be numbers ({exc})"
            ) from None
        condition = str(row.get("condition", "")).strip()
        if condition not in CONDITIONS:
            raise CalibrationError(
                f"{where}:{line}: condition must be one of {CONDITIONS}, got {condition!r}"
            )
        if not (math.isfinite(tokens) and tokens > 0):
            raise CalibrationError(
                f"{where}:{line}: avg_test_tokens must be a positive number, got {tokens}"
            )
        if not (math.isfinite(acc) and 0 <= acc <= 1):
            raise CalibrationError(f"{where}:{line}: accuracy must be between 0 and 1, got {acc}")
        benchmark, model = str(row.get("benchmark", "")).strip(), str(row.get("model", "")).strip()
        if not benchmark or not model:
            raise CalibrationError(f"{where}:{line}: benchmark and model must not be empty")
        points.append(Point(benchmark, model, condition, tokens, acc))
    if not points:
        raise CalibrationError(f"{where}: no calibration points")
    return points


def fit_curve(
    benchmark: str,
    model: str,
    condition: str,
    tokens: Sequence[float],
    accuracy: Sequence[float],
    *,
    extra: Sequence[tuple[float, float]] = (),
) -> CurveFit:
    """Least-squares fit of the logistic-in-log-tokens curve to one series.

    ``extra`` adds (tokens, accuracy) observations to the fit (e.g. the same quantity observed
    in another figure); errors are reported on ``tokens``/``accuracy`` only.
    """
    from scipy.optimize import least_squares

    t = np.asarray(tokens, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if t.size < 2:
        raise CalibrationError(
            f"{benchmark}/{model}/{condition}: need at least 2 points to fit, got {t.size}"
        )
    ft = np.concatenate([t, [e[0] for e in extra]])
    fy = np.concatenate([y, [e[1] for e in extra]])
    lt = np.log(ft)

    def residuals(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        ceiling, mid, scale = theta
        return np.asarray(ceiling / (1.0 + np.exp(-(lt - mid) / scale)) - fy, dtype=np.float64)

    lo = [max(float(fy.max()) * 0.5, 1e-3), float(lt.min()) - 8.0, 0.05]
    hi = [1.0, float(lt.max()) + 8.0, 8.0]
    best = None
    for ceiling0 in (min(1.0, fy.max() + 0.02), min(1.0, fy.max() + 0.15), 1.0):
        for scale0 in (0.3, 1.0, 2.5):
            x0 = np.clip(
                [ceiling0, float(np.median(lt)), scale0], np.add(lo, 1e-9), np.subtract(hi, 1e-9)
            )
            res = least_squares(residuals, x0, bounds=(lo, hi))
            if best is None or res.cost < best.cost:
                best = res
    assert best is not None
    ceiling, mid, scale = (float(v) for v in best.x)
    fitted = ceiling / (1.0 + np.exp(-(np.log(t) - mid) / scale))
    err = fitted - y
    return CurveFit(
        benchmark, model, condition, ceiling, mid, scale,
        tuple(float(v) for v in t), tuple(float(v) for v in y),
        float(np.sqrt(np.mean(err**2))), float(np.max(np.abs(err))), int(ft.size) - 3,
    )  # fmt: skip


def family(benchmark: str) -> str:
    """The benchmark without its workload prefix: ``stateful-gsm-symbolic-p1`` -> ``gsm-symbolic-p1``."""
    return re.sub(r"^(stateful|multi-query)-", "", benchmark)


@dataclass(frozen=True)
class Calibration:
    """Fitted curves per (benchmark, model, condition), plus what else was calibrated.

    ``quintile_gains``: the paper's accuracy gain of sleep-time per predictability quintile at
    the lowest budget, per (benchmark, model), where given. ``amortization``: per (family, model),
    the test and sleep tokens fitted to cost-per-query points (see :func:`fit_amortization`).
    """

    fits: Mapping[tuple[str, str, str], CurveFit]
    quintile_gains: Mapping[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)
    amortization: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)

    def panels(self) -> list[tuple[str, str]]:
        """(benchmark, model) pairs that have both a test-only and a sleep-time curve."""
        keys = {(b, m) for b, m, _ in self.fits}
        return sorted(k for k in keys if all((*k, c) in self.fits for c in CONDITIONS))

    def curve(self, benchmark: str, model: str, condition: str) -> CurveFit:
        """The fitted curve of one panel and condition (``test_only`` or ``sleep_time``);
        CalibrationError names the calibrated panels when there is none."""
        try:
            return self.fits[(benchmark, model, condition)]
        except KeyError:
            known = ", ".join(f"{b}/{m}" for b, m in self.panels())
            raise CalibrationError(
                f"no {condition} curve for benchmark {benchmark!r} and model {model!r}; calibrated: {known}"
            ) from None

    def token_savings(self) -> list[dict[str, Any]]:
        """Per panel: test-only tokens needed to reach the accuracy that sleep-time reaches at its
        lowest budget, over sleep-time's tokens there (the paper's "5x"), from the fitted curves
        (``ratio``) and from log-linear interpolation of the points themselves (``ratio_digitized``)."""
        out = []
        for benchmark, model in self.panels():
            to = self.curve(benchmark, model, "test_only")
            st = self.curve(benchmark, model, "sleep_time")
            i = int(np.argmin(st.tokens))
            t_s = st.tokens[i]
            needed = to.tokens_for(float(st(t_s)))
            digitized = interpolate_tokens(to.tokens, to.accuracy, st.accuracy[i])
            out.append(
                {
                    "benchmark": benchmark,
                    "model": model,
                    "ratio": needed / t_s,
                    "ratio_digitized": digitized / t_s,
                    "sleep_time_tokens": t_s,
                    "sleep_time_accuracy": float(st(t_s)),
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of every fit's summary, the token savings and the amortization
        fits, as ``--json`` prints it."""
        return {
            "fits": [f.summary() for f in self.fits.values()],
            "token_savings": self.token_savings(),
            "amortization": [
                {
                    "family": k[0],
                    "model": k[1],
                    **{kk: vv for kk, vv in v.items() if kk != "levels"},
                }
                for k, v in self.amortization.items()
            ],
        }


def interpolate_tokens(tokens: Sequence[float], accuracy: Sequence[float], target: float) -> float:
    """Tokens at which ``target`` accuracy is reached, interpolating log-linearly between the
    points (sorted by tokens) and extrapolating the nearest segment beyond them."""
    order = np.argsort(tokens)
    lt = np.log(np.asarray(tokens, dtype=np.float64)[order])
    acc = np.asarray(accuracy, dtype=np.float64)[order]
    k = int(np.searchsorted(acc, target))
    k = min(max(k, 1), len(acc) - 1)
    a0, a1, l0, l1 = acc[k - 1], acc[k], lt[k - 1], lt[k]
    if a1 == a0:
        return float(math.exp(l1))
    return float(math.exp(l0 + (target - a0) / (a1 - a0) * (l1 - l0)))


def read_quintiles(path: str | Path) -> dict[tuple[str, str], tuple[float, ...]]:
    """``benchmark, model, test_budget, quintile, accuracy_gain`` rows -> gains ordered by quintile."""
    p = Path(path)
    if not p.is_file():
        raise CalibrationError(f"{p}: no such file")
    grouped: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    with p.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            try:
                grouped[(row["benchmark"], row["model"])][int(row["quintile"])] = float(
                    row["accuracy_gain"]
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise CalibrationError(f"{p}:{reader.line_num}: bad quintile row ({exc})") from None
    return {k: tuple(v[q] for q in sorted(v)) for k, v in grouped.items()}


def fit_amortization(
    path: str | Path, *, test_to_sleep_price: float = 10.0
) -> dict[tuple[str, str], dict[str, Any]]:
    """Fit ``cost = test_tokens + sleep_tokens / (test_to_sleep_price * queries)`` per budget level.

    Reads Fig. 9-style rows (``benchmark, model, condition, queries_per_context,
    cost_per_query, accuracy``); sleep-time points that share an accuracy are one budget level.
    Returns, per (benchmark family, model), the levels from lowest to highest cost and the
    sleep tokens per context of the lowest level (``sleep_tokens``).
    """
    p = Path(path)
    if not p.is_file():
        raise CalibrationError(f"{p}: no such file")
    groups: dict[tuple[str, str, float], list[tuple[float, float]]] = defaultdict(list)
    with p.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("condition") != "sleep_time":
                continue
            key = (family(row["benchmark"]), row["model"], float(row["accuracy"]))
            groups[key].append((float(row["queries_per_context"]), float(row["cost_per_query"])))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for (fam, model, acc), pts in groups.items():
        n = np.array([q for q, _ in pts])
        cost = np.array([c for _, c in pts])
        design = np.column_stack([np.ones_like(n), 1.0 / (test_to_sleep_price * n)])
        (test_tokens, sleep_tokens), *_ = np.linalg.lstsq(design, cost, rcond=None)
        level = {"accuracy": acc, "test_tokens": float(test_tokens), "sleep_tokens": float(sleep_tokens),
                 "cost_ratio_1_to_10": float(np.interp(1, n[np.argsort(n)], cost[np.argsort(n)]) / np.interp(10, n[np.argsort(n)], cost[np.argsort(n)]))}  # fmt: skip
        out.setdefault((fam, model), {"levels": []})["levels"].append(level)
    for entry in out.values():
        entry["levels"].sort(key=lambda lv: lv["test_tokens"])
        entry["sleep_tokens"] = entry["levels"][0]["sleep_tokens"]
    return out


def calibrate(
    points: str | Path | Iterable[Mapping[str, Any]],
    *,
    quintiles: str | Path | Mapping[tuple[str, str], Sequence[float]] | None = None,
    amortization: str | Path | None = None,
) -> Calibration:
    """Fit every (benchmark, model, condition) series of ``points``.

    With ``quintiles`` (Fig. 10-style gains per predictability quintile at the lowest budget),
    the mean of a panel's gains is a second observation of sleep-time accuracy at its lowest
    budget (test-only accuracy there plus the mean gain); it enters that series' least-squares
    fit next to the digitized point. With ``amortization`` (Fig. 9-style points), sleep-time
    tokens per context are fitted as well.
    """
    pts = read_points(points)
    gains = (
        read_quintiles(quintiles) if isinstance(quintiles, (str, Path))
        else {k: tuple(v) for k, v in (quintiles or {}).items()}
    )  # fmt: skip
    series: dict[tuple[str, str, str], list[Point]] = defaultdict(list)
    for p in pts:
        series[(p.benchmark, p.model, p.condition)].append(p)
    fits: dict[tuple[str, str, str], CurveFit] = {}
    for key in sorted(series, key=lambda k: (k[0], k[1], k[2] != "test_only")):
        rows = sorted(series[key], key=lambda p: p.avg_test_tokens)
        extra: list[tuple[float, float]] = []
        benchmark, model, condition = key
        if (
            condition == "sleep_time"
            and (benchmark, model) in gains
            and (benchmark, model, "test_only") in fits
        ):
            base = fits[(benchmark, model, "test_only")]
            lowest_to = min(base.tokens)
            implied = float(base(lowest_to)) + float(np.mean(gains[(benchmark, model)]))
            extra.append((rows[0].avg_test_tokens, min(implied, 0.999)))
        fits[key] = fit_curve(
            benchmark, model, condition,
            [p.avg_test_tokens for p in rows], [p.accuracy for p in rows], extra=extra,
        )  # fmt: skip
    amort = fit_amortization(amortization) if amortization is not None else {}
    return Calibration(fits, gains, amort)
