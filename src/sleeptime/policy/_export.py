"""Export: distil the learned policy into trees and write the router artifact.

Why distil: the learned policy's gradient-boosting model costs hundreds of microseconds per
row in pure Python (150 trees for each of the action pairs), and a router decides in
microseconds. Its *decision* only needs the predicted chance of a correct answer under each
(sleep level, budget) pair, so one multi-output regression tree per decision (the per-query
one on query inputs, the per-context one on context inputs) is fitted to the learned policy's
own predictions on the training contexts. The cost-aware choice on top is unchanged and exact
(same cost tables, same ``lam``). Derived inputs (the predicted predictability, itself a model
of the other features) are folded into the trees, so the router only supplies raw features.

:class:`DistilledPolicy` is that exported policy inside the library (numpy, vectorized, a
:class:`~sleeptime.policy.Policy` the simulator replays); ``sleeptime.runtime`` evaluates the
same artifact with the standard library, with identical decisions (a parity test).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime import __version__
from sleeptime._atomic import atomic_write_text
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables, Environment, Policy
from sleeptime.policy._learned import (
    LearnedPolicy,
    choose_budget,
    choose_sleep,
    expected_prompt_tokens,
)
from sleeptime.runtime import (
    FEATURES_VERSION,
    FORMAT,
    SCHEMA_VERSION,
    feature_spec,
    validate_artifact,
)
from sleeptime.simulators import MultiModelOutcome, SimItems, split_action
from sleeptime.workloads import Workload

#: Features that are models of other features: folded into the distilled trees.
DERIVED_FEATURES = frozenset({"predicted_predictability", "predicted_predictability_cheap"})
#: Features of the question: unknown at sleep time (the learned policy imputes them).
QUESTION_FEATURES = frozenset({"logprob_mean", "n_tokens", "question_chars"})
#: Models that take a reasoning effort rather than a verbosity prompt.
REASONING_MODELS = frozenset({"o1", "o3-mini", "o4-mini", "deepseek-r1", "gpt-5", "gpt-5-mini"})
#: Verbosity prompts for models without a reasoning-effort knob, from terse to thorough.
VERBOSITY_PROMPTS = (
    "Answer with the final result only, no explanation.",
    "Answer with a short justification, then the final result.",
    "Think step by step, then give the final result.",
    "Think step by step in detail and check your work, then give the final result.",
    "Reason very thoroughly: consider alternatives, verify each step, then give the final result.",
)
ASSUMPTIONS = (
    "max_tokens is 2x the mean test-time tokens of the level in the paper's calibration (at "
    "least 64); verbosity prompts (non-reasoning models) and reasoning efforts (reasoning "
    "models) stand for the paper's budget levels in order; sleep-time work is one batch request "
    "with n parallel rewrites (or the sleep level's reasoning effort), max_tokens 2x the "
    "calibrated sleep-time tokens."
)


@dataclass(frozen=True)
class TreeModel:
    """A multi-output regression tree as arrays (leaves: ``feature == -1``)."""

    feature: IntArray
    threshold: FloatArray
    left: IntArray
    right: IntArray
    value: FloatArray  # (nodes, outputs); NaN at inner nodes

    @classmethod
    def from_sklearn(cls, estimator: Any) -> TreeModel:
        t = estimator.tree_
        leaf = t.children_left < 0
        # leaves hold chances of a correct answer: six decimals are plenty, and keep the JSON
        # small (the library and the runtime both read the rounded values)
        value: FloatArray = np.array(t.value[:, :, 0], dtype=np.float64).round(6)
        value[~leaf] = np.nan
        return cls(
            np.where(leaf, -1, t.feature).astype(np.int64),
            np.where(leaf, 0.0, t.threshold).astype(np.float64),
            np.where(leaf, 0, t.children_left).astype(np.int64),
            np.where(leaf, 0, t.children_right).astype(np.int64),
            value,
        )

    @property
    def n_leaves(self) -> int:
        return int((self.feature < 0).sum())

    def predict(self, X: FloatArray) -> FloatArray:
        """Leaf values for rows of ``X``: go left when ``x[feature] <= threshold`` (float64)."""
        X = np.asarray(X, dtype=np.float64)
        node = np.zeros(X.shape[0], dtype=np.int64)
        idx = np.arange(X.shape[0])
        while idx.size:
            f = self.feature[node[idx]]
            inner = f >= 0
            idx, f = idx[inner], f[inner]
            if not idx.size:
                break
            here = node[idx]
            left = X[idx, f] <= self.threshold[here]
            node[idx] = np.where(left, self.left[here], self.right[here])
        out: FloatArray = self.value[node]
        return out

    def to_json(self) -> dict[str, Any]:
        leaf = self.feature < 0
        return {
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": [
                row.tolist() if is_leaf else None
                for row, is_leaf in zip(self.value, leaf, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TreeModel:
        n_out = len(next(v for v in data["value"] if v is not None))
        value = np.array([v if v is not None else [math.nan] * n_out for v in data["value"]], dtype=np.float64)  # fmt: skip
        return cls(
            np.asarray(data["feature"], dtype=np.int64),
            np.asarray(data["threshold"], dtype=np.float64),
            np.asarray(data["left"], dtype=np.int64),
            np.asarray(data["right"], dtype=np.int64),
            value,
        )


class DistilledPolicy(Policy):
    """The exported policy: trees for P(correct) per action pair, then the exact cost-aware
    choice of :class:`LearnedPolicy` (same cost tables and ``lam``)."""

    def __init__(
        self,
        *,
        query_features: Sequence[str],
        context_features: Sequence[str],
        test_tree: TreeModel,
        sleep_tree: TreeModel,
        test_usd: FloatArray,
        sleep_usd: FloatArray,
        ready_share: FloatArray,
        lam: float,
        question_tokens: float,
        question_draws: int = 1,
        name: str = "learned-exported",
    ) -> None:
        self.query_features = tuple(query_features)
        self.context_features = tuple(context_features)
        self.test_tree, self.sleep_tree = test_tree, sleep_tree
        self.test_usd = np.asarray(test_usd, dtype=np.float64)
        self.sleep_usd = np.asarray(sleep_usd, dtype=np.float64)
        self.ready_share = np.asarray(ready_share, dtype=np.float64)
        self.lam = float(lam)
        self.question_tokens = float(question_tokens)
        self.question_draws = int(question_draws)
        self.name = name

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_sleep, n_budgets)``: the action pairs the cost tables and trees cover."""
        return int(self.test_usd.shape[0]), int(self.test_usd.shape[1])

    def _table(self, tree: TreeModel, X: FloatArray) -> FloatArray:
        n_s, n_b = self.shape
        out: FloatArray = tree.predict(X).reshape(-1, n_s, n_b).transpose(1, 2, 0)
        return out

    def _sleep_table(self, X: FloatArray) -> FloatArray:
        """``(draws, s, b, n)``: the sleep tree's outputs are draw-major."""
        n_s, n_b = self.shape
        out: FloatArray = (
            self.sleep_tree.predict(X)
            .reshape(-1, self.question_draws, n_s, n_b)
            .transpose(1, 2, 3, 0)
        )
        return out

    def decide_test_arrays(self, X: FloatArray, sleep_action: IntArray, ready: NDArray[np.bool_], prompt_tokens: FloatArray) -> IntArray:  # fmt: skip
        """Budgets for queries with input rows ``X`` (``(n, len(query_features))``), their
        context's sleep level and whether its ``c'`` is ready (both ``(n,)``) and their prompt
        length in tokens; shape ``(n,)``. The same choice as
        :meth:`LearnedPolicy.decide_test_arrays`, with the test tree's P(correct)."""
        s_eff = np.where(ready & (sleep_action > 0), sleep_action, 0).astype(np.int64)
        return choose_budget(self._table(self.test_tree, X), self.test_usd, s_eff, np.asarray(prompt_tokens, dtype=np.float64), self.lam)  # fmt: skip

    def decide_sleep_arrays(self, X: FloatArray, expected_queries: FloatArray, context_tokens: FloatArray) -> IntArray:  # fmt: skip
        """Sleep levels for contexts with input rows ``X`` (``(n, len(context_features))``),
        their expected number of queries and their length in tokens (both ``(n,)``); shape
        ``(n,)``. A query's prompt is taken as the context plus ``question_tokens``. The same
        choice as :meth:`LearnedPolicy.decide_sleep_arrays`, with the sleep tree's P(correct)
        per question draw."""
        context_tokens = np.asarray(context_tokens, dtype=np.float64)
        return choose_sleep(self._sleep_table(X), self.test_usd, self.sleep_usd, self.ready_share,
                            np.asarray(expected_queries, dtype=np.float64), context_tokens,
                            context_tokens + self.question_tokens, self.lam)  # fmt: skip

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        """The sleep level per context, shape ``(n_contexts,)``, from the context features
        named by ``context_features`` and ``expected_queries`` (:meth:`decide_sleep_arrays`);
        ``env`` is not read. Raises KeyError when a context feature is missing."""
        f = items.context_features
        X = np.column_stack([f[n] for n in self.context_features])
        return self.decide_sleep_arrays(X, f["expected_queries"], items.context_tokens)

    def decide_test(self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]) -> IntArray:  # fmt: skip
        """The budget per query, shape ``(n_queries,)``, from the query features named by
        ``query_features``, the context's ``sleep_action``, ``ready`` and the prompt length
        (:meth:`decide_test_arrays`); ``env`` is not read. Raises KeyError when a query feature
        is missing."""
        X = np.column_stack([items.features[n] for n in self.query_features])
        prompt = items.per_query(items.context_tokens) + items.question_tokens
        return self.decide_test_arrays(X, items.per_query(sleep_action), ready, prompt)


