"""Allocations, the environment a policy acts in, and the policy interface."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._types import FloatArray, IntArray
from sleeptime.simulators import (
    MODEL_SEP,
    VIEWS,
    ActionPrices,
    OutcomeModel,
    PriceBook,
    ReplayResult,
    SimItems,
    replay,
    sleep_ready,
)


@dataclass(frozen=True)
class Allocation:
    """One decision in words: a sleep level (``none`` or e.g. ``k5``), a test budget level, and
    which context the answer sees (``c``, ``c_prime`` or ``both``)."""

    sleep: str
    budget: str
    view: str = "both"

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")


@dataclass
class Environment:
    """What a policy's decisions are replayed against: an outcome model, prices, a model name."""

    outcome: OutcomeModel
    prices: PriceBook
    model: str

    @property
    def n_sleep(self) -> int:
        """The number of sleep actions (levels of the outcome model, level 0 being none)."""
        return len(self.outcome.sleep_levels)

    @property
    def n_budgets(self) -> int:
        """The number of test actions (budget levels of the outcome model)."""
        return len(self.outcome.budgets)

    def allocation(self, sleep: int, budget: int, view: int = 2) -> Allocation:
        """The decision ``(sleep, budget, view)``, given as indexes, in words: the sleep level's
        name, the budget's name and the view's name (``VIEWS[view]``: 0 ``c``, 1 ``c_prime``,
        2 ``both``). Raises IndexError for an index outside the outcome model's levels."""
        return Allocation(
            self.outcome.sleep_levels[sleep].name, self.outcome.budgets[budget], VIEWS[view]
        )

    def fixed_name(self, sleep: int, budget: int) -> str:
        """The name of the fixed strategy (sleep level, budget level) in comparisons; where the
        actions span several models, each names its model (``fixed(k1@gpt-4o,b0@gpt-4o-mini)``,
        the budget's rank within its model)."""
        if not self.outcome.test_models:
            return f"fixed({self.outcome.sleep_levels[sleep].name},b{budget})"
        model = self.outcome.test_models[budget]
        rank = self.outcome.test_models[:budget].count(model)
        return f"fixed({self.outcome.sleep_levels[sleep].name},b{rank}{MODEL_SEP}{model})"

    @property
    def models(self) -> tuple[str, ...]:
        """The models the actions run on, in order of first appearance (this environment's
        one model where the outcome model names none)."""
        return tuple(dict.fromkeys(self.outcome.test_models)) or (self.model,)

    def single_model(self, sleep: int, budget: int) -> bool:
        """Whether one model does both phases of the action pair (always, with one model or
        without sleep-time work)."""
        o = self.outcome
        return not o.sleep_models or sleep == 0 or o.sleep_models[sleep] == o.test_models[budget]

    def model_mix(self, items: SimItems, sleep_action: IntArray, test_action: IntArray) -> dict[str, Any]:  # fmt: skip
        """Who sleeps and who answers under the decisions: the share of contexts whose notes
        each model writes (``none``: no sleep-time work), and the share of queries per
        (writer, answerer) pair as served (``"gpt-4o -> gpt-4o-mini"``; ``"none -> M"`` for
        answers without notes, those that came before the notes were done included)."""
        o = self.outcome
        writers = np.asarray(o.sleep_models or ("",) + (self.model,) * (self.n_sleep - 1))
        readers = np.asarray(o.test_models or (self.model,) * self.n_budgets)
        ctx = np.where(writers[sleep_action] == "", "none", writers[sleep_action])
        q_writer = np.where(self.ready(items, sleep_action), items.per_query(ctx), "none")
        pairs = np.char.add(np.char.add(q_writer.astype(str), " -> "), readers[test_action])
        return {"contexts_by_writer": _shares(ctx), "queries_by_pair": _shares(pairs)}

    def action_prices(self) -> ActionPrices:
        """The prices of each sleep action and each test action: their own models' where the
        outcome model's actions span several, else this environment's model's."""
        return ActionPrices.of(self.outcome, self.prices, self.model)

    def ready(self, items: SimItems, sleep_action: IntArray) -> NDArray[np.bool_]:
        """Per query, shape ``(n_queries,)``: whether its context's sleep-time work under
        ``sleep_action`` (one level per context, shape ``(n_contexts,)``) has finished when the
        query arrives, so ``c'`` can be served. Always false at level 0 (no sleep-time work).
        Raises SleeptimeError when ``sleep_action`` is not integers of shape ``(n_contexts,)``."""
        return sleep_ready(
            items, sleep_action, outcome=self.outcome, prices=self.prices, model=self.model
        )

    def replay(
        self, items: SimItems, sleep_action: IntArray, test_action: IntArray, **kwargs: Any
    ) -> ReplayResult:
        """:func:`~sleeptime.simulators.replay` of ``items`` against this environment's outcome
        model, prices and model: ``sleep_action`` one level per context, shape ``(n_contexts,)``;
        ``test_action`` one budget level per query, shape ``(n_queries,)``. ``kwargs`` go to the
        replay (``mode``, ``seed``, ``bootstrap``, ``view``, ``served``, ...). Raises
        SleeptimeError for actions of the wrong shape or type, OutcomeError for levels out of
        range."""
        return replay(items, sleep_action=sleep_action, test_action=test_action, outcome=self.outcome,
                      prices=self.prices, model=self.model, **kwargs)  # fmt: skip

    def action_tables(self, items: SimItems) -> ActionTables:
        """Expected accuracy and USD of every query under every (sleep level, budget) pair."""
        n_s, n_b = self.n_sleep, self.n_budgets
        p = np.empty((n_s, n_b, items.n_queries))
        usd = np.empty_like(p)
        ready = np.empty((n_s, items.n_queries), dtype=bool)
        sleep_usd = np.zeros((n_s, items.n_contexts))
        prices = self.action_prices()
        first = np.searchsorted(items.query_context, np.arange(items.n_contexts))
        has_queries = np.bincount(items.query_context, minlength=items.n_contexts) > 0
        for s in range(n_s):
            sleep = np.full(items.n_contexts, s, dtype=np.int64)
            ready[s] = self.ready(items, sleep)
            for b in range(n_b):
                result = self.replay(
                    items, sleep, np.full(items.n_queries, b, dtype=np.int64), bootstrap=0
                )
                assert result.traces is not None
                p[s, b] = result.traces["correct"]
                usd[s, b] = result.traces["usd"]
            tr = result.traces
            assert tr is not None
            # the context's sleep-time USD from the token counts its traces log (the replay's sum)
            price = prices.sleep[s]
            inp, outp = price.input_usd_per_mtok / 1e6, price.output_usd_per_mtok / 1e6
            per_query = price.batch_discount * (
                inp * tr["sleep_input_tokens"] + outp * tr["sleep_output_tokens"]
            )
            if items.n_queries:
                sleep_usd[s] = np.where(
                    has_queries, per_query[np.minimum(first, items.n_queries - 1)], 0.0
                )
        return ActionTables(p, usd, ready, items.query_context, items.n_contexts, sleep_usd)


