"""Decision logs read, checked and joined to their outcomes, and a candidate evaluated on them.

A log (:mod:`sleeptime.runtime` writes it: one row per decision, JSONL or Parquet) is read
with Arrow, only the columns needed; outcomes (rows ``request_id``, ``reward``, ``usd``, or
the records of a deployment's trace file: ``correct`` and ``usd``) join it by request id with
Arrow's hash join. Every query's logged action is the pair (its context's sleep level, its
budget) and its propensity the product of the two decisions' probabilities; the candidate
(an exported policy) decides both for every row at once (:meth:`RuntimePolicy.sleep_indexes`,
:meth:`RuntimePolicy.test_indexes`). The rows are then processed in chunks, each reduced to
per-context sums, so memory beyond the columns read does not grow with the log.

A log no estimate may be drawn from raises :class:`OffPolicyError` naming the file and the
requests at fault: a missing propensity or one of 0, an action the candidate cannot express,
an outcome that arrives twice, a decision whose outcome never arrives (unless
``missing="drop"``, which reports how many were dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._json import AsJson, jsonl_objects
from sleeptime.policy._offpolicy import (
    ESTIMATORS,
    OffPolicyError,
    OffPolicyEstimate,
    estimates_from_sums,
    outcome_model_params,
)
from sleeptime.runtime import RuntimePolicy

#: the log columns read (features besides)
_COLUMNS = ("request_id", "kind", "context_id", "query_id", "action", "propensity", "sleep_level", "c_prime_ready",
            "tokens", "expected_queries", "features")  # fmt: skip


#: rows the direct method's outcome models are fitted on at most, and rows summed at a time
DM_ROWS, CHUNK = 200_000, 1_000_000

#: the parts of an outcome's USD a deployment's trace records also hold: the answer's own, and
#: its context's notes (whole); optional, read where present (``sleeptime update`` fits cost
#: lines to them)
_PARTS = ("test_usd", "sleep_usd")


def _read(path: Path, columns: Sequence[str] | None = None, only: Sequence[str] | None = None) -> Any:  # fmt: skip
    """An Arrow table of a JSONL or Parquet file (a folder: a Parquet dataset): ``columns`` and
    every feature column, or (``only``) just those named."""
    import pyarrow.dataset as ds
    import pyarrow.json as pj

    if not path.exists():
        raise OffPolicyError(f"{path}: no such file")
    try:
        if path.is_dir() or path.suffix == ".parquet":
            data = ds.dataset(path, format="parquet")
            cols = [
                c
                for c in data.schema.names
                if columns is None or c in columns or c.startswith("f.")
            ]
            return data.to_table(columns=cols)
        table = pj.read_json(path, read_options=pj.ReadOptions(block_size=1 << 24))
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError
        raise OffPolicyError(f"{path}: not a readable JSONL or Parquet log ({str(e).splitlines()[0]})") from None  # fmt: skip
    return table if columns is None else table.select([c for c in table.column_names if c in columns or c.startswith("f.")])  # fmt: skip


def _flatten_features(table: Any) -> Any:
    """A JSONL log's ``features`` objects (read as a struct) as one float64 column per feature,
    ``f.NAME`` (null where a row lacks it), as a Parquet log holds them: joins carry flat
    columns only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "features" not in table.column_names:
        return table
    col = table.column("features")
    columns = {col.type.field(i).name: pc.struct_field(col, [i]) for i in range(col.type.num_fields)} if pa.types.is_struct(col.type) else {}  # fmt: skip
    table = table.drop_columns(["features"])
    for n, v in sorted(columns.items()):
        table = table.append_column(f"f.{n}", v.cast(pa.float64()))
    return table


def _feature(table: Any, name: str) -> Any:
    """One feature per row as float64 (NaN where a row lacks it)."""
    return _floats(table, f"f.{name}")


def _ids(table: Any, rows: Any, limit: int = 5) -> str:
    ids = table.column("request_id").take(np.asarray(rows[:limit])).to_pylist()
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(map(str, ids)) + more


def _floats(table: Any, name: str) -> Any:
    import pyarrow as pa

    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class JoinedLog:
    """The test-time rows of a log joined to their context's sleep decision and to their
    outcomes: one row per answered query. ``table`` holds the columns (Arrow); ``context``
    the context index per row, ``propensity`` the joint probability, ``reward`` and ``cost``
    (the query's USD, its share of its context's sleep-time cost included)."""

    table: Any
    context: Any
    propensity: Any
    reward: Any
    cost: Any
    dropped: int
    source: str

    @property
    def n(self) -> int:
        """Answered queries in the log."""
        return int(self.context.shape[0])