def input_features(policy_features: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(query inputs, context inputs) of the distilled trees: the policy's features without the
    derived ones; the context inputs also without the question's."""
    query = tuple(n for n in policy_features if n not in DERIVED_FEATURES)
    context = tuple(n for n in query if n not in QUESTION_FEATURES)
    return query, context


def distill(
    policy: LearnedPolicy,
    items: SimItems,
    *,
    transfer: SimItems | None = None,
    max_depth: int | None = 12,
    min_samples_leaf: int = 3,
    seed: int = 0,
) -> DistilledPolicy:
    """Fit the exported form of ``policy`` on ``items`` (its training contexts).

    ``transfer``: more items whose *features* join the set the trees are fitted on (the
    learned policy labels them; no outcome is read), typically the contexts and queries of the
    traffic the router will serve. Trees copy the learned policy well where they have seen
    inputs, and held-out templates can lie outside the training contexts' range (measured on the
    quickstart scenario: 84-90% agreement on held-out sleep levels from the training contexts
    alone, 97% with the served contexts' features).
    """
    from sklearn.tree import DecisionTreeRegressor

    names = policy._names()
    query, context = input_features(names)
    if transfer is not None:
        items = _stack_features(items, transfer, names)

    def fit(X: FloatArray, table: FloatArray) -> TreeModel:
        # table: (..., s, b, rows) -> one row of outputs per input row
        target = np.moveaxis(table, -1, 0).reshape(X.shape[0], -1)
        tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=seed)  # fmt: skip
        return TreeModel.from_sklearn(tree.fit(X, target))

    f, cf = items.features, items.context_features
    Fq, Fc = np.column_stack([f[n] for n in names]), np.column_stack([cf[n] for n in names])
    test_tree = fit(np.column_stack([f[n] for n in query]), policy.prediction_table(Fq))
    sleep_table = policy.context_prediction_table(Fc)  # (draws, s, b, contexts)
    sleep_tree = fit(np.column_stack([cf[n] for n in context]), sleep_table)
    test_usd, sleep_usd, ready_share = policy.cost_tables()
    question = expected_prompt_tokens(items) - items.context_tokens
    return DistilledPolicy(
        query_features=query, context_features=context, test_tree=test_tree, sleep_tree=sleep_tree,
        test_usd=test_usd, sleep_usd=sleep_usd, ready_share=ready_share, lam=policy.lam,
        question_tokens=float(question.mean()) if question.size else 1.0,
        question_draws=sleep_table.shape[0],
    )  # fmt: skip


