"""Deciding with an exported policy: pure Python, a few microseconds per decision.

The decision model is a regression tree per decision (distilled from the learned policy): its
leaves hold the predicted chance of a correct answer under every (sleep level, budget) pair.
The choice is then the learned policy's own cost-aware rule, priced with the artifact's cost
tables and ``lam``:

- per query, the budget maximizing ``p(s, b) - lam * (usd0(s, b) + usd1(s, b) * prompt_tokens)``
  at the effective sleep level ``s`` (the context's level when its ``c'`` is ready, else none);
- per context, the sleep level maximizing the expected value of its future queries less the
  sleep-time cost (see ``sleeptime.policy._learned``).

The arithmetic is the same, operation for operation, as the library's vectorized version, so
both give identical decisions (a parity test checks it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleeptime.runtime._artifact import load_artifact, parse_artifact, validate_artifact
from sleeptime.runtime._errors import DecisionError
from sleeptime.runtime._explore import Exploration
from sleeptime.runtime._features import CHEAP_FEATURES, cheap_features, question_features
from sleeptime.runtime._log import policy_id


class _Tree:
    __slots__ = ("feature", "left", "right", "threshold", "value")

    def __init__(self, tree: Mapping[str, Any]) -> None:
        self.feature: list[int] = list(tree["feature"])
        self.threshold: list[float] = [float(t) for t in tree["threshold"]]
        self.left: list[int] = list(tree["left"])
        self.right: list[int] = list(tree["right"])
        self.value: list[tuple[float, ...] | None] = [
            None if f >= 0 else tuple(float(v) for v in vals)
            for f, vals in zip(self.feature, tree["value"], strict=True)
        ]

    def leaf(self, x: list[float]) -> tuple[float, ...]:
        feature, threshold, left, right = self.feature, self.threshold, self.left, self.right
        node = 0
        f = feature[0]
        while f >= 0:
            node = left[node] if x[f] <= threshold[node] else right[node]
            f = feature[node]
        out = self.value[node]
        assert out is not None
        return out


class RuntimePolicy:
    """An exported allocation policy, loaded from its JSON artifact.

    Use :meth:`decide_sleep` when a context is ingested (before any question) and
    :meth:`decide_test` per query. Each returns the request parameters to use. Features named
    with source ``caller`` in the artifact (LM-derived ones, ``expected_queries``) come from the
    caller; the others are computed here from the text, or taken from ``features`` when given
    (compute them once per context with :meth:`context_features`).
    """

    def __init__(self, artifact: Mapping[str, Any], *, source: str = "<artifact>", validate: bool = True,
                 exploration: Exploration | None = None) -> None:  # fmt: skip
        if validate:
            validate_artifact(artifact, source)
        self.artifact = artifact
        self.source = source
        #: exploration around the policy's decisions (None: its own, always); with one, every
        #: decision also names its ``propensity`` and the policy's own choice (``greedy``)
        self.exploration = exploration
        self._policy_id: str | None = None
        feats, dec, actions = artifact["features"], artifact["decision"], artifact["actions"]
        self.query_features: tuple[str, ...] = tuple(f["name"] for f in feats["query"])
        self.context_features_used: tuple[str, ...] = tuple(f["name"] for f in feats["context"])
        self._sources = {f["name"]: f["source"] for f in (*feats["query"], *feats["context"])}
        self.sleep_levels: tuple[str, ...] = tuple(dec["sleep_levels"])
        self.budgets: tuple[str, ...] = tuple(dec["budgets"])
        self._sleep_index = {name: i for i, name in enumerate(self.sleep_levels)}
        self.lam = float(dec["lam"])
        self._n_b = len(self.budgets)
        self._test_usd = [[(float(a), float(b)) for a, b in row] for row in dec["test_usd"]]
        self._sleep_usd = [(float(a), float(b)) for a, b in dec["sleep_usd"]]
        self._ready_share = [float(x) for x in dec["ready_share"]]
        self.question_tokens = float(dec["question_tokens"])
        self.chars_per_token = float(dec["chars_per_token"])
        self.question_draws = int(dec["question_draws"])
        self._test_tree = _Tree(dec["model"]["test"])
        self._sleep_tree = _Tree(dec["model"]["sleep"])
        self.model: str = actions["model"]
        self.view: str = actions["view"]
        self._test_params = [dict(a["params"]) for a in actions["test"]]
        self._sleep_params = [dict(a["params"]) for a in actions["sleep"]]
        # actions across models: each names its model (no sleep-time work: None)
        self._test_models = [a.get("model", self.model) for a in actions["test"]]
        self._sleep_models = [a.get("model", self.model) for a in actions["sleep"]]
        #: the models the actions use (one, ``model``, unless the actions span several)
        self.models: tuple[str, ...] = tuple(
            dict.fromkeys(m for m in self._test_models + self._sleep_models if m is not None)
        )

    @property
    def policy_id(self) -> str:
        """The policy's version in a decision log: its artifact's digest."""
        if self._policy_id is None:
            self._policy_id = policy_id(self.artifact)
        return self._policy_id

    @property
    def logged_features(self) -> tuple[str, ...]:
        """The features a decision log of this policy holds: those it reads and those the
        runtime computes (a candidate evaluated on the log may read others)."""
        extra = (*CHEAP_FEATURES, "question_chars", "expected_queries")
        return tuple(dict.fromkeys((*self.context_features_used, *self.query_features, *extra)))

    def summary(self) -> dict[str, Any]:
        """What the artifact holds: its provenance, models, actions, operating point
        (``lam``), the features it reads (and which the caller must pass) and its fidelity."""
        a, dec = self.artifact, self.artifact["decision"]
        caller = sorted({f["name"] for part in ("query", "context") for f in a["features"][part] if f["source"] == "caller"})  # fmt: skip
        return {
            "schema_version": a["schema_version"], "package_version": a["package_version"], "created_at": a["created_at"],
            "mlflow_run_id": a["mlflow_run_id"], "model": a["actions"]["model"], "models": list(self.models),
            "price_book": a["price_book"]["version"], "sleep_levels": dec["sleep_levels"], "budgets": dec["budgets"],
            "lam": dec["lam"], "question_draws": dec["question_draws"], "policy_id": self.policy_id,
            "features": {part: [f["name"] for f in a["features"][part]] for part in ("query", "context")},
            "caller_features": caller, "fidelity": a.get("fidelity", {}),
        }  # fmt: skip

    def test_indexes(self, x: Any, sleep_index: Any, ready: Any, prompt_tokens: Any) -> Any:
        """:meth:`test_index` for many rows at once (NumPy arrays; ``x`` of shape
        ``(n, len(query_features))``, the others ``(n,)``): the policy's own budget per row."""
        from sleeptime.runtime._batch import test_indexes

        return test_indexes(self, x, sleep_index, ready, prompt_tokens)

    def sleep_indexes(self, x: Any, expected_queries: Any, context_tokens: Any) -> Any:
        """:meth:`sleep_index` for many rows at once (``x`` of shape
        ``(n, len(context_features_used))``): the policy's own sleep level per row."""
        from sleeptime.runtime._batch import sleep_indexes

        return sleep_indexes(self, x, expected_queries, context_tokens)

    @classmethod
    def load(cls, path: str | Path, *, exploration: Exploration | None = None) -> RuntimePolicy:
        """Load and validate the artifact at ``path`` (``exploration``: see :attr:`exploration`)."""
        return cls(load_artifact(path), source=str(path), validate=False, exploration=exploration)

    @classmethod
    def loads(cls, text: str, source: str = "<artifact>", *, exploration: Exploration | None = None) -> RuntimePolicy:  # fmt: skip
        """Load and validate an artifact from its JSON text."""
        return cls(parse_artifact(text, source), source=source, validate=False, exploration=exploration)  # fmt: skip

    def _explored(self, greedy: int, n: int, names: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
        """The action taken and what a log needs of it: nothing without exploration, else its
        ``propensity`` and the policy's own choice (``greedy``)."""
        if self.exploration is None:
            return greedy, {}
        action, p = self.exploration.choose(greedy, n)
        return action, {"propensity": p, "greedy": names[greedy]}

    # ------------------------------------------------------------------ features
    def context_features(self, context: str) -> dict[str, float]:
        """The features computed from a context's text (compute once per context, reuse)."""
        return cheap_features(context)

    def _vector(
        self,
        names: tuple[str, ...],
        features: Mapping[str, Any] | None,
        context: str | None,
        question: str | None,
    ) -> list[float]:
        if features is not None and context is None and question is None:
            try:
                x = [features[n] for n in names]
            except KeyError:
                x = self._collect(names, features, None, None)
        else:
            x = self._collect(names, features or {}, context, question)
        try:  # math.isfinite takes True for 1: a bool is refused as a number
            ok = all(map(math.isfinite, x)) and not any(t.__name__ in _BOOL_TYPES for t in set(map(type, x)))  # fmt: skip
        except (TypeError, OverflowError):  # not a number; an int beyond any float
            ok = False
        if not ok:
            bad = next(n for n, v in zip(names, x, strict=True) if not _finite(v))
            raise DecisionError(f"feature {bad!r} must be a finite number, got {dict(zip(names, x, strict=True))[bad]!r}")  # fmt: skip
        return x

    def _collect(
        self, names: tuple[str, ...], given: Mapping[str, Any], context: str | None, question: str | None
    ) -> list[float]:  # fmt: skip
        computed: dict[str, float] = {}
        if context is not None:
            computed.update(cheap_features(context))
        if question is not None:
            computed.update(question_features(question))
        x = []
        for n in names:
            if n in given:
                x.append(given[n])
            elif n in computed:
                x.append(computed[n])
            else:
                src = self._sources[n]
                how = {"context_text": "pass context= (the text) or features from context_features()",
                       "question_text": "pass question= (the text)",
                       "caller": "pass it in features= (the policy reads it; the runtime cannot compute it)"}[src]  # fmt: skip
                raise DecisionError(f"feature {n!r} is missing: {how}")
        return x

    def _level(self, sleep_level: str | int) -> int:
        if isinstance(sleep_level, int) and not isinstance(sleep_level, bool):
            if 0 <= sleep_level < len(self.sleep_levels):
                return sleep_level
        elif sleep_level in self._sleep_index:
            return self._sleep_index[sleep_level]
        raise DecisionError(f"unknown sleep level {sleep_level!r} (known: {', '.join(self.sleep_levels)})")  # fmt: skip

    def _tokens(self, name: str, given: float | None, text_chars: int | None, default: float) -> float:  # fmt: skip
        if given is not None:
            if not _finite(given) or given < 0:
                raise DecisionError(f"{name} (a token count) must be a finite number >= 0, got {given!r}")  # fmt: skip
            return float(given)
        if text_chars is not None:
            return text_chars / self.chars_per_token
        return default

    # ------------------------------------------------------------------ the decisions
    def test_index(
        self, x: list[float], sleep_index: int, ready: bool, prompt_tokens: float
    ) -> int:
        """The budget index for a query's input vector (names :attr:`query_features`)."""
        s = sleep_index if ready else 0
        n_b = self._n_b
        p = self._test_tree.leaf(x)
        costs = self._test_usd[s]
        lam = self.lam
        base = s * n_b
        best, best_score = 0, -math.inf
        for b in range(n_b):
            c0, c1 = costs[b]
            score = p[base + b] - lam * (c0 + c1 * prompt_tokens)
            if score > best_score:
                best, best_score = b, score
        return best

    def sleep_index(self, x: list[float], expected_queries: float, context_tokens: float, prompt_tokens: float) -> int:  # fmt: skip
        """The sleep level index for a context's input vector (names :attr:`context_features_used`)."""
        p = self._sleep_tree.leaf(x)
        n_b, lam, draws = self._n_b, self.lam, self.question_draws
        n_s = len(self._test_usd)
        best_per_level = []
        for s, costs in enumerate(self._test_usd):
            cost = [lam * (costs[b][0] + costs[b][1] * prompt_tokens) for b in range(n_b)]
            # the best budget for each question draw, averaged over the draws
            total = 0.0
            for m in range(draws):
                base = (m * n_s + s) * n_b
                total += max(p[base + b] - cost[b] for b in range(n_b))
            best_per_level.append(total / draws)
        best0 = best_per_level[0]
        chosen, chosen_value = 0, expected_queries * best0
        for s in range(1, len(best_per_level)):
            share = self._ready_share[s]
            per_query = share * best_per_level[s] + (1 - share) * best0
            c0, c1 = self._sleep_usd[s]
            value = expected_queries * per_query - lam * (c0 + c1 * context_tokens)
            if value > chosen_value:
                chosen, chosen_value = s, value
        return chosen

    def decide_test(
        self,
        features: Mapping[str, Any] | None = None,
        *,
        context: str | None = None,
        question: str | None = None,
        sleep_level: str | int = "none",
        c_prime_ready: bool = False,
        prompt_tokens: float | None = None,
    ) -> dict[str, Any]:
        """Request parameters for one query: ``budget`` (the level), ``max_tokens``,
        ``reasoning_effort``, ``verbosity_prompt`` (None where the model takes none),
        ``send_c_prime`` (insert the sleep-time rewrite ``c'`` beside the context) and
        ``model`` (the model that answers; where the actions span several, the budget's own).

        ``sleep_level`` is what was decided for the query's context and ``c_prime_ready``
        whether its ``c'`` exists now. ``prompt_tokens`` (context plus question) is estimated
        from the text's length where not given. With :attr:`exploration`, also ``propensity``
        (the probability of the budget taken) and ``greedy`` (the policy's own budget).
        """
        x = self._vector(self.query_features, features, context, question)
        s = self._level(sleep_level)
        if type(c_prime_ready).__name__ not in _BOOL_TYPES:  # "false" would read as ready
            raise DecisionError(f"c_prime_ready must be True or False, got {c_prime_ready!r}")
        ready = bool(c_prime_ready) and s > 0
        if prompt_tokens is None:
            chars = (
                None if context is None or question is None else len(context) + 1 + len(question)
            )
            tokens = self._tokens("prompt_tokens", None, chars, self.question_tokens)
        else:
            tokens = self._tokens("prompt_tokens", prompt_tokens, None, 0.0)
        b, logged = self._explored(self.test_index(x, s, ready, tokens), self._n_b, self.budgets)
        return {"budget": self.budgets[b], **self._test_params[b], "send_c_prime": ready, "model": self._test_models[b], **logged}  # fmt: skip

    def decide_sleep(
        self,
        features: Mapping[str, Any] | None = None,
        *,
        context: str | None = None,
        expected_queries: float | None = None,
        context_tokens: float | None = None,
    ) -> dict[str, Any]:
        """Sleep-time work for a context at ingestion: ``sleep_level`` (``none`` = do
        nothing), ``run`` (whether to start it) and its request parameters (``n_rewrites``
        or ``reasoning_effort``, ``max_tokens``, ``batch``: send it through the batch API) and
        ``model`` (the model that writes the notes; None for no sleep-time work where the
        actions span several models). With :attr:`exploration`, also ``propensity`` and
        ``greedy`` (call it once per context: each call draws anew)."""
        given = dict(features or {})
        if expected_queries is not None:
            given["expected_queries"] = expected_queries
        if "expected_queries" not in given:
            raise DecisionError("pass expected_queries= (how many queries this context is expected to get, e.g. from its history)")  # fmt: skip
        x = self._vector(self.context_features_used, given, context, None)
        raw = given["expected_queries"]  # checked before float(), which reads True as 1.0
        if not _finite(raw) or raw < 0:
            raise DecisionError(f"expected_queries must be a finite number >= 0, got {raw!r}")
        eq = float(raw)
        tokens = self._tokens("context_tokens", context_tokens, None if context is None else len(context), -1.0)  # fmt: skip
        if tokens < 0:
            raise DecisionError("pass context_tokens= or context= (the text) to price the sleep-time work")  # fmt: skip
        greedy = self.sleep_index(x, eq, tokens, tokens + self.question_tokens)
        s, logged = self._explored(greedy, len(self.sleep_levels), self.sleep_levels)
        return {"sleep_level": self.sleep_levels[s], "run": s > 0, **self._sleep_params[s], "model": self._sleep_models[s], **logged}  # fmt: skip


#: The names of the bool types: Python's, NumPy's ``bool_`` (``bool`` from NumPy 2), known
#: without importing NumPy. A bool is not a number here, though Python counts True as 1.
_BOOL_TYPES = ("bool", "bool_")


def _finite(v: Any) -> bool:
    """A finite number (any that ``math.isfinite`` takes, NumPy's included), not a bool."""
    if type(v).__name__ in _BOOL_TYPES:
        return False
    try:
        return math.isfinite(v)
    except (TypeError, OverflowError):
        return False