def read_logs(decisions: str | Path, outcomes: str | Path, *, missing: str = "error",
              features: Sequence[str] | None = None, ordered: bool = False) -> JoinedLog:  # fmt: skip
    """Read a decision log and its outcomes and join them (see the module). ``missing``:
    ``"error"`` (a decision without an outcome is an error) or ``"drop"`` (left out, counted).
    ``features``: the features to keep (a candidate's, e.g. :func:`needed_features`; None:
    all): a log of millions of rows is read only as far as the estimate needs it. ``ordered``:
    read the decisions sorted by request id (a part written by parallel workers, as
    :func:`split_logs` writes them, has no fixed row order; the folds follow the rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dpath, opath = Path(decisions), Path(outcomes)
    wanted = None if features is None else (*_COLUMNS, *(f"f.{n}" for n in features))
    log = _flatten_features(_read(dpath, _COLUMNS, wanted))
    if ordered and "request_id" in log.column_names:
        log = log.sort_by("request_id")
    if wanted is not None:  # a JSONL log's features are known only once flattened
        log = log.select([c for c in log.column_names if not c.startswith("f.") or c in wanted])
    for need in ("request_id", "kind", "context_id", "action", "propensity"):
        if need not in log.column_names:
            raise OffPolicyError(f"{dpath}: no {need!r} column; a decision log names {', '.join(_COLUMNS)} (sleeptime.runtime.DecisionLog writes one)")  # fmt: skip
    counts = pc.value_counts(log.column("request_id"))
    twice = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(twice):
        raise OffPolicyError(f"{dpath}: {len(twice)} request ids are logged more than once (e.g. {twice.field('values')[0]}); each decision needs its own")  # fmt: skip
    p = _floats(log, "propensity")
    bad = np.flatnonzero(~np.isfinite(p))
    if bad.size:
        raise OffPolicyError(f"{dpath}: {bad.size} decisions have no propensity ({_ids(log, bad)}); log with an Exploration, or with propensity 1 for a policy that never explores")  # fmt: skip
    bad = np.flatnonzero((p <= 0) | (p > 1))
    if bad.size:
        raise OffPolicyError(f"{dpath}: {bad.size} decisions have a propensity outside (0, 1] ({_ids(log, bad)}): an action taken had to be possible")  # fmt: skip
    is_sleep = pc.equal(log.column("kind"), "sleep")
    sleep, test = log.filter(is_sleep), log.filter(pc.invert(is_sleep))
    del log, is_sleep  # a log of millions of rows: each copy freed once the next exists
    if test.num_rows == 0:
        raise OffPolicyError(f"{dpath}: no test-time decisions (kind 'test'); nothing was answered")  # fmt: skip
    by_ctx = pc.value_counts(sleep.column("context_id"))
    again = by_ctx.filter(pc.greater(by_ctx.field("counts"), 1))
    if len(again):
        raise OffPolicyError(f"{dpath}: context {again.field('values')[0]} has {again.field('counts')[0]} sleep decisions; a context is decided once")  # fmt: skip
    keep = ["context_id", "request_id", "action", "propensity", "tokens", "expected_queries"]
    sleep = sleep.select([c for c in sleep.column_names if c in keep or c.startswith("f.")])
    sleep = sleep.rename_columns([f"sleep.{c}" if c != "context_id" else c for c in sleep.column_names])  # fmt: skip
    joined = test.join(sleep, keys="context_id", join_type="left outer", use_threads=False)
    del test, sleep
    lost = np.flatnonzero(joined.column("sleep.action").is_null().to_numpy(zero_copy_only=False))
    if lost.size:
        raise OffPolicyError(f"{dpath}: {lost.size} queries belong to contexts with no sleep decision ({_ids(joined, lost)}); log the context's ingestion too")  # fmt: skip
    out = _outcomes(opath)
    joined = joined.join(out, keys="request_id", join_type="left outer", use_threads=False)
    no_outcome = np.flatnonzero(joined.column("reward").is_null().to_numpy(zero_copy_only=False))
    dropped = 0
    if no_outcome.size:
        if missing != "drop":
            raise OffPolicyError(f"{opath}: {no_outcome.size} of {joined.num_rows} decisions have no outcome ({_ids(joined, no_outcome)}); wait for them, or pass missing='drop' (--drop-missing) to leave them out")  # fmt: skip
        dropped = int(no_outcome.size)
        joined = joined.filter(pc.invert(joined.column("reward").is_null()))
    sleep_cost = out.filter(pc.is_in(out.column("request_id"), value_set=joined.column("sleep.request_id").unique()))  # fmt: skip
    if sleep_cost.num_rows:  # sleep-time outcomes: their USD shared by the context's queries
        names = pa.table({"sleep.request_id": sleep_cost.column("request_id"), "sleep.usd": sleep_cost.column("usd")})  # fmt: skip
        joined = joined.join(
            names, keys="sleep.request_id", join_type="left outer", use_threads=False
        )
    # joins on one thread keep one order: the same log gives the same rows, folds and estimates
    codes = pc.dictionary_encode(joined.column("context_id")).combine_chunks()
    context = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    cost = _floats(joined, "usd")
    if "sleep.usd" in joined.column_names:
        cost = cost + np.nan_to_num(_floats(joined, "sleep.usd")) / np.bincount(context)[context]
    bad = np.flatnonzero(~np.isfinite(cost))
    if bad.size:
        raise OffPolicyError(f"{opath}: {bad.size} outcomes have no usd ({_ids(joined, bad)})")
    propensity = _floats(joined, "propensity") * _floats(joined, "sleep.propensity")
    return JoinedLog(joined, context, propensity, _floats(joined, "reward"), cost, dropped, str(dpath))  # fmt: skip


def _outcomes(path: Path) -> Any:
    """Outcome rows: ``request_id``, ``reward`` and ``usd``; a trace file's records (``correct``)
    read as rewards. JSONL is read as objects, those fields only (a trace record holds much
    else, of varying types); Parquet by its columns. An outcome that arrives twice is an
    error."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if path.is_dir() or path.suffix == ".parquet":
        t = _read(path, ("request_id", "reward", "correct", "usd", *_PARTS))
    elif not path.exists():
        raise OffPolicyError(f"{path}: no such file")
    else:
        rows: dict[str, list[Any]] = {"request_id": [], "reward": [], "usd": [], **{k: [] for k in _PARTS}}  # fmt: skip
        for n, r in jsonl_objects(path.read_text(encoding="utf-8"), path, error=OffPolicyError, what="an outcome"):  # fmt: skip
            if r.get("request_id") is None:
                continue  # a record of no logged request (a trace's other designs)
            reward = r.get("reward", r.get("correct"))
            if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not isinstance(r.get("usd"), (int, float)):  # fmt: skip
                raise OffPolicyError(f"{path}:{n}: request {r['request_id']}: reward (or correct) and usd must be numbers")  # fmt: skip
            rows["request_id"].append(str(r["request_id"]))
            rows["reward"].append(float(reward))
            rows["usd"].append(float(r["usd"]))
            for k in _PARTS:  # a number, else null (a bool is not one)
                rows[k].append(r[k] if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) else None)  # fmt: skip
        t = pa.table({"request_id": pa.array(rows["request_id"], pa.string()), "reward": pa.array(rows["reward"], pa.float64()),
                      "usd": pa.array(rows["usd"], pa.float64()), **{k: pa.array(rows[k], pa.float64()) for k in _PARTS if any(v is not None for v in rows[k])}})  # fmt: skip
    if "request_id" not in t.column_names:
        raise OffPolicyError(f"{path}: outcomes need a 'request_id' column (and 'reward', 'usd')")
    reward = "reward" if "reward" in t.column_names else "correct" if "correct" in t.column_names else None  # fmt: skip
    if reward is None or "usd" not in t.column_names:
        raise OffPolicyError(f"{path}: outcomes need 'reward' (or a trace's 'correct') and 'usd' columns")  # fmt: skip
    t = t.filter(pc.invert(t.column("request_id").is_null()))
    counts = pc.value_counts(t.column("request_id"))
    twice = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(twice):
        ids = ", ".join(map(str, twice.field("values")[:5].to_pylist()))
        raise OffPolicyError(f"{path}: {len(twice)} outcomes arrive more than once ({ids}); keep one per request")  # fmt: skip
    parts = {k: t.column(k).cast(pa.float64()) for k in _PARTS if k in t.column_names}
    return pa.table({"request_id": t.column("request_id").cast(pa.string()), "reward": t.column(reward).cast(pa.float64()),
                     "usd": t.column("usd").cast(pa.float64()), **parts})  # fmt: skip