def _stack_features(a: SimItems, b: SimItems, names: Sequence[str]) -> SimItems:
    """Items holding the features and lengths of ``a`` and then ``b``: only what distilling
    reads (the latents and arrival times are zeros)."""
    zeros = np.zeros(a.n_queries + b.n_queries)
    ctx_names = [n for n in (*names, "n_tokens") if n in a.context_features and n in b.context_features]  # fmt: skip
    return SimItems(
        np.concatenate([a.query_context, b.query_context + a.n_contexts]), zeros, zeros, zeros, zeros,
        np.concatenate([a.question_tokens, b.question_tokens]), np.concatenate([a.context_tokens, b.context_tokens]),
        {n: np.concatenate([a.features[n], b.features[n]]) for n in names},
        {n: np.concatenate([a.context_features[n], b.context_features[n]]) for n in dict.fromkeys(ctx_names)},
    )  # fmt: skip


def request_actions(env: Environment) -> dict[str, Any]:
    """The request parameters of every sleep level and budget for ``env``'s model; where the
    actions span several models, each action names its own (``model``) and takes that model's
    parameters (budget levels ranked within the model)."""
    outcome = env.outcome
    model = env.model
    test_models = outcome.test_models or (model,) * env.n_budgets
    tokens = outcome.tokens_test_only
    measured = outcome.budget_params  # a real run's own request parameters
    test = []
    for b, level in enumerate(outcome.budgets):
        m = test_models[b]
        n_b, rank = test_models.count(m), test_models[:b].count(m)
        # budget levels in order onto low / medium / high (evenly, when there are more or fewer)
        effort = ("low", "medium", "high")[round(rank * 2 / (n_b - 1)) if n_b > 1 else 1]
        max_tokens = None if tokens is None else max(64, math.ceil(2 * float(tokens[b])))
        if measured:
            used = measured[b]
            verbosity = used.get("verbosity")
            prompt = None if verbosity is None else VERBOSITY_PROMPTS[int(verbosity)]
            params = {"max_tokens": used.get("max_tokens"), "reasoning_effort": used.get("reasoning_effort"), "verbosity_prompt": prompt}  # fmt: skip
        elif m in REASONING_MODELS:
            params = {"max_tokens": max_tokens, "reasoning_effort": effort, "verbosity_prompt": None}  # fmt: skip
        else:
            prompt = VERBOSITY_PROMPTS[round(rank * (len(VERBOSITY_PROMPTS) - 1) / max(1, n_b - 1))]
            params = {"max_tokens": max_tokens, "reasoning_effort": None, "verbosity_prompt": prompt}  # fmt: skip
        test.append(
            {"level": level, "params": params, **({"model": m} if outcome.test_models else {})}
        )
    sleep = []
    for s_index, sleep_level in enumerate(outcome.sleep_levels):
        writer = outcome.sleep_models[s_index] if outcome.sleep_models else ""
        per_unit = outcome.members[writer].sleep_tokens_per_unit if isinstance(outcome, MultiModelOutcome) and writer else outcome.sleep_tokens_per_unit  # fmt: skip
        if sleep_level.compute == 0:
            params = {"n_rewrites": 0, "reasoning_effort": None, "max_tokens": 0, "batch": False}
        else:
            name = split_action(sleep_level.name)[0]
            rewrites = int(sleep_level.compute) if name.startswith("k") else 1
            sleep_effort = None if name.startswith("k") else name
            budget = (
                None if per_unit is None else math.ceil(2 * float(per_unit) * sleep_level.compute)
            )
            params = {"n_rewrites": rewrites, "reasoning_effort": sleep_effort, "max_tokens": budget, "batch": True}  # fmt: skip
        sleep.append({"level": sleep_level.name, "params": params, **({"model": writer or None} if outcome.sleep_models else {})})  # fmt: skip
    return {
        "model": model,
        "view": "both",
        "assumptions": ASSUMPTIONS,
        "sleep": sleep,
        "test": test,
    }


