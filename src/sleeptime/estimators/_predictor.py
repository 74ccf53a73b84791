"""A context-only predictor of predictability: what mean log p(q | c) will a context's future
questions have, judged from the context alone (at sleep time, before any question)?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sleeptime._boosting import boosting_regressor, keep_params


class PredictabilityPredictor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Gradient-boosted regression of a context's mean question log-prob on its features.

    Parameters are those of :class:`sklearn.ensemble.HistGradientBoostingRegressor` that matter
    here. ``X``: context features, shape ``(n_contexts, n_features)``; ``y``: the mean per-token
    log p(q | c) of each context's questions, in nats.
    """

    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 10,
        l2_regularization: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        keep_params(self, locals())

    def fit(self, X: ArrayLike, y: ArrayLike) -> PredictabilityPredictor:
        """Fit the regressor on context features ``X``, ``(n_contexts, n_features)``, and the
        mean question log-prob ``y`` (nats per token), ``(n_contexts,)``; returns ``self``."""
        X_arr, y_arr = validate_data(self, X, y, y_numeric=True)
        self.model_ = boosting_regressor(self).fit(X_arr, y_arr)
        self.n_iter_ = self.model_.n_iter_
        return self

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The predicted mean question log-prob (nats per token) per row of ``X``, shape
        ``(n_contexts,)``; NotFittedError before :meth:`fit`."""
        check_is_fitted(self, "model_")
        X_arr = validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X_arr), dtype=np.float64)


def evaluate_predictor(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    groups: Sequence[Any],
    *,
    test_size: float = 0.3,
    seed: int = 0,
    predictor: PredictabilityPredictor | None = None,
) -> dict[str, Any]:
    """Fit on some groups (e.g. templates), report the Spearman correlation on the others.

    Splitting by group keeps every template either in training or in the test set, so the
    correlation measures generalisation to new kinds of context, not memorised templates.
    """
    from scipy.stats import spearmanr
    from sklearn.base import clone
    from sklearn.model_selection import GroupShuffleSplit

    groups_arr = np.asarray(groups)
    if len(np.unique(groups_arr)) < 2:
        raise ValueError("need contexts from at least two groups (templates) to hold some out")
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(X, y, groups_arr))
    model = clone(predictor or PredictabilityPredictor(random_state=seed)).fit(X[train], y[train])
    pred = model.predict(X[test])
    rho = float(spearmanr(pred, y[test]).statistic)
    return {
        "spearman": rho,
        "n_train_contexts": int(train.size),
        "n_test_contexts": int(test.size),
        "n_test_groups": len(np.unique(groups_arr[test])),
        "model": model,
    }
