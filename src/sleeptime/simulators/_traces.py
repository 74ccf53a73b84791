"""An outcome model fitted to logged trace records instead of the paper's curves."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._types import FloatArray
from sleeptime.simulators._outcomes import (
    Outcome,
    OutcomeError,
    OutcomeModel,
    ServedQueries,
    SleepLevel,
)

TRACE_FIELDS = (
    "context_id", "query_id", "model", "sleep_action", "test_action", "sleep_input_tokens",
    "sleep_output_tokens", "test_input_tokens", "test_output_tokens", "correct", "latency_s",
)  # fmt: skip


def read_traces(path: str | Path) -> list[dict[str, Any]]:
    """Trace records from a JSONL file; each line names the file and line when it is bad."""
    p = Path(path)
    if not p.is_file():
        raise OutcomeError(f"{p}: no such trace file")
    from sleeptime._json import jsonl_objects

    records = []
    for lineno, rec in jsonl_objects(p.read_text(encoding="utf-8"), p, error=OutcomeError, what="a trace record"):  # fmt: skip
        missing = [
            f
            for f in ("sleep_action", "test_action", "correct", "test_output_tokens")
            if f not in rec
        ]
        if missing:
            raise OutcomeError(f"{p}:{lineno}: trace record lacks {missing}")
        records.append(rec)
    if not records:
        raise OutcomeError(f"{p}: no trace records")
    return records


def _logistic_fit(x: FloatArray, y: FloatArray, l2: float) -> tuple[float, float]:
    """Intercept and slope of a logistic regression of y (0..1) on x, by Newton's method."""
    theta = np.zeros(2)
    design = np.column_stack([np.ones_like(x), x])
    penalty = np.diag([1e-6, l2])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(design @ theta)))
        grad = design.T @ (p - y) + penalty @ theta
        hess = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return float(theta[0]), float(theta[1])