def _features_json(names: Sequence[str]) -> list[dict[str, str]]:
    out = []
    for n in names:
        source, definition = feature_spec(n)
        out.append({"name": n, "source": source, "definition": definition})
    return out


def policy_artifact(
    policy: DistilledPolicy,
    env: Environment,
    *,
    config: Mapping[str, Any],
    mlflow_run_id: str | None,
    chars_per_token: float,
    fidelity: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The artifact (plain JSON data) of a distilled policy; validated before it is returned."""
    prices = env.prices
    price = prices.price(env.model)
    artifact = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "package_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mlflow_run_id": mlflow_run_id,
        "config": json.loads(json.dumps(dict(config), default=str)),
        "fidelity": dict(fidelity or {}),
        "price_book": {
            "name": str(getattr(prices, "source", "builtin")),
            "version": prices.version,
            "model": env.model,
            "input_usd_per_mtok": price.input_usd_per_mtok,
            "output_usd_per_mtok": price.output_usd_per_mtok,
            "batch_discount": price.batch_discount,
            **(
                {
                    "models": {
                        m: {
                            "input_usd_per_mtok": prices.price(m).input_usd_per_mtok,
                            "output_usd_per_mtok": prices.price(m).output_usd_per_mtok,
                            "batch_discount": prices.price(m).batch_discount,
                        }
                        for m in env.models
                    }
                }
                if len(env.models) > 1
                else {}
            ),
        },
        "features": {
            "version": FEATURES_VERSION,
            "query": _features_json(policy.query_features),
            "context": _features_json(policy.context_features),
        },
        "decision": {
            "sleep_levels": [s.name for s in env.outcome.sleep_levels],
            "budgets": list(env.outcome.budgets),
            "lam": policy.lam,
            "test_usd": policy.test_usd.tolist(),
            "sleep_usd": policy.sleep_usd.tolist(),
            "ready_share": policy.ready_share.tolist(),
            "question_tokens": policy.question_tokens,
            "chars_per_token": float(chars_per_token),
            "question_draws": policy.question_draws,
            "model": {
                "kind": "tree",
                "test": policy.test_tree.to_json(),
                "sleep": policy.sleep_tree.to_json(),
            },
        },
        "actions": request_actions(env),
    }
    validate_artifact(artifact, "<new artifact>")
    return artifact


def write_artifact(artifact: Mapping[str, Any], path: str | Path) -> Path:
    """Write the artifact atomically (``allow_nan=False``: a NaN never reaches a router)."""
    validate_artifact(artifact, str(path))
    text = json.dumps(artifact, allow_nan=False, separators=(",", ":"))
    atomic_write_text(Path(path), text + "\n")
    return Path(path)


def distilled_from_artifact(artifact: Mapping[str, Any]) -> DistilledPolicy:
    """The library form of an artifact (to replay it in the simulator)."""
    validate_artifact(artifact)
    dec = artifact["decision"]
    return DistilledPolicy(
        query_features=[f["name"] for f in artifact["features"]["query"]],
        context_features=[f["name"] for f in artifact["features"]["context"]],
        test_tree=TreeModel.from_json(dec["model"]["test"]), sleep_tree=TreeModel.from_json(dec["model"]["sleep"]),
        test_usd=np.asarray(dec["test_usd"]), sleep_usd=np.asarray(dec["sleep_usd"]),
        ready_share=np.asarray(dec["ready_share"]), lam=dec["lam"], question_tokens=dec["question_tokens"],
        question_draws=dec["question_draws"],
    )  # fmt: skip


def chars_per_token(workload: Workload, items: SimItems) -> float:
    """Characters per prompt token on ``items``' contexts of ``workload`` (a router estimates a
    prompt's tokens from its text with it); 4.0 where there is nothing to measure."""
    texts = {c.context_id: c.context for c in workload.contexts}
    ids = items.context_ids or ()
    chars = sum(len(texts[i]) for i in ids)
    tokens = float(items.context_tokens.sum())
    return chars / tokens if tokens > 0 and chars > 0 else 4.0


def fidelity(
    env: Environment,
    items: SimItems,
    learned: LearnedPolicy,
    distilled: DistilledPolicy,
    tables: ActionTables | None = None,
) -> dict[str, Any]:
    """How the exported (distilled) policy compares with the learned one on ``items`` (held-out
    contexts): agreement of sleep decisions and of budgets given the same sleep decisions,
    accuracy and USD of both, and the exported policy's shares of each action."""
    tables = env.action_tables(items) if tables is None else tables
    s1, t1 = learned.decide(items, env)
    s2, t2 = distilled.decide(items, env)
    same_sleep_budgets = distilled.decide_test(items, env, s1, env.ready(items, s1))
    acc1, usd1 = tables.evaluate(s1, t1)
    acc2, usd2 = tables.evaluate(s2, t2)
    return {
        "sleep_agreement": float(np.mean(s1 == s2)),
        "budget_agreement": float(np.mean(t1 == same_sleep_budgets)),
        "learned_accuracy": acc1,
        "learned_usd_per_1k": 1000 * usd1,
        "exported_accuracy": acc2,
        "exported_usd_per_1k": 1000 * usd2,
        "held_out_contexts": float(items.n_contexts),
        "held_out_queries": float(items.n_queries),
        "budget_shares": {
            name: float(np.mean(t2 == b)) for b, name in enumerate(env.outcome.budgets)
        },
        "sleep_shares": {
            lv.name: float(np.mean(s2 == s)) for s, lv in enumerate(env.outcome.sleep_levels)
        },
    }
