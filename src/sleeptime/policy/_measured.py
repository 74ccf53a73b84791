"""Policies judged on measured outcomes: the table of an exploration run, and an environment
that replays decisions from it exactly instead of from an outcome model.

An exploration run (``sleeptime collect``) answers every query of a sample under every (sleep
level, budget, view) of a grid. For one view of the sleep-time levels (``both`` by default:
the answer sees ``c`` and ``c'``; level ``none`` always sees ``c``), the run is a table: per
sleep level ``s``, budget ``b`` and query ``q``, whether the answer was correct and the tokens
the server reported, and per level and context the sleep-time tokens. Any policy's decisions
can then be scored exactly: :class:`MeasuredEnvironment` is an :class:`Environment` whose
replay reads the table (every number it gives is *measured*; USD are the measured tokens at a
stated price book).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._errors import SleeptimeError
from sleeptime._types import FloatArray, IntArray
from sleeptime.policy._base import ActionTables, Environment
from sleeptime.simulators import (
    MODEL_SEP,
    Outcome,
    OutcomeModel,
    PriceBook,
    ReplayResult,
    ServedQueries,
    SimItems,
    SleepLevel,
    bootstrap_interval,
)

#: Sleep-time reasoning efforts and the compute units they stand for.
EFFORT_UNITS = {"low": 1.0, "medium": 2.0, "high": 4.0}


class MeasuredError(SleeptimeError, ValueError):
    """Trace records cannot be read as an exploration table."""


def level_compute(name: str) -> float:
    """Compute units of a sleep level's name: ``none`` 0, ``kN`` N, an effort its multiple
    (across models, ``k1@MODEL`` as ``k1``)."""
    from sleeptime.simulators import split_action

    name = split_action(name)[0]
    if name == "none":
        return 0.0
    m = re.fullmatch(r"k(\d+)", name)
    if m:
        return float(m.group(1))
    if name in EFFORT_UNITS:
        return EFFORT_UNITS[name]
    raise MeasuredError(f"unknown sleep level {name!r} (none, kN, low, medium, high)")


def _count(rec: Mapping[str, Any], name: str, where: str) -> float:
    value = rec.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:  # fmt: skip
        raise MeasuredError(
            f"{where}: {name!r} must be a count >= 0, got {value!r} (an answer without usage "
            "cannot be priced; drop the record or rerun it against an endpoint that reports usage)"
        )
    return float(value)


@dataclass(frozen=True)
class MeasuredTable:
    """Measured outcomes of an exploration run for one view: arrays ``(s, b, q)`` over sleep
    levels, budgets and queries (sorted by context), and ``(s, c)`` for sleep-time tokens.

    ``(n_sleep, n_budgets, n_queries)``: ``correct`` (0/1, or a share in [0, 1]),
    ``test_input_tokens``, ``cached_prompt_tokens`` (of the input, read from the server's
    prompt cache), ``test_output_tokens`` and ``latency_s`` (seconds). ``(n_sleep,
    n_contexts)``: ``sleep_input_tokens`` and ``sleep_output_tokens`` of one build of ``c'``
    (zero at level 0, none). ``query_context`` ``(n_queries,)`` indexes ``context_ids``;
    ``query_ids`` names the columns. Level 0 is always answered from ``c``; the other levels
    from ``view``. ``incomplete`` names the contexts left out for a missing cell.

    Across models (records of several ``model`` s): a sleep action is a level and the model
    that wrote the notes (``k1@MODEL``), a test action a budget and the model that answers
    (``b0@MODEL``); ``sleep_models`` and ``test_models`` name them (``""`` for ``none``), and
    ``price_models`` maps each model to the price book entry the run priced it as. One
    model: all three empty.
    """

    context_ids: tuple[str, ...]
    query_ids: tuple[str, ...]
    query_context: IntArray
    sleep_levels: tuple[str, ...]
    budgets: tuple[str, ...]
    view: str
    model: str
    correct: FloatArray
    test_input_tokens: FloatArray
    cached_prompt_tokens: FloatArray
    test_output_tokens: FloatArray
    latency_s: FloatArray
    sleep_input_tokens: FloatArray
    sleep_output_tokens: FloatArray
    incomplete: tuple[str, ...] = field(default=())
    #: Per budget, the request parameters the run used: ``max_tokens``, ``verbosity``,
    #: ``reasoning_effort`` (what an exported policy must send to be served as it was judged).
    budget_params: tuple[Mapping[str, Any], ...] = field(default=())
    #: ``(s, c)``: of the sleep-time prompt tokens, those the server read from its prompt cache
    #: (priced at the book's ``cache_read_multiplier``, as the run priced them); None: none.
    sleep_cached_input_tokens: FloatArray | None = None
    sleep_models: tuple[str, ...] = ()
    test_models: tuple[str, ...] = ()
    price_models: Mapping[str, str] = field(default_factory=dict)

    def priced_as(self, model: str) -> str:
        """What the tokens are priced as, in words: ``model`` (one model), or each model of a
        run across models with its book entry (``a as gpt-4o, b as gpt-4o-mini``)."""
        if not self.test_models:
            return model
        return ", ".join(f"{m} as {e}" for m, e in sorted(self.price_models.items()))

    @property
    def n_queries(self) -> int:
        """The number of queries (columns of the ``(s, b, q)`` arrays)."""
        return int(self.query_context.shape[0])

    @property
    def n_contexts(self) -> int:
        """The number of (complete) contexts (columns of the ``(s, c)`` arrays)."""
        return len(self.context_ids)

    @property
    def counts(self) -> IntArray:
        """The number of queries of each context, shape ``(n_contexts,)``."""
        return np.bincount(self.query_context, minlength=self.n_contexts).astype(np.int64)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, view: str = "both", source: str = "traces"
    ) -> MeasuredTable:
        """The table of an exploration run's records (as ``sleeptime collect`` writes them).

        Contexts with a cell missing (a run stopped by ``--max-usd``, say) are left out and
        named in ``incomplete``; a record that is not an exploration answer, a cell answered
        twice, or an answer without token counts is an error naming the record."""
        records = list(records)
        # actions are keyed by their index, across models by (model, index): a sleep action
        # is the level and the model that wrote the notes, a test action the budget and the
        # model that answers
        names = sorted({str(r.get("model", "")) for r in records})
        across = len(names) > 1
        levels: dict[Any, str] = {}
        budgets: dict[Any, str] = {}
        params: dict[Any, dict[str, Any]] = {}
        cells: dict[tuple[str, str], dict[tuple[Any, Any], Mapping[str, Any]]] = {}
        sleep_tokens: dict[tuple[str, Any], tuple[float, float, float]] = {}
        models: set[str] = set()
        prices: dict[str, str] = {}
        for n, rec in enumerate(records, start=1):
            where = f"{source}: record {n}"
            if rec.get("design") != "exploration":
                raise MeasuredError(f"{where}: design {rec.get('design')!r}; judging policies needs an exploration run (sleeptime collect without --policy)")  # fmt: skip
            s, b = rec.get("sleep_action"), rec.get("test_action")
            if not isinstance(s, int) or not isinstance(b, int) or isinstance(s, bool) or isinstance(b, bool):  # fmt: skip
                raise MeasuredError(f"{where}: sleep_action and test_action must be indexes")
            level, budget, slept = str(rec.get("sleep_level")), str(rec.get("budget")), s != 0
            if across:
                reader = str(rec.get("model", ""))
                writer = str(rec.get("sleep_model") or reader)
                for model, entry in ((reader, rec.get("price_model")), (writer, rec.get("sleep_price_model") if slept else None)):  # fmt: skip
                    if entry is not None and prices.setdefault(model, str(entry)) != str(entry):
                        raise MeasuredError(f"{where}: {model} is priced as {entry!r} here and {prices[model]!r} before")  # fmt: skip
                b, budget = (names.index(reader), b), f"{budget}{MODEL_SEP}{reader}"
                if slept:
                    s, level = (1, names.index(writer), s), f"{level}{MODEL_SEP}{writer}"
                else:
                    s = (0, 0, 0)
            for index, name, seen in ((s, level, levels), (b, budget, budgets)):  # fmt: skip
                if seen.setdefault(index, str(name)) != str(name):
                    raise MeasuredError(f"{where}: action {index} is {name!r} here and {seen[index]!r} before")  # fmt: skip
            params.setdefault(
                b, {k: rec.get(k) for k in ("max_tokens", "verbosity", "reasoning_effort")}
            )
            wanted = view if slept else "c"
            if rec.get("view") != wanted:
                continue
            key = (str(rec["context_id"]), str(rec["query_id"]))
            cell = cells.setdefault(key, {})
            if (s, b) in cell:
                raise MeasuredError(f"{where}: context {key[0]} query {key[1]} is answered twice at ({levels[s]}, {budgets[b]}, {wanted})")  # fmt: skip
            for name in ("test_input_tokens", "test_output_tokens"):
                _count(rec, name, where)
            if rec.get("correct") not in (0, 1, 0.0, 1.0) and not (isinstance(rec.get("correct"), float) and 0 <= rec["correct"] <= 1):  # fmt: skip
                raise MeasuredError(f"{where}: 'correct' must be between 0 and 1, got {rec.get('correct')!r}")  # fmt: skip
            cell[(s, b)] = rec
            if slept:
                cached_in = rec.get("sleep_cached_input_tokens")
                sleep_tokens[(key[0], s)] = (_count(rec, "sleep_input_tokens", where), _count(rec, "sleep_output_tokens", where),
                                             float(cached_in) if isinstance(cached_in, (int, float)) else 0.0)  # fmt: skip
            models.add(str(rec.get("model", "")))
        if not cells:
            raise MeasuredError(f"{source}: no exploration answers for view {view!r}")
        # actions are numbered by rank: a grid of budgets 0,2 is test actions 0,1
        s_rank = {a: i for i, a in enumerate(sorted(levels))}
        b_rank = {a: i for i, a in enumerate(sorted(budgets))}
        if sorted(levels)[0] not in (0, (0, 0, 0)):
            raise MeasuredError(f"{source}: no answers without sleep-time compute (sleep action 0, none); the grid needs it")  # fmt: skip
        cells = {key: {(s_rank[s], b_rank[b]): rec for (s, b), rec in cell.items()} for key, cell in cells.items()}  # fmt: skip
        sleep_tokens = {(c, s_rank[s]): v for (c, s), v in sleep_tokens.items()}
        levels = {s_rank[a]: n for a, n in levels.items()}
        budgets = {b_rank[a]: n for a, n in budgets.items()}
        if len(levels) < 2:
            raise MeasuredError(f"{source}: the grid has one sleep level ({levels[0]}); judging sleep-time compute needs none and at least one other")  # fmt: skip
        full = {(s, b) for s in levels for b in budgets}
        by_context: dict[str, list[str]] = {}
        for c, q in cells:
            by_context.setdefault(c, []).append(q)
        complete = sorted(c for c, qs in by_context.items() if all(set(cells[(c, q)]) == full for q in qs))  # fmt: skip
        incomplete = tuple(sorted(set(by_context) - set(complete)))
        if not complete:
            raise MeasuredError(f"{source}: no context has an answer in every cell of the grid ({len(full)} per query); finish the run (rerun sleeptime collect)")  # fmt: skip
        columns = [(c, q) for ci, c in enumerate(complete) for q in sorted(by_context[c], key=_natural)]  # fmt: skip
        n_s, n_b, n_q = len(levels), len(budgets), len(columns)

        def grid(name: str) -> FloatArray:
            out = np.zeros((n_s, n_b, n_q))
            for j, key in enumerate(columns):
                for (s, b), rec in cells[key].items():
                    value = rec.get(name)
                    out[s, b, j] = float(value) if isinstance(value, (int, float)) else 0.0
            return out

        sleep = np.zeros((3, n_s, len(complete)))
        for ci, c in enumerate(complete):
            for s in range(1, n_s):
                sleep[:, s, ci] = sleep_tokens[(c, s)]
        position = {c: i for i, c in enumerate(complete)}
        return cls(
            tuple(complete), tuple(q for _, q in columns), np.array([position[c] for c, _ in columns], dtype=np.int64),
            tuple(levels[s] for s in range(n_s)), tuple(budgets[b] for b in range(n_b)), view, ",".join(sorted(models)),
            grid("correct"), grid("test_input_tokens"), grid("cached_prompt_tokens"), grid("test_output_tokens"),
            grid("latency_s"), sleep[0], sleep[1], incomplete, tuple(params[a] for a in sorted(params)), sleep[2],
            *(_models_of(levels, budgets, prices, source) if across else ((), (), {})),
        )  # fmt: skip

    def take(self, columns: Sequence[int] | NDArray[np.int64]) -> MeasuredTable:
        """The table with its query columns in the given order (each context's queries kept
        together, contexts in order)."""
        cols = np.asarray(columns, dtype=np.int64)
        qc = self.query_context[cols]
        if np.any(np.diff(qc) < 0):
            raise MeasuredError("columns must keep the queries sorted by context")
        return replace(
            self, query_ids=tuple(self.query_ids[i] for i in cols), query_context=qc,
            **{k: getattr(self, k)[:, :, cols] for k in ("correct", "test_input_tokens", "cached_prompt_tokens", "test_output_tokens", "latency_s")},
        )  # fmt: skip

    def subset(self, contexts: Sequence[int] | NDArray[np.int64]) -> MeasuredTable:
        """The table of the given contexts (sorted indexes), renumbered from 0."""
        ctx = np.asarray(contexts, dtype=np.int64)
        keep = np.flatnonzero(np.isin(self.query_context, ctx))
        remap = np.full(self.n_contexts, -1, dtype=np.int64)
        remap[ctx] = np.arange(ctx.size)
        return replace(
            self, context_ids=tuple(self.context_ids[i] for i in ctx), query_ids=tuple(self.query_ids[i] for i in keep),
            query_context=remap[self.query_context[keep]],
            **{k: getattr(self, k)[:, :, keep] for k in ("correct", "test_input_tokens", "cached_prompt_tokens", "test_output_tokens", "latency_s")},
            sleep_input_tokens=self.sleep_input_tokens[:, ctx], sleep_output_tokens=self.sleep_output_tokens[:, ctx],
            sleep_cached_input_tokens=None if self.sleep_cached_input_tokens is None else self.sleep_cached_input_tokens[:, ctx],
        )  # fmt: skip

    def usd(self, prices: PriceBook, model: str, sleep_discount: float) -> tuple[FloatArray, FloatArray]:  # fmt: skip
        """(each answer's own USD ``(s, b, q)``, each context's sleep-time USD ``(s, c)``) for
        the measured tokens at ``model``'s prices in the book; sleep-time work pays
        ``sleep_discount`` times the list price (the book's ``batch_discount`` for a batch).
        Across models, each action at its own model's entry (``price_models``), not ``model``'s."""

        def rates(names: Sequence[str], n: int, shape: tuple[int, ...]) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
            entries = [prices.price(self.price_models.get(m, m) if m else model) for m in names] or [prices.price(model)] * n  # fmt: skip

            def column(values: list[float]) -> FloatArray:
                return np.asarray(values, dtype=np.float64).reshape(shape)

            return (column([e.input_usd_per_mtok / 1e6 for e in entries]), column([e.output_usd_per_mtok / 1e6 for e in entries]),
                    column([e.cache_read_multiplier for e in entries]))  # fmt: skip

        inp, outp, read = rates(self.test_models, len(self.budgets), (1, -1, 1))
        cached = np.minimum(self.cached_prompt_tokens, self.test_input_tokens)
        test = inp * (self.test_input_tokens - cached + read * cached) + outp * self.test_output_tokens  # fmt: skip
        s_inp, s_outp, s_read = rates(self.sleep_models, len(self.sleep_levels), (-1, 1))
        sleep_cached = np.zeros_like(self.sleep_input_tokens) if self.sleep_cached_input_tokens is None else np.minimum(self.sleep_cached_input_tokens, self.sleep_input_tokens)  # fmt: skip
        sleep_in = self.sleep_input_tokens - sleep_cached + s_read * sleep_cached
        sleep = sleep_discount * (s_inp * sleep_in + s_outp * self.sleep_output_tokens)
        return test, sleep


def _models_of(levels: Mapping[int, str], budgets: Mapping[int, str], prices: Mapping[str, str], source: str) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, str]]:  # fmt: skip
    """(sleep_models, test_models, price_models) of a table across models, from its action
    names (``k1@MODEL``, ``b0@MODEL``)."""
    from sleeptime.simulators import split_action

    sleep = tuple(split_action(levels[s])[1] or "" for s in range(len(levels)))
    test = tuple(split_action(budgets[b])[1] or "" for b in range(len(budgets)))
    unpriced = sorted(set(test) - set(prices))
    if unpriced:
        raise MeasuredError(f"{source}: the records of {unpriced} name no price_model (the price book entry the run priced them as); rerun sleeptime collect with --price-model, one per --endpoint")  # fmt: skip
    return sleep, test, dict(prices)


def _natural(text: str) -> tuple[Any, ...]:
    """Sort key: digits as numbers (q2 before q10)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


class _TableLevels(OutcomeModel):
    """The actions of a measured table; its outcomes are read from the table, not modelled."""

    def __init__(self, sleep_levels: Sequence[str], budgets: Sequence[str], budget_params: Sequence[Mapping[str, Any]] = (),
                 sleep_models: Sequence[str] = (), test_models: Sequence[str] = ()) -> None:  # fmt: skip
        self.sleep_levels = tuple(SleepLevel(n, level_compute(n)) for n in sleep_levels)
        self.budgets = tuple(budgets)
        self.budget_params = tuple(budget_params)
        self.sleep_models = tuple(sleep_models)
        self.test_models = tuple(test_models)

    def _outcome(self, q: ServedQueries) -> Outcome:
        raise MeasuredError("a measured environment replays its table; it has no outcome model")


@dataclass
class MeasuredEnvironment(Environment):
    """An :class:`Environment` whose replays read a :class:`MeasuredTable` (the items must be
    the table's queries, in its order). Every query finds ``c'`` ready (an exploration run
    answers after the sleep-time work is done)."""

    table: MeasuredTable = field(kw_only=True)
    sleep_discount: float = field(default=0.5, kw_only=True)

    @classmethod
    def build(cls, table: MeasuredTable, prices: PriceBook, model: str, *, sleep_price: str = "batch") -> MeasuredEnvironment:  # fmt: skip
        """``sleep_price``: ``batch`` (the book's ``batch_discount``) or ``live`` (its
        ``live_sleep_discount``).

        Across models, ``model`` is not used: each model is priced as the entry the run priced
        it as (``table.price_models``), and the environment's book holds each model under its
        own name at that entry's prices (so that an exported policy names the served models
        and prices them); the environment's model is the first answering model."""
        if table.test_models:
            prices = replace(prices, models={**prices.models, **{m: prices.price(e) for m, e in table.price_models.items()}},
                             note=f"{prices.note} Priced as: {', '.join(f'{m} as {e}' for m, e in sorted(table.price_models.items()))}.".strip())  # fmt: skip
            model = table.test_models[0]
            writers = {prices.price(m).batch_discount if sleep_price == "batch" else prices.price(m).live_sleep_discount for m in table.sleep_models if m}  # fmt: skip
            if len(writers) > 1:
                raise MeasuredError(f"the models that write notes have different sleep-time discounts in the book ({sorted(writers)}); judging them together needs one")  # fmt: skip
        price = prices.price(model)
        if sleep_price not in ("batch", "live"):
            raise MeasuredError(f"sleep_price must be 'batch' or 'live', got {sleep_price!r}")
        discount = price.batch_discount if sleep_price == "batch" else price.live_sleep_discount
        return cls(
            _TableLevels(
                table.sleep_levels,
                table.budgets,
                table.budget_params,
                table.sleep_models,
                table.test_models,
            ),
            prices,
            model,
            table=table,
            sleep_discount=discount,
        )

    def for_table(self, table: MeasuredTable) -> MeasuredEnvironment:
        """The same prices on another table (e.g. the held-out contexts)."""
        return replace(self, table=table)

    def fixed_name(self, sleep: int, budget: int) -> str:
        """The name of the fixed strategy (sleep level, budget), by the table's level names."""
        return f"fixed({self.table.sleep_levels[sleep]},{self.table.budgets[budget]})"

    def _check(self, items: SimItems) -> None:
        t = self.table
        if items.n_queries != t.n_queries or items.n_contexts != t.n_contexts or (items.query_ids is not None and tuple(items.query_ids) != t.query_ids):  # fmt: skip
            raise MeasuredError("the items are not the measured table's queries in its order")

    def ready(self, items: SimItems, sleep_action: IntArray) -> NDArray[np.bool_]:
        """All true, shape ``(n_queries,)``: an exploration run answers after the sleep-time
        work is done (at level 0 the table holds the answers without ``c'``)."""
        return np.ones(items.n_queries, dtype=bool)

    def _priced(self) -> tuple[FloatArray, FloatArray]:
        return self.table.usd(self.prices, self.model, self.sleep_discount)

    def action_tables(self, items: SimItems) -> ActionTables:
        """The table as :class:`ActionTables`: measured ``correct`` and USD per (s, b, q), each
        query's USD with its share of its context's sleep-time USD, every query ready. Raises
        MeasuredError when ``items`` are not the table's queries in its order."""
        self._check(items)
        t = self.table
        test, sleep = self._priced()
        counts = np.maximum(t.counts, 1).astype(np.float64)
        usd = test + (sleep / counts)[:, None, t.query_context]
        return ActionTables(t.correct.copy(), usd, np.ones((t.correct.shape[0], t.n_queries), dtype=bool), t.query_context, t.n_contexts, sleep)  # fmt: skip

    def replay(self, items: SimItems, sleep_action: IntArray, test_action: IntArray, *, seed: int = 0,
               bootstrap: int = 1000, return_traces: bool = True, **_: Any) -> ReplayResult:  # fmt: skip
        """The decisions' measured outcomes: accuracy (95% bootstrap over contexts), USD,
        tokens (each with its interval) and the measured latency."""
        self._check(items)
        t = self.table
        sleep = np.asarray(sleep_action, dtype=np.int64)
        test = np.asarray(test_action, dtype=np.int64)
        self.outcome.check_actions(sleep, test)
        qc, idx = t.query_context, np.arange(t.n_queries)
        s = sleep[qc]
        test_usd, sleep_usd = self._priced()
        counts = np.maximum(t.counts, 1).astype(np.float64)
        ctx_usd = sleep_usd[sleep, np.arange(t.n_contexts)]
        usd = test_usd[s, test, idx] + (ctx_usd / counts)[qc]
        correct = t.correct[s, test, idx]
        out_tok = t.test_output_tokens[s, test, idx]
        latency = t.latency_s[s, test, idx]
        sleep_out = t.sleep_output_tokens[sleep, np.arange(t.n_contexts)]
        n_boot = bootstrap
        lo, hi = bootstrap_interval(correct, qc, t.n_contexts, n_boot=n_boot, seed=seed + 1)
        total = float(usd.sum())
        p50, p95 = np.quantile(latency, [0.5, 0.95]) if latency.size else (math.nan, math.nan)
        aggregates: dict[str, Any] = {
            "mode": "measured", "queries": t.n_queries, "contexts": t.n_contexts,
            "accuracy": float(correct.mean()), "accuracy_ci95": [lo, hi],
            "usd_per_query": total / max(t.n_queries, 1), "usd_per_1k_queries": 1000 * total / max(t.n_queries, 1),
            "test_tokens_per_query": float(out_tok.mean()), "test_input_tokens_per_query": float(t.test_input_tokens[s, test, idx].mean()),
            "sleep_tokens_per_context": float(sleep_out.mean()),
            "sleep_share_of_usd": float(ctx_usd.sum() / total) if total > 0 else 0.0,
            "latency_p50_s": float(p50), "latency_p95_s": float(p95), "share_before_sleep_done": 0.0,
            "contexts_with_sleep": float((sleep > 0).mean()),
        }  # fmt: skip
        if n_boot:
            aggregates["usd_per_query_ci95"] = list(bootstrap_interval(usd, qc, t.n_contexts, n_boot=n_boot, seed=seed + 1))  # fmt: skip
            aggregates["test_tokens_per_query_ci95"] = list(bootstrap_interval(out_tok, qc, t.n_contexts, n_boot=n_boot, seed=seed + 1))  # fmt: skip
        traces = None
        if return_traces:
            traces = {
                "context_index": qc, "sleep_action": s, "test_action": test,
                "sleep_input_tokens": t.sleep_input_tokens[sleep, np.arange(t.n_contexts)][qc],
                "sleep_output_tokens": sleep_out[qc], "test_input_tokens": t.test_input_tokens[s, test, idx],
                "test_output_tokens": out_tok, "correct": correct, "latency_s": latency, "usd": usd,
                "served_with_sleep": s > 0,
            }  # fmt: skip
        return ReplayResult(aggregates, traces)


def measured_fixed_rows(
    env: MeasuredEnvironment, items: SimItems, *, group: str, suffix: str, seed: int = 0
) -> list[Any]:
    """Rows of every fixed strategy with sleep-time compute on ``env``'s table (e.g. another
    view of the same run), named ``fixed(LEVEL,BUDGET) SUFFIX``."""
    from sleeptime.policy._evaluate import policy_row

    rows = []
    for s in range(1, env.n_sleep):
        for b in range(env.n_budgets):
            sleep = np.full(items.n_contexts, s, dtype=np.int64)
            test = np.full(items.n_queries, b, dtype=np.int64)
            name = f"{env.fixed_name(s, b)} {suffix}"
            rows.append(policy_row(name, group, env, items, sleep, test, seed=seed))
    return rows