@dataclass
class TraceOutcomeModel(OutcomeModel):
    """Per (sleep action, test action): a logistic curve of correctness in one observed feature,
    and the mean tokens; fitted with :meth:`fit` from trace records of simulated or real runs."""

    sleep_levels: tuple[SleepLevel, ...]
    budgets: tuple[str, ...]
    feature: str | None = "observed_predictability"
    coefficients: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    test_tokens: dict[tuple[int, int], float] = field(default_factory=dict)
    sleep_tokens: FloatArray = field(default_factory=lambda: np.zeros(0))
    cprime_tokens: FloatArray = field(default_factory=lambda: np.zeros(0))
    feature_mean: float = 0.0
    feature_std: float = 1.0
    counts: dict[tuple[int, int], int] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        sleep_levels: Sequence[SleepLevel],
        budgets: Sequence[str],
        feature: str | None = "observed_predictability",
        l2: float = 1.0,
        cprime_fraction: float = 0.6,
    ) -> TraceOutcomeModel:
        """Fit from records with ``sleep_action`` and ``test_action`` (indexes or names of
        ``sleep_levels`` / ``budgets``), ``correct``, ``test_output_tokens``,
        ``sleep_output_tokens`` and, if given, the ``feature`` column. A record with
        ``served_with_sleep`` false counts as sleep action 0 (answered without ``c'``)."""
        rows = list(records)
        if not rows:
            raise OutcomeError("no trace records to fit")
        s_names = [s.name for s in sleep_levels]

        def index(value: Any, names: Sequence[str], what: str, n: int) -> int:
            if isinstance(value, str):
                if value not in names:
                    raise OutcomeError(
                        f"record {n}: unknown {what} {value!r}; known: {list(names)}"
                    )
                return names.index(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise OutcomeError(f"record {n}: {what} must be a name or an index, got {value!r}")
            if not 0 <= value < len(names):
                raise OutcomeError(
                    f"record {n}: {what} index {value} out of range 0..{len(names) - 1}"
                )
            return value

        def number(r: Mapping[str, Any], name: str, n: int, default: float | None = None) -> float:
            value = r.get(name, default)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise OutcomeError(f"record {n}: {name!r} must be a finite number, got {value!r}")
            return float(value)

        for n, r in enumerate(rows, start=1):
            if not isinstance(r, Mapping):
                raise OutcomeError(
                    f"record {n}: a trace record must be a mapping, got {type(r).__name__}"
                )
            if not isinstance(r.get("served_with_sleep", True), bool):
                raise OutcomeError(f"record {n}: 'served_with_sleep' must be true or false")
        s = np.array(
            [
                index(r.get("sleep_action"), s_names, "sleep action", n)
                for n, r in enumerate(rows, 1)
            ]
        )
        k = np.array(
            [
                index(r.get("test_action"), list(budgets), "test action", n)
                for n, r in enumerate(rows, 1)
            ]
        )
        served = np.array([r.get("served_with_sleep", True) for r in rows], dtype=bool)
        y = np.array([number(r, "correct", n) for n, r in enumerate(rows, 1)])
        if np.any((y < 0) | (y > 1)):
            raise OutcomeError("'correct' must be between 0 and 1 in every record")
        tokens = np.array([number(r, "test_output_tokens", n) for n, r in enumerate(rows, 1)])
        sleep_out = np.array(
            [number(r, "sleep_output_tokens", n, 0.0) for n, r in enumerate(rows, 1)]
        )
        if np.any(tokens < 0) or np.any(sleep_out < 0):
            raise OutcomeError("token counts must be >= 0 in every record")
        if feature is not None and all(feature in r for r in rows):
            x_raw = np.array([number(r, feature, n) for n, r in enumerate(rows, 1)])
        else:
            feature, x_raw = None, np.zeros(len(rows))
        mean, std = float(x_raw.mean()), float(x_raw.std()) or 1.0
        x = (x_raw - mean) / std
        effective = np.where(served, s, 0)
        model = cls(
            tuple(sleep_levels), tuple(budgets), feature, feature_mean=mean, feature_std=std
        )
        for key in sorted(set(zip(effective.tolist(), k.tolist(), strict=True))):
            mask = (effective == key[0]) & (k == key[1])
            model.coefficients[key] = _logistic_fit(x[mask], y[mask], l2)
            model.test_tokens[key] = float(tokens[mask].mean())
            model.counts[key] = int(mask.sum())
        per_level = np.zeros(len(sleep_levels))
        for i in range(len(sleep_levels)):
            if np.any(s == i):
                per_level[i] = float(sleep_out[s == i].mean())
        model.sleep_tokens = per_level
        units = np.array([lv.compute for lv in sleep_levels])
        per_unit = np.divide(per_level, units, out=np.zeros_like(per_level), where=units > 0)
        model.cprime_tokens = cprime_fraction * per_unit
        return model

    def _outcome(self, q: ServedQueries) -> Outcome:
        """:meth:`OutcomeModel.outcome` from the fitted curves: per query, the logistic curve
        of its (effective sleep level, budget) pair (sleep level 0 where not
        ``served_with_sleep``) at the standardized ``feature``, and the pair's mean test
        tokens; per context, the level's mean sleep tokens and ``c'`` size. The latents and
        ``cprime_only`` are not read. Raises OutcomeError when ``features`` lacks the model's
        feature or the traces hold no records of a pair asked for."""
        sleep_action, test_action, features = q.sleep_action, q.test_action, q.features
        n = sleep_action.shape[0]
        x = np.zeros(n)
        if self.feature is not None and n:
            if features is None or self.feature not in features:
                raise OutcomeError(
                    f"this outcome model needs the feature {self.feature!r} for each query"
                )
            x = (
                np.asarray(features[self.feature], dtype=np.float64) - self.feature_mean
            ) / self.feature_std
        effective = np.where(q.served_with_sleep, sleep_action, 0)
        logit = np.empty(n)
        tokens = np.empty(n)
        for (s, k), (a, b) in self.coefficients.items():
            mask = (effective == s) & (test_action == k)
            logit[mask] = a + b * x[mask]
            tokens[mask] = self.test_tokens[(s, k)]
        seen = np.zeros(n, dtype=bool)
        for s, k in self.coefficients:
            seen |= (effective == s) & (test_action == k)
        if not np.all(seen):
            i = int(np.argmin(seen))
            pair = (self.sleep_levels[effective[i]].name, self.budgets[test_action[i]])
            raise OutcomeError(
                f"the traces hold no records for the action pair {pair}; log some or pick another action"
            )
        p = 1 / (1 + np.exp(-logit))
        return Outcome(
            p,
            tokens,
            self.sleep_tokens[q.context_sleep_action],
            self.cprime_tokens[q.context_sleep_action],
        )

    def mean_accuracy(self, sleep_action: int, test_action: int) -> float:
        """Accuracy of an action pair at the mean feature value."""
        a, _ = self.coefficients[(sleep_action, test_action)]
        return 1 / (1 + math.exp(-a))
