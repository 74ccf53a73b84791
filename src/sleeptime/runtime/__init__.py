"""Decide sleep-time and test-time compute in a production router, with the standard library only.

This package imports nothing outside the standard library (no numpy, scikit-learn or torch; a
test checks it), so a router can vendor it or install sleeptime without its extras::

    from sleeptime.runtime import RuntimePolicy

    policy = RuntimePolicy.load("policy.json")
    feats = policy.context_features(context_text)          # once per context
    plan = policy.decide_sleep(feats, expected_queries=4.0, context=context_text)
    params = policy.decide_test({**feats, "expected_queries": 4.0}, question=question,
                                sleep_level=plan["sleep_level"], c_prime_ready=True)

Loading an artifact never executes anything from it; a bad file raises :class:`ArtifactError`
naming the field at fault. Copied out alone (``sleeptime/runtime/`` in a ``sleeptime`` folder
without the rest of the package), it works the same (a test checks it).
"""

from __future__ import annotations

from sleeptime.runtime._artifact import (
    FORMAT,
    SCHEMA_VERSION,
    load_artifact,
    parse_artifact,
    schema_path,
    validate_artifact,
)
from sleeptime.runtime._errors import ArtifactError, DecisionError, SleeptimeError
from sleeptime.runtime._explore import Exploration
from sleeptime.runtime._features import (
    CHEAP_FEATURES,
    FEATURE_SPECS,
    FEATURES_VERSION,
    cheap_features,
    feature_spec,
    question_features,
)
from sleeptime.runtime._log import LOG_FIELDS, LOG_SCHEMA, DecisionLog, decision_row, policy_id
from sleeptime.runtime._policy import RuntimePolicy

__all__ = [
    "CHEAP_FEATURES",
    "FEATURES_VERSION",
    "FEATURE_SPECS",
    "FORMAT",
    "LOG_FIELDS",
    "LOG_SCHEMA",
    "SCHEMA_VERSION",
    "ArtifactError",
    "DecisionError",
    "DecisionLog",
    "Exploration",
    "RuntimePolicy",
    "SleeptimeError",
    "cheap_features",
    "decision_row",
    "feature_spec",
    "load_artifact",
    "parse_artifact",
    "policy_id",
    "question_features",
    "schema_path",
    "validate_artifact",
]
