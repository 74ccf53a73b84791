"""The update loop on a router's own logs (``sleeptime update``): candidate policies built from
a decision log and its outcomes, each estimated off-policy, the next policy written only when
the estimate admits it.

The log's contexts are split in two at random (``seed``). On one half the candidates are
built, in the artifact's own terms (the trees a router reads and the cost lines it prices
with):

- ``repriced``: the current policy with the cost lines the log measures: per (effective sleep
  level, budget) pair with ``min_rows`` answered queries, a least-squares line of the answer's
  USD over its prompt tokens; per sleep level with ``min_rows`` contexts, the notes' USD over
  the context's tokens; elsewhere the current line scaled by how far the logged costs moved
  from what it expected (what a price change alone asks);
- ``refit``: those cost lines, and both trees refitted on doubly robust targets: for every
  logged query and every (level, budget) pair, a cross-fitted outcome model's prediction, plus
  at the logged pair the prediction's error weighted by the inverse propensity (capped at
  ``max_weight``: a little bias for far less variance); the sleep tree reads a context's mean
  target per pair (one question draw);
- any candidate the user brings (an artifact trained elsewhere).

On the other half the current policy and every candidate are estimated by doubly robust: the
value ``accuracy - lam * USD`` per query (the outcome each answered query contributes is its
reward less ``lam`` times its USD, its share of its context's notes included), with a
percentile interval over contexts. The candidate with the highest lower bound is admitted
where that bound beats the current policy's estimate; its artifact records its parent, the
logs and the estimate that admitted it. Measured where the log is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from sleeptime import __version__
from sleeptime._json import AsJson
from sleeptime.policy._features import _line
from sleeptime.policy._logs import (
    CHUNK,
    DM_ROWS,
    JoinedLog,
    _evaluation,
    _floats,
    _indexes,
    _need,
    _Part,
    _ready,
)
from sleeptime.policy._offpolicy import outcome_model_params
from sleeptime.runtime import RuntimePolicy


@dataclass(frozen=True)
class ValueEstimate(AsJson):
    """A policy's doubly robust estimate on the held-out half of the log: the value
    ``accuracy - lam * USD`` per query with its 95% interval over contexts, the USD per query,
    the accuracy they imply (``value + lam * usd``), the share of the logged decisions it
    agrees with and the effective sample size of its importance weights."""

    value: float
    value_ci95: tuple[float, float]
    usd_per_query: float
    accuracy: float
    matched: float
    effective_sample_size: float


@dataclass(frozen=True)
class LogUpdate(AsJson):
    """One turn of the update loop on logs: the estimates, the candidate admitted (``""``:
    none, the current policy stays) and what they were drawn from."""

    admitted: str
    lam: float
    current: ValueEstimate
    candidates: dict[str, ValueEstimate]
    parent: str
    logs: tuple[str, ...]
    queries: int
    fit_contexts: int
    estimate_contexts: int
    seed: int


def subset_joined(log: JoinedLog, rows: Any) -> JoinedLog:
    """The rows ``rows`` (a boolean mask) of ``log``, its contexts renumbered."""
    import pyarrow as pa

    _, context = np.unique(log.context[rows], return_inverse=True)
    return replace(log, table=log.table.filter(pa.array(rows)), context=context.astype(np.int64),
                   propensity=log.propensity[rows], reward=log.reward[rows], cost=log.cost[rows])  # fmt: skip


def _levels(log: JoinedLog, current: RuntimePolicy) -> tuple[Any, Any, Any]:
    """Per row: the effective sleep level (the context's, where its notes were ready), the
    budget and the logged sleep level, in the current policy's indexes."""
    t = log.table
    s_log = _indexes(t, "sleep.action", current.sleep_levels, "sleep level", log.source)
    b_log = _indexes(t, "action", current.budgets, "budget", log.source)
    return np.where(_ready(t), s_log, 0), b_log, s_log


def log_cost_lines(log: JoinedLog, current: RuntimePolicy, *, min_rows: int = 30) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """The cost lines ``log`` measures, in the artifact's form (see the module): ``test_usd``
    ``[level][budget] = (usd0, usd per prompt token)`` and ``sleep_usd[level]``."""
    dec = current.artifact["decision"]
    test0, sleep0 = np.asarray(dec["test_usd"], dtype=np.float64), np.asarray(dec["sleep_usd"], dtype=np.float64)  # fmt: skip
    s_eff, b, s_log = _levels(log, current)
    t = log.table
    prompt, usd = _floats(t, "tokens"), _floats(t, "usd")
    # the answer's own USD where the outcomes say it (a trace's test_usd), else the whole
    answer = np.where(np.isfinite(own := _floats(t, "test_usd")), own, usd) if "test_usd" in t.column_names else usd  # fmt: skip
    expected = test0[s_eff, b, 0] + test0[s_eff, b, 1] * prompt
    factor = float(answer.sum() / expected.sum()) if expected.sum() > 0 else 1.0
    test = test0 * factor
    for s in range(test.shape[0]):
        for k in range(test.shape[1]):
            rows = (s_eff == s) & (b == k)
            if rows.sum() >= min_rows:
                test[s, k] = _line(prompt[rows], answer[rows])
    sleep = sleep0 * factor
    column = next((c for c in ("sleep.usd", "sleep_usd") if c in t.column_names), None)
    if column is not None:  # the notes' USD: the sleep decision's outcome, or a trace's sleep_usd
        first = np.unique(log.context, return_index=True)[1]  # one row per context
        notes, tokens, level = np.nan_to_num(_floats(t, column))[first], _floats(t, "sleep.tokens")[first], s_log[first]  # fmt: skip
        ran = level > 0
        expected_notes = sleep0[level[ran], 0] + sleep0[level[ran], 1] * tokens[ran]
        if expected_notes.sum() > 0:
            sleep = sleep0 * float(notes[ran].sum() / expected_notes.sum())
        for s in range(1, sleep.shape[0]):
            rows = level == s
            if rows.sum() >= min_rows:
                sleep[s] = _line(tokens[rows], notes[rows])
    sleep[0] = 0.0
    return test.tolist(), sleep.tolist()


def refit_trees(log: JoinedLog, current: RuntimePolicy, *, seed: int = 0, max_weight: float = 20.0,
                max_depth: int = 4, min_leaf: int = 20) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """The test and sleep trees refitted on doubly robust targets (see the module), in the
    artifact's form, reading the current policy's features."""
    from sklearn.tree import DecisionTreeRegressor

    from sleeptime._boosting import boosting_regressor
    from sleeptime.policy._export import TreeModel

    n_s, n_b = len(current.sleep_levels), len(current.budgets)
    s_eff, b_log, _ = _levels(log, current)
    t = log.table
    xq = np.column_stack([_need(t, f, log.source) for f in current.query_features]) if current.query_features else np.zeros((log.n, 0))  # fmt: skip
    tokens = _floats(log.table, "tokens")
    n = log.n
    fold = np.random.default_rng(seed).integers(0, 2, size=int(log.context.max()) + 1)[log.context]

    def rows(s: Any, b: Any) -> Any:
        return np.column_stack([xq, tokens, s, b])

    pred = np.zeros((n, n_s * n_b))
    for f in range(2):
        train, held = fold != f, fold == f
        if not held.any():
            continue
        fit_on = train if train.any() else held
        model = boosting_regressor(**outcome_model_params(seed)).fit(rows(s_eff, b_log)[fit_on], log.reward[fit_on])  # fmt: skip
        for s in range(n_s):
            for k in range(n_b):
                pred[held, s * n_b + k] = model.predict(rows(np.full(n, s), np.full(n, k))[held])
    target = pred.copy()
    at = s_eff * n_b + b_log
    weight = np.minimum(1.0 / log.propensity, max_weight)
    target[np.arange(n), at] += weight * (log.reward - pred[np.arange(n), at])

    def tree(x: Any, y: Any) -> dict[str, Any]:
        if x.shape[1] == 0:  # a policy that reads no feature: one leaf
            x = np.zeros((x.shape[0], 1))
        fitted = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min(min_leaf, max(1, x.shape[0] // 2)),
                                       random_state=seed).fit(x, np.clip(y, 0.0, 1.0))  # fmt: skip
        return TreeModel.from_sklearn(fitted).to_json()

    sums = np.zeros((int(log.context.max()) + 1, n_s * n_b))
    np.add.at(sums, log.context, target)
    per_context = sums / np.bincount(log.context)[:, None]
    first = np.unique(log.context, return_index=True)[1]
    xs = np.column_stack([_need(t, f, log.source, sleep=True)[first] for f in current.context_features_used]) if current.context_features_used else np.zeros((first.size, 0))  # fmt: skip
    draws = current.question_draws
    return tree(xq, target), tree(xs, np.tile(per_context, (1, draws)))


def _artifact(current: RuntimePolicy, lam: float, test_usd: list[Any], sleep_usd: list[Any],
              trees: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    a = copy.deepcopy(dict(current.artifact))
    dec = a["decision"]
    dec["lam"], dec["test_usd"], dec["sleep_usd"] = float(lam), test_usd, sleep_usd
    if trees is not None:
        dec["model"] = {"kind": "tree", "test": trees[0], "sleep": trees[1]}
        a["fidelity"] = {}  # no distillation: the trees are the policy
    a["package_version"] = __version__
    a["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return a


def _value(valued: JoinedLog, policy: RuntimePolicy, lam: float, models: dict[tuple[str, ...], Any], *, n_boot: int, seed: int) -> ValueEstimate:  # fmt: skip
    """The doubly robust estimate of ``policy`` on ``valued`` (a log whose rewards are the
    values ``reward - lam * usd``). Its outcome models read the log, the logged actions and the
    policy's query features, not its decisions: fitted once per feature set (``models``)."""
    part = _Part(valued, policy, seed)
    if policy.query_features not in models:
        models[policy.query_features] = part.fit(("dr",), DM_ROWS, seed)
    sums, w_sum, w_sq, matched = part.sums(models[policy.query_features], ("dr",), CHUNK)
    e = _evaluation("", valued.source, sums, w_sum, w_sq, valued.n, valued.dropped, matched, n_boot, seed).estimates["dr"]  # fmt: skip
    return ValueEstimate(e.reward, e.reward_ci95, e.cost, e.reward + lam * e.cost, matched / valued.n, e.effective_sample_size)  # fmt: skip


def update_from_logs(log: JoinedLog, current: RuntimePolicy, *, candidates: Mapping[str, RuntimePolicy] | None = None,
                     lam: float | None = None, refit: bool = True, seed: int = 0, n_boot: int = 500, min_rows: int = 30,
                     logs: Sequence[str] = ()) -> tuple[dict[str, Any] | None, LogUpdate]:  # fmt: skip
    """One turn of the update loop (see the module): the artifact to serve next (None where no
    candidate is admitted) and the decision. ``lam``: the operating point (default the current
    policy's); ``candidates``: artifacts brought from elsewhere, weighed beside ``repriced`` and
    (with ``refit``) ``refit``."""
    lam = current.lam if lam is None else float(lam)
    n_ctx = int(log.context.max()) + 1
    half = np.random.default_rng(seed).uniform(size=n_ctx) < 0.5
    if half.all() or not half.any():
        half[: n_ctx // 2], half[n_ctx // 2 :] = True, False
    fit, held = subset_joined(log, half[log.context]), subset_joined(log, ~half[log.context])
    test_usd, sleep_usd = log_cost_lines(fit, current, min_rows=min_rows)
    built = {"repriced": _artifact(current, lam, test_usd, sleep_usd)}
    if refit:
        built["refit"] = _artifact(
            current, lam, test_usd, sleep_usd, refit_trees(fit, current, seed=seed)
        )
    policies = {name: RuntimePolicy(a, source=f"<{name}>") for name, a in built.items()}
    policies.update(candidates or {})
    valued = replace(held, reward=held.reward - lam * held.cost)
    models: dict[tuple[str, ...], Any] = {}
    now = _value(valued, current, lam, models, n_boot=n_boot, seed=seed)
    values = {name: _value(valued, p, lam, models, n_boot=n_boot, seed=seed) for name, p in policies.items()}  # fmt: skip
    best = max(values, key=lambda k: values[k].value_ci95[0])
    admitted = best if values[best].value_ci95[0] > now.value else ""
    decision = LogUpdate(admitted, lam, now, values, current.policy_id, tuple(logs), log.n, int(half.sum()), int((~half).sum()), seed)  # fmt: skip
    if not admitted:
        return None, decision
    artifact = copy.deepcopy(dict(policies[admitted].artifact))
    artifact["config"] = {**artifact.get("config", {}), "update": {
        "parent": current.policy_id, "parent_source": current.source, "candidate": admitted, "logs": list(logs),
        "queries": log.n, "estimate": values[admitted].to_json(), "current_estimate": now.to_json(), "lam": lam, "seed": seed,
    }}  # fmt: skip
    return artifact, decision
