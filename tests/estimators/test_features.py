from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import sleeptime.runtime._features as cheap_module
from sleeptime.estimators import (
    CHEAP_FEATURES,
    PredictabilityPredictor,
    cheap_features,
    evaluate_predictor,
    predictability_quintiles,
)


def test_cheap_features_values() -> None:
    f = cheap_features("Ann buys 3 pens at $2 each. If she pays with $10, what is her change?")
    assert list(f) == list(CHEAP_FEATURES)
    assert f["n_quantities"] == 3 and f["n_distinct_quantities"] == 3
    assert f["n_sentences"] == 2 and f["n_currency"] == 2 and f["n_conditionals"] == 2  # each, if
    assert f["n_words"] == 16
    assert f["numeric_density"] == pytest.approx(3 / 16)
    assert f["char_entropy"] > 3
    assert cheap_features("aaaa")["char_entropy"] == 0.0
    assert cheap_features("a b")["word_entropy"] == pytest.approx(1.0)
    assert all(v == 0 for k, v in cheap_features("").items())


def test_cheap_features_import_only_the_standard_library() -> None:
    tree = ast.parse(Path(cheap_module.__file__).read_text())
    imported = {
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    # the standard library, and the runtime's own exceptions (standard library only too)
    assert imported <= {"__future__", "math", "re", "collections", "sleeptime.runtime._errors"}


def test_quintiles_bin_by_rank() -> None:
    values = np.arange(100, dtype=float)[::-1]
    bins = predictability_quintiles(values)
    assert np.bincount(bins)[1:].tolist() == [20] * 5
    assert bins[values.argmax()] == 5 and bins[values.argmin()] == 1
    assert predictability_quintiles([1.0, 1.0, 1.0, 1.0, 1.0]).tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="NaN"):
        predictability_quintiles([1.0, math.nan])


@parametrize_with_checks([PredictabilityPredictor(max_iter=20)])
def test_predictor_follows_the_estimator_contract(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_predictor_generalises_across_groups() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = 2 * X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=600)
    groups = np.repeat(np.arange(30), 20)
    report = evaluate_predictor(X, y, groups, seed=1)
    assert report["spearman"] > 0.8
    assert report["n_train_contexts"] + report["n_test_contexts"] == 600
    with pytest.raises(ValueError, match="two groups"):
        evaluate_predictor(X, y, np.zeros(600), seed=1)


@pytest.mark.slow
def test_context_only_predictor_on_scored_builtin_workload(scorer: object) -> None:
    """Real scores of the built-in workload: the context-only predictor ranks held-out templates."""
    from sleeptime.estimators import LM_FEATURES, score_workload
    from sleeptime.workloads import generate_workload

    rows = score_workload(generate_workload(210, seed=2), scorer, progress=False)  # type: ignore[arg-type]
    names = [*LM_FEATURES, *CHEAP_FEATURES]
    by_ctx: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_ctx.setdefault(str(r["context_id"]), []).append(r)
    X = np.array([[float(g[0][n]) for n in names] for g in by_ctx.values()])  # type: ignore[arg-type]
    y = np.array([np.mean([float(r["logprob_mean"]) for r in g]) for g in by_ctx.values()])  # type: ignore[arg-type]
    templates = [str(g[0]["template"]) for g in by_ctx.values()]
    report = evaluate_predictor(X, y, templates, seed=0)
    print({k: v for k, v in report.items() if k != "model"})
    assert report["n_test_groups"] >= 5
    assert report["spearman"] > 0.3