def _shares(values: NDArray[Any]) -> dict[str, float]:
    """Each distinct value's share of ``values``."""
    keys, counts = np.unique(values, return_counts=True)
    return {str(k): float(n / max(values.size, 1)) for k, n in zip(keys, counts, strict=True)}


@dataclass(frozen=True)
class ActionTables:
    """``p[s, b, q]`` and ``usd[s, b, q]`` (the query's cost including its share of its
    context's sleep-time cost) for every sleep level ``s`` and budget ``b``; ``sleep_usd[s, c]``
    the sleep-time cost of context ``c`` at level ``s`` (where measured)."""

    p: FloatArray
    usd: FloatArray
    ready: NDArray[np.bool_]
    query_context: IntArray
    n_contexts: int
    sleep_usd: FloatArray | None = None

    @cached_property
    def counts(self) -> IntArray:
        """The number of queries of each context, shape ``(n_contexts,)``."""
        return np.bincount(self.query_context, minlength=self.n_contexts).astype(np.int64)

    def evaluate(self, sleep_action: IntArray, test_action: IntArray) -> tuple[float, float]:
        """(accuracy, USD per query) of the given decisions, from the tables."""
        s = np.repeat(sleep_action, self.counts)
        idx = np.arange(self.p.shape[2])
        return float(self.p[s, test_action, idx].mean()), float(
            self.usd[s, test_action, idx].mean()
        )


class Policy:
    """Decides twice, with what is known at each moment (see the decision problem in docs/concepts.md).

    Lifecycle: build, ``fit`` where the policy learns (on training items), then for each batch
    of items call :meth:`decide_sleep` once (per context, before any question: context features
    and query history only) and :meth:`decide_test` once (per query, when it arrives: also the
    query's features, the sleep level taken and whether ``c'`` is ready). Both are vectorized.
    Policies are not thread-safe while fitting; deciding does not change them.
    """

    name: str = "policy"

    def decide_sleep(self, items: SimItems, env: Environment) -> IntArray:
        """The sleep action per context, shape ``(n_contexts,)``: an index into
        ``env.outcome.sleep_levels`` (0: no sleep-time work). Called once per batch, before any
        question; may read context features and query history, never the queries themselves.
        Subclasses implement it; the base class raises NotImplementedError."""
        raise NotImplementedError

    def decide_test(
        self, items: SimItems, env: Environment, sleep_action: IntArray, ready: NDArray[np.bool_]
    ) -> IntArray:
        """The test action per query, shape ``(n_queries,)``: an index into
        ``env.outcome.budgets``. ``sleep_action`` is what :meth:`decide_sleep` returned, shape
        ``(n_contexts,)``; ``ready`` (shape ``(n_queries,)``, from :meth:`Environment.ready`) says
        whether ``c'`` is there when the query arrives. May read the query's features too.
        Subclasses implement it; the base class raises NotImplementedError."""
        raise NotImplementedError

    def decide(self, items: SimItems, env: Environment) -> tuple[IntArray, IntArray]:
        """Both decisions in order: sleep actions per context, then test actions per query."""
        sleep = np.asarray(self.decide_sleep(items, env), dtype=np.int64)
        ready = env.ready(items, sleep)
        return sleep, np.asarray(self.decide_test(items, env, sleep, ready), dtype=np.int64)