@dataclass(frozen=True)
class LogEvaluation(AsJson):
    """A candidate's estimates on a log: per estimator, accuracy and USD per query with 95%
    intervals over resampled contexts; how much of the log agrees with the candidate."""

    candidate: str
    log: str
    queries: int
    contexts: int
    dropped: int
    matched: float
    estimates: dict[str, OffPolicyEstimate]


def needed_features(candidate: RuntimePolicy) -> tuple[str, ...]:
    """The features ``candidate`` reads, for :func:`read_logs`'s ``features``."""
    return tuple(dict.fromkeys((*candidate.query_features, *candidate.context_features_used)))


def candidate_actions(log: JoinedLog, candidate: RuntimePolicy) -> tuple[Any, Any, Any, Any]:
    """Per row: the logged sleep and test actions in the candidate's indexes, and the
    candidate's own (its sleep level for the context; its budget given the logged level where
    it agrees, else given its own level with the notes ready). An action the candidate cannot
    express is an error naming it."""
    return _candidate(log, candidate)[:4]


def _candidate(log: JoinedLog, candidate: RuntimePolicy) -> tuple[Any, Any, Any, Any, Any]:
    """:func:`candidate_actions` and the query features it read, ``(n, len(query_features))``."""
    t = log.table
    s_logged = _indexes(t, "sleep.action", candidate.sleep_levels, "sleep level", log.source)
    b_logged = _indexes(t, "action", candidate.budgets, "budget", log.source)
    xs = np.column_stack([_need(t, f, log.source, sleep=True) for f in candidate.context_features_used]) if candidate.context_features_used else np.zeros((t.num_rows, 0))  # fmt: skip
    s_cand = candidate.sleep_indexes(xs, _floats(t, "sleep.expected_queries"), _floats(t, "sleep.tokens"))  # fmt: skip
    xq = np.column_stack([_need(t, f, log.source) for f in candidate.query_features]) if candidate.query_features else np.zeros((t.num_rows, 0))  # fmt: skip
    ready = _ready(t)
    tokens = _floats(t, "tokens")
    same = s_cand == s_logged
    ready_c = np.where(same, ready, True)
    b_cand = candidate.test_indexes(xq, s_cand, ready_c, tokens)
    return s_logged, b_logged, s_cand, b_cand, xq


