"""The gradient-boosted regressor that the predictability predictor and the learned policy
share: one list of its parameters and one way to build it from an estimator that holds them."""

from __future__ import annotations

from typing import Any

#: the parameters of :class:`sklearn.ensemble.HistGradientBoostingRegressor` that our estimators expose
BOOSTING_PARAMS = (
    "max_iter", "learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization", "random_state",
)  # fmt: skip


def keep_params(estimator: Any, params: dict[str, Any]) -> None:
    """Store each ``__init__`` argument on ``estimator`` unchanged (scikit-learn's rule for
    ``get_params``); ``params`` is the ``__init__``'s ``locals()``."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def boosting_regressor(estimator: Any = None, **params: Any) -> Any:
    """A new, unfitted ``HistGradientBoostingRegressor`` with ``estimator``'s boosting
    parameters, or with ``params`` (scikit-learn's defaults for any not given)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    if estimator is not None:
        params = {name: getattr(estimator, name) for name in BOOSTING_PARAMS}
    return HistGradientBoostingRegressor(**params)
