"""Estimators: log p(question | context) under a causal LM, and context features.

``CausalLMScorer`` and the predictor import torch, transformers and scikit-learn only when
used; :func:`cheap_features` is pure Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sleeptime.estimators._cheap import CHEAP_FEATURES, cheap_features
from sleeptime.estimators._quintiles import predictability_quintiles

if TYPE_CHECKING:
    from sleeptime.estimators._cache import FeatureCache
    from sleeptime.estimators._models import (
        DEFAULT_MODEL,
        ModelLoadError,
        cache_dir,
        default_gguf_path,
    )
    from sleeptime.estimators._predictor import PredictabilityPredictor, evaluate_predictor
    from sleeptime.estimators._scorer import LM_FEATURES, SEPARATOR, CausalLMScorer, QuestionScore
    from sleeptime.estimators._workload import (
        SCORE_COLUMNS,
        context_matrix,
        read_table,
        score_workload,
        write_table,
    )

_LAZY = {
    "FeatureCache": "_cache",
    "DEFAULT_MODEL": "_models",
    "ModelLoadError": "_models",
    "default_gguf_path": "_models",
    "cache_dir": "_models",
    "PredictabilityPredictor": "_predictor",
    "evaluate_predictor": "_predictor",
    "LM_FEATURES": "_scorer",
    "SEPARATOR": "_scorer",
    "CausalLMScorer": "_scorer",
    "QuestionScore": "_scorer",
    "SCORE_COLUMNS": "_workload",
    "read_table": "_workload",
    "score_workload": "_workload",
    "context_matrix": "_workload",
    "write_table": "_workload",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"sleeptime.estimators.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'sleeptime.estimators' has no attribute {name!r}")


__all__ = [
    "CHEAP_FEATURES",
    "DEFAULT_MODEL",
    "LM_FEATURES",
    "SCORE_COLUMNS",
    "SEPARATOR",
    "CausalLMScorer",
    "FeatureCache",
    "ModelLoadError",
    "PredictabilityPredictor",
    "QuestionScore",
    "cache_dir",
    "cheap_features",
    "context_matrix",
    "default_gguf_path",
    "evaluate_predictor",
    "predictability_quintiles",
    "read_table",
    "score_workload",
    "write_table",
]