def _ready(t: Any) -> Any:
    """Per row: whether the context's notes were ready when the query was answered."""
    if "c_prime_ready" not in t.column_names:
        return np.zeros(t.num_rows, bool)
    return t.column("c_prime_ready").fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def _indexes(t: Any, column: str, names: Sequence[str], what: str, source: str) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = t.column(column)
    idx = pc.index_in(col, value_set=pa.array(list(names))).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(np.isnan(idx.astype(np.float64)))
    if bad.size:
        first = col[int(bad[0])].as_py()
        raise OffPolicyError(f"{source}: {bad.size} decisions took a {what} the candidate cannot express ({first!r} at request {t.column('request_id')[int(bad[0])]}); the candidate knows {', '.join(names)}")  # fmt: skip
    return idx.astype(np.int64)


def _need(t: Any, name: str, source: str, *, sleep: bool = False) -> Any:
    """A feature the candidate reads, per row, from the query's decision or (``sleep``) its
    context's (``expected_queries`` from that decision's own column)."""
    if sleep and name == "expected_queries" and "sleep.expected_queries" in t.column_names:
        v = _floats(t, "sleep.expected_queries")
    else:
        v = _feature(_sleep_view(t) if sleep else t, name)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise OffPolicyError(f"{source}: the candidate reads feature {name!r}, which {bad.size} logged decisions lack ({_ids(t, bad)}); evaluate a candidate on the features its router logs")  # fmt: skip
    return v


def _sleep_view(t: Any) -> Any:
    """The context's sleep decision's features, named as a row's own."""
    import pyarrow as pa

    cols = {c.removeprefix("sleep."): t.column(c) for c in t.column_names if c.startswith("sleep.f.")}  # fmt: skip
    return pa.table(cols) if cols else pa.table({"none": pa.nulls(t.num_rows)})


def evaluate_logs(log: JoinedLog, candidate: RuntimePolicy, *, name: str = "candidate", n_boot: int = 500, seed: int = 0,
                  estimators: Sequence[str] = ESTIMATORS, dm_rows: int = DM_ROWS, chunk: int = CHUNK) -> LogEvaluation:  # fmt: skip
    """The candidate's estimates on ``log`` by each estimator. The direct method's outcome
    models (gradient boosting on the features, the tokens, the context's logged query count and
    the two actions; one for the reward, one for the cost) are cross-fitted over two folds of
    contexts on at most ``dm_rows`` rows; predictions and sums go ``chunk`` rows at a time."""
    part = _Part(log, candidate, seed)
    models = part.fit(estimators, dm_rows, seed)
    sums, w_sum, w_sq, matched = part.sums(models, estimators, chunk)
    return _evaluation(
        name, log.source, sums, w_sum, w_sq, log.n, log.dropped, matched, n_boot, seed
    )


class _Part:
    """One log (or one part of a log split by context): the candidate's actions and the
    outcome models' inputs per row, and the fold of each row's context."""

    def __init__(self, log: JoinedLog, candidate: RuntimePolicy, seed: int) -> None:
        self.log = log
        self.s_log, self.b_log, self.s_c, self.b_c, xq = _candidate(log, candidate)
        count = np.bincount(log.context)[log.context].astype(np.float64)
        self.base = [xq[:, i] for i in range(xq.shape[1])] + [_floats(log.table, "tokens"), count]
        self.target = ((self.s_c == self.s_log) & (self.b_c == self.b_log)).astype(np.float64)
        self.n_ctx = int(log.context.max()) + 1
        self.rng = np.random.default_rng(seed)
        self.fold = self.rng.integers(0, 2, size=self.n_ctx)[log.context]

    def rows(self, lo: int, hi: int, s: Any, b: Any) -> Any:
        return np.column_stack([c[lo:hi] for c in self.base] + [s[lo:hi], b[lo:hi]])

    def fit(self, estimators: Sequence[str], dm_rows: int, seed: int) -> dict[tuple[int, int], Any]:
        """The outcome models (reward, cost) of each fold, fitted on the other fold's rows."""
        from sleeptime._boosting import boosting_regressor

        models: dict[tuple[int, int], Any] = {}
        if "dm" not in estimators and "dr" not in estimators:
            return models
        params = outcome_model_params(seed)
        for f in range(2):
            train = np.flatnonzero(self.fold != f)
            if train.size > dm_rows:
                train = np.sort(self.rng.choice(train, dm_rows, replace=False))
            x = np.column_stack(
                [c[train] for c in self.base] + [self.s_log[train], self.b_log[train]]
            )
            for k, y in enumerate((self.log.reward, self.log.cost)):
                models[f, k] = boosting_regressor(**params).fit(x, y[train])
        return models

    def sums(self, models: dict[tuple[int, int], Any], estimators: Sequence[str], chunk: int) -> tuple[dict[str, Any], float, float, float]:  # fmt: skip
        """Per estimator its per-context sums ``(4, n_contexts)`` (see :func:`estimates_from_sums`),
        the importance weights' sum and sum of squares, and the rows the candidate agrees with."""
        log, n_ctx = self.log, self.n_ctx
        sums = {e: np.zeros((4, n_ctx)) for e in estimators}  # reward top, reward bottom, cost top, cost bottom  # fmt: skip
        w_sum = w_sq = 0.0
        for lo in range(0, log.n, chunk):
            hi = min(lo + chunk, log.n)
            w = self.target[lo:hi] / log.propensity[lo:hi]
            w_sum, w_sq = w_sum + float(w.sum()), w_sq + float(np.sum(w**2))
            ctx = log.context[lo:hi]
            dm_l, dm_t = np.zeros((hi - lo, 2)), np.zeros((hi - lo, 2))
            if models:
                xl, xt, fo = self.rows(lo, hi, self.s_log, self.b_log), self.rows(lo, hi, self.s_c, self.b_c), self.fold[lo:hi]  # fmt: skip
                for f in range(2):
                    held = fo == f
                    if held.any():
                        for k in range(2):
                            dm_l[held, k] = models[f, k].predict(xl[held])
                            dm_t[held, k] = models[f, k].predict(xt[held])
            for e in estimators:
                for k, observed in enumerate((log.reward[lo:hi], log.cost[lo:hi])):
                    top = {"dm": dm_t[:, k], "ips": w * observed, "snips": w * observed,
                           "dr": dm_t[:, k] + w * (observed - dm_l[:, k])}[e]  # fmt: skip
                    bottom = w if e == "snips" else np.ones_like(w)
                    sums[e][2 * k] += np.bincount(ctx, weights=top, minlength=n_ctx)
                    sums[e][2 * k + 1] += np.bincount(ctx, weights=bottom, minlength=n_ctx)
        return sums, w_sum, w_sq, float(self.target.sum())


def _evaluation(name: str, source: str, sums: dict[str, Any], w_sum: float, w_sq: float, n: int, dropped: int, matched: float,
                n_boot: int, seed: int) -> LogEvaluation:  # fmt: skip
    ess = w_sum**2 / w_sq if w_sq > 0 else 0.0
    est = {e: estimates_from_sums(e, s, ess, n, n_boot=n_boot, seed=seed) for e, s in sums.items()}  # fmt: skip
    n_ctx = next(iter(sums.values())).shape[1] if sums else 0
    return LogEvaluation(name, source, n, n_ctx, dropped, matched / n if n else float("nan"), est)


def joint_actions(log: JoinedLog, candidate: RuntimePolicy) -> tuple[Any, Any, int]:
    """The logged joint action per row (sleep level times budget, ``s * n_budgets + b``), the
    candidate's, and how many joint actions there are."""
    s_log, b_log, s_c, b_c = candidate_actions(log, candidate)
    n_b = len(candidate.budgets)
    return s_log * n_b + b_log, s_c * n_b + b_c, len(candidate.sleep_levels) * n_b


def export_obp(log: JoinedLog, candidate: RuntimePolicy, path: str | Path) -> dict[str, Any]:
    """The log as Open Bandit Pipeline's bandit feedback (``.npz``: ``n_rounds``,
    ``n_actions``, ``action``, ``position``, ``reward``, ``pscore``, ``context``, and the
    candidate's ``action_dist`` of shape ``(n_rounds, n_actions, 1)``); rows are queries, the
    action the joint (sleep level, budget) pair. Written atomically; returns the arrays."""
    from sleeptime._atomic import atomic_path

    action, cand, n_actions = joint_actions(log, candidate)
    x = np.column_stack([_feature(log.table, f) for f in candidate.query_features] + [_floats(log.table, "tokens")])  # fmt: skip
    dist = np.zeros((log.n, n_actions, 1))
    dist[np.arange(log.n), cand, 0] = 1.0
    data = {"n_rounds": np.int64(log.n), "n_actions": np.int64(n_actions), "action": action, "position": np.zeros(log.n, np.int64),
            "reward": log.reward, "cost": log.cost, "pscore": log.propensity, "context": x, "context_index": log.context, "action_dist": dist}  # fmt: skip
    with atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
        np.savez(f, **data)
    return data


def export_vw(
    log: JoinedLog, candidate: RuntimePolicy, path: str | Path, *, lam: float | None = None
) -> int:
    """The log in Vowpal Wabbit's contextual-bandit format, one line per query:
    ``action:cost:probability | feature:value ...`` (actions 1-based joint pairs; cost
    ``lam * usd - reward``, ``lam`` the candidate's own operating point where None, so a lower
    cost is what the policy maximizes). Written atomically; returns the lines written."""
    from sleeptime._atomic import atomic_path

    action, _, _ = joint_actions(log, candidate)
    lam = candidate.lam if lam is None else lam
    cost = lam * log.cost - log.reward
    names = [*candidate.query_features, "tokens"]
    cols = [_feature(log.table, f) for f in candidate.query_features] + [_floats(log.table, "tokens")]  # fmt: skip
    with atomic_path(Path(path)) as tmp, tmp.open("w", encoding="utf-8") as f:
        for i in range(log.n):
            feats = " ".join(f"{n}:{c[i]:.6g}" for n, c in zip(names, cols, strict=True) if np.isfinite(c[i]))  # fmt: skip
            f.write(f"{action[i] + 1}:{cost[i]:.6g}:{log.propensity[i]:.6g} | {feats}\n")
    return log.n
