"""Policies judged on a real exploration run's measured table: the run's data split into
training and held-out contexts, the learned policies fitted to the measured outcomes, every
policy compared on the held-out contexts with intervals at each fixed Pareto point, the
simulator's outcome models held against the measurements, and an exported policy's decisions
scored offline. Every number is **measured**."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.policy._baselines import FixedPolicy, ThresholdPolicy, paper_policy
from sleeptime.policy._evaluate import Comparison, Group, PolicyRow, compare_policies
from sleeptime.policy._features import (
    ALL_FEATURES,
    CHEAP_POLICY_FEATURES,
    action_exploration_data,
    fit_policy,
)
from sleeptime.policy._learned import LearnedPolicy
from sleeptime.policy._measured import (
    MeasuredEnvironment,
    MeasuredError,
    MeasuredTable,
    measured_fixed_rows,
)
from sleeptime.simulators import SimItems
from sleeptime.workloads import Context, Workload

#: The paper panel the measured numbers are set beside (its prompts and benchmark family match
#: the built-in workload's word problems; the model is not the one measured).
PAPER_PANEL = ("stateful-gsm-symbolic-p1", "gpt-4o-mini")


@dataclass(frozen=True)
class MeasuredData:
    """A real exploration run ready to judge policies on: the workload's traced contexts and
    queries with their LM features, the environment on each split, and the split."""

    workload: Workload
    table: MeasuredTable
    items: SimItems
    env: MeasuredEnvironment
    train_idx: np.ndarray
    test_idx: np.ndarray
    split: str
    records: tuple[Mapping[str, Any], ...]

    def part(self, which: str) -> tuple[MeasuredEnvironment, SimItems]:
        """The environment and items of one split: ``"train"`` the training contexts, anything
        else the held-out ones; both renumbered from 0."""
        idx = self.train_idx if which == "train" else self.test_idx
        return self.env.for_table(self.table.subset(idx)), self.items.subset(idx)


def traced_workload(workload: Workload, table: MeasuredTable, source: str) -> Workload:
    """The contexts and queries of ``table``, in its order, from the workload they came from."""
    by_id = {c.context_id: c for c in workload.contexts}
    contexts = []
    for ci, cid in enumerate(table.context_ids):
        ctx = by_id.get(cid)
        if ctx is None:
            raise MeasuredError(f"the traces' context {cid!r} is not in {source}; pass the workload the run was collected on (sleeptime collect's SOURCE and options)")  # fmt: skip
        qids = [table.query_ids[j] for j in np.flatnonzero(table.query_context == ci)]
        queries = {q.query_id: q for q in ctx.queries}
        missing = [q for q in qids if q not in queries]
        if missing:
            raise MeasuredError(f"the traces' queries {missing} of context {cid!r} are not in {source}")  # fmt: skip
        contexts.append(Context(ctx.context_id, ctx.context, tuple(queries[q] for q in qids), ctx.meta))  # fmt: skip
    return Workload(tuple(contexts), workload.format, workload.source, workload.report)


def train_measured_policies(data: MeasuredData, *, seed: int = 0) -> list[LearnedPolicy]:
    """The learned policy and its cheap-feature variant, fitted to the training contexts'
    measured outcomes (0/1) and costs."""
    env, items = data.part("train")
    out = []
    for features, name in ((ALL_FEATURES, "learned"), (CHEAP_POLICY_FEATURES, "learned-cheap")):
        d = action_exploration_data(env, items, features, seed=seed)
        out.append(fit_policy(d, features, seed=seed, name=name))
    return out


def most_accurate_fixed_usd_per_1k(env: MeasuredEnvironment, items: SimItems) -> float:
    """USD per 1k queries of the most accurate fixed strategy of one model (the cheapest among
    ties; across models, the strategies whose notes one model writes and another reads are
    not operating points)."""
    tables = env.action_tables(items)
    best = (-math.inf, math.inf)
    for s in range(env.n_sleep):
        for b in range(env.n_budgets):
            if not env.single_model(s, b):
                continue
            acc, usd = tables.evaluate(np.full(items.n_contexts, s), np.full(items.n_queries, b))
            if (acc, -usd) > (best[0], -best[1]):
                best = (acc, usd)
    return 1000 * best[1]


@dataclass(frozen=True)
class ActionError:
    """One action's held-out accuracy and tokens, measured and as two outcome models predict
    them (the one fitted to the training contexts' traces, the paper-calibrated one)."""

    sleep_level: str
    budget: str
    queries: int
    measured_accuracy: float
    trace_model_accuracy: float
    paper_model_accuracy: float
    measured_test_tokens: float
    trace_model_test_tokens: float
    paper_model_test_tokens: float

    @property
    def trace_model_error(self) -> float:
        """The trace-fitted model's accuracy minus the measured one (a difference of shares)."""
        return self.trace_model_accuracy - self.measured_accuracy

    @property
    def paper_model_error(self) -> float:
        """The paper-calibrated model's accuracy minus the measured one (a difference of
        shares)."""
        return self.paper_model_accuracy - self.measured_accuracy

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of every field and both errors, as ``--json`` prints it."""
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__},
                "trace_model_error": self.trace_model_error, "paper_model_error": self.paper_model_error}  # fmt: skip


def paper_budget(budget: str, n_levels: int) -> int:
    """The paper model's budget level for a measured verbosity budget ``bV`` (V in 0-4): the
    digitized points in order of their tokens, spread over the five verbosity prompts."""
    v = int(budget.removeprefix("b")) if budget.removeprefix("b").isdigit() else 0
    return min(round(v * (n_levels - 1) / 4), n_levels - 1)


def outcome_model_errors(data: MeasuredData) -> list[ActionError]:
    """Per action: held-out accuracy and tokens measured, predicted by a
    :class:`~sleeptime.simulators.TraceOutcomeModel` fitted to the training contexts' traces
    (logistic in the question's log p(q | c)), and by the paper-calibrated model."""
    from sleeptime.simulators import TraceOutcomeModel, paper_outcome_model

    t = data.table
    levels = data.env.outcome.sleep_levels
    train_env, train_items = data.part("train")
    test_env, test_items = data.part("test")
    tt, ht = train_env.table, test_env.table
    records = [
        {"sleep_action": s, "test_action": b, "correct": float(tt.correct[s, b, j]),
         "test_output_tokens": float(tt.test_output_tokens[s, b, j]),
         "sleep_output_tokens": float(tt.sleep_output_tokens[s, tt.query_context[j]]),
         "observed_predictability": float(train_items.observed_predictability[j])}
        for s in range(len(levels)) for b in range(len(t.budgets)) for j in range(tt.n_queries)
    ]  # fmt: skip
    fitted = TraceOutcomeModel.fit(records, sleep_levels=levels, budgets=t.budgets)
    paper = paper_outcome_model(*PAPER_PANEL)
    paper_levels = [lv.name for lv in paper.sleep_levels]
    out = []
    n = ht.n_queries
    for s, level in enumerate(t.sleep_levels):
        for b, budget in enumerate(t.budgets):
            o = fitted.outcome(
                difficulty=np.zeros(n), predictability=np.zeros(n), sleep_action=np.full(n, s),
                test_action=np.full(n, b), served_with_sleep=np.full(n, s > 0), context_sleep_action=np.full(test_items.n_contexts, s),
                features={"observed_predictability": test_items.observed_predictability},
            )  # fmt: skip
            ps = paper_levels.index(level) if level in paper_levels else min(1, len(paper_levels) - 1) * (s > 0)  # fmt: skip
            pb = paper_budget(budget, len(paper.budgets))
            paper_tokens = (paper.tokens_sleep_time if ps else paper.tokens_test_only)[pb]
            out.append(ActionError(level, budget, n, float(ht.correct[s, b].mean()), float(o.p_correct.mean()),
                                   paper.mean_accuracy(ps, pb), float(ht.test_output_tokens[s, b].mean()),
                                   float(o.test_output_tokens.mean()), float(paper_tokens)))  # fmt: skip
    return out


def _decider(
    lt: Any, items: SimItems, env: MeasuredEnvironment
) -> Callable[[float], tuple[Any, Any]]:
    return lambda lam: lt.decide(items, env, lam)


def point_intervals(comparison: Comparison, env: MeasuredEnvironment, items: SimItems, policies: Sequence[LearnedPolicy],
                    *, n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """At every fixed strategy on the fixed Pareto front: each swept policy's first swept point
    that reaches its accuracy, that point's accuracy and cost change against the strategy, and a
    paired 95% bootstrap interval of the change over contexts (negative is cheaper)."""
    from sleeptime.policy._baselines import oracle_decisions
    from sleeptime.policy._evaluate import LearnedTables, paired_bootstrap, per_context_sums
    from sleeptime.policy._sweeps import at_equal_accuracy

    tables = comparison.tables
    expected = items.context_features.get("expected_queries")
    deciders: dict[str, Callable[[float], tuple[Any, Any]]] = {
        "oracle": lambda lam: oracle_decisions(tables, lam)
    }
    if expected is not None:
        deciders["oracle-count-blind"] = lambda lam: oracle_decisions(tables, lam, counts="expected", expected_queries=expected)  # fmt: skip
    for policy in policies:
        deciders[policy.name] = _decider(LearnedTables.build(policy, items), items, env)
    fixed = {env.fixed_name(s, b): (np.full(items.n_contexts, s, dtype=np.int64), np.full(items.n_queries, b, dtype=np.int64))
             for s in range(env.n_sleep) for b in range(env.n_budgets)}  # fmt: skip
    out = []
    for point in comparison.operating_points():
        _, c_fixed = per_context_sums(tables, *fixed[point.fixed])
        row: dict[str, Any] = {"fixed": point.fixed, "accuracy": point.accuracy, "usd_per_1k_queries": point.usd_per_1k_queries, "policies": {}}  # fmt: skip
        for name, decide in deciders.items():
            lam, _ = at_equal_accuracy(comparison.swept[name].sweep, point.accuracy)
            if not math.isfinite(lam):
                row["policies"][name] = None
                continue
            decisions = decide(lam)
            acc, c_policy = per_context_sums(tables, *decisions)

            def change(
                w: np.ndarray, c_policy: np.ndarray = c_policy, c_fixed: np.ndarray = c_fixed
            ) -> float:
                return float(w @ c_policy) / float(w @ c_fixed) - 1

            row["policies"][name] = {
                "accuracy": float(acc.sum() / items.n_queries), "cost_change_at_reaching_point": change(np.ones(items.n_contexts)),
                "ci95": paired_bootstrap(change, items.n_contexts, n_boot=n_boot, seed=seed),
            }  # fmt: skip
        out.append(row)
    return out


def compare_measured(data: MeasuredData, *, budget_usd_per_1k: float | None = None, seed: int = 0,
                     progress: Callable[[str], None] | None = None) -> tuple[Comparison, tuple[PolicyRow, ...], list[dict[str, Any]], list[LearnedPolicy]]:  # fmt: skip
    """Fixed strategies, the paper's strategy, the threshold rule, the learned policies and
    both oracles on the held-out contexts, from the measured table; the fixed strategies that
    answer from the other sleep-time view, the intervals at each fixed Pareto point, and the
    learned policies judged (fitted on the training contexts)."""
    policies = train_measured_policies(data, seed=seed)
    env, items = data.part("test")
    train_pp = data.items.subset(data.train_idx).context_features["predicted_predictability"]
    threshold = ThresholdPolicy(float(np.median(train_pp)), 3.0)
    if budget_usd_per_1k is None:
        budget_usd_per_1k = most_accurate_fixed_usd_per_1k(env, items)
    paper = paper_policy()
    if data.table.test_models:  # across models: say whose notes and whose answer
        paper = FixedPolicy(
            1, 0, name=f"paper({data.table.sleep_levels[1]},{data.table.budgets[0]})"
        )
    comparison = compare_policies(env, items, learned=policies, extra=[paper, threshold],
                                  budget_usd_per_1k=budget_usd_per_1k, seed=seed, progress=progress)  # fmt: skip
    other: tuple[PolicyRow, ...] = ()
    other_view = "c_prime" if data.table.view == "both" else "both"
    if any(r.get("view") == other_view for r in data.records):
        other_table = MeasuredTable.from_records(data.records, view=other_view)
        if other_table.context_ids == data.table.context_ids:
            # the same queries, in the same order
            index = {(int(c), q): j for j, (c, q) in enumerate(zip(other_table.query_context, other_table.query_ids, strict=True))}  # fmt: skip
            cols = [index[(int(c), q)] for c, q in zip(data.table.query_context, data.table.query_ids, strict=True)]  # fmt: skip
            other_env = env.for_table(other_table.take(cols).subset(data.test_idx))
            suffix = "c' only" if other_view == "c_prime" else "c and c'"
            other = tuple(measured_fixed_rows(other_env, items, group=Group.BASELINE, suffix=suffix, seed=seed))  # fmt: skip
    return comparison, other, point_intervals(comparison, env, items, policies, seed=seed), policies


def export_measured_policy(data: MeasuredData, learned: LearnedPolicy, out: str | Path, *, config: Mapping[str, Any],
                           mlflow_run_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Distil a policy learned on a real run (on the training contexts, and the held-out
    contexts' features: no outcome read), and write its artifact: its budgets carry the run's
    own request parameters (``max_tokens``, verbosity), so a router serves what was judged."""
    from sleeptime.policy._export import chars_per_token, distill, policy_artifact, write_artifact

    train = data.items.subset(data.train_idx)
    distilled = distill(learned, train, transfer=data.items.subset(data.test_idx), max_depth=10, min_samples_leaf=2, seed=0)  # fmt: skip
    artifact = policy_artifact(distilled, data.env, config={**config, "measured_on": data.table.model},
                               mlflow_run_id=mlflow_run_id, chars_per_token=chars_per_token(data.workload, train))  # fmt: skip
    write_artifact(artifact, out)
    return artifact


@dataclass(frozen=True)
class OfflineEstimate:
    """An exported policy's decisions on some contexts, scored on the exploration table
    (measured): accuracy and USD per query with 95% bootstrap intervals over contexts."""

    contexts: int
    queries: int
    accuracy: float
    accuracy_ci95: tuple[float, float]
    usd_per_query: float
    usd_per_query_ci95: tuple[float, float]
    decisions: Mapping[str, tuple[str, tuple[tuple[str, str, str], ...]]]

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the estimate without its decisions, as ``--json`` prints it."""
        return {k: getattr(self, k) for k in ("contexts", "queries", "accuracy", "accuracy_ci95", "usd_per_query", "usd_per_query_ci95")}  # fmt: skip


PREFIX_CACHES = ("explored", "warm")


@dataclass(frozen=True)
class WarmPrefix:
    """The prompt tokens an answer shares with the context's other answers on the same model
    and view (system prompt, ``c``, ``c'``: everything before the question), as measured on the
    exploration: ``input - tokens_per_question_char * question_chars - tail``.
    ``tokens_per_question_char``: fitted across the answers of one (context, action), which
    differ only by the question; ``tail``: the prompt after the question (its instruction and the
    chat template's end), the median of what the exploration's own prefix hits left uncached."""

    tokens_per_question_char: float
    tail: float
    hits: int

    def cached(self, t: MeasuredTable, question_chars: np.ndarray) -> np.ndarray:
        """``(s, b, q)``: the cached prompt tokens of an answer whose context's prefix is warm
        (never fewer than the exploration read, never more than its prompt)."""
        shared = t.test_input_tokens - self.tokens_per_question_char * question_chars[None, None, :] - self.tail  # fmt: skip
        return np.clip(shared, t.cached_prompt_tokens, t.test_input_tokens)


def question_chars(workload: Workload, t: MeasuredTable) -> np.ndarray:
    """The characters of each question (column) of ``t``, from its workload."""
    texts = {(c.context_id, q.query_id): q.question for c in workload.contexts for q in c.queries}
    return np.array([len(texts[t.context_ids[c], q]) for c, q in zip(t.query_context, t.query_ids, strict=True)], dtype=np.float64)  # fmt: skip


def warm_prefix(t: MeasuredTable, question_chars: np.ndarray) -> WarmPrefix:
    """:class:`WarmPrefix` fitted on the exploration table ``t`` (``question_chars`` per column).
    Raises MeasuredError where the table has no answers to fit it on (one query per context, or
    no answer whose prompt cache covered its context)."""
    x = np.broadcast_to(question_chars, t.test_input_tokens.shape).astype(np.float64)
    y = t.test_input_tokens.astype(np.float64)
    dx, dy = [], []
    for c in range(t.n_contexts):
        cols = np.flatnonzero(t.query_context == c)
        if cols.size > 1:
            dx.append((x[..., cols] - x[..., cols].mean(axis=-1, keepdims=True)).ravel())
            dy.append((y[..., cols] - y[..., cols].mean(axis=-1, keepdims=True)).ravel())
    ddx, ddy = (np.concatenate(dx), np.concatenate(dy)) if dx else (np.zeros(0), np.zeros(0))
    if not ddx.size or not np.any(ddx):
        raise MeasuredError("a warm prefix is fitted on contexts with two or more questions of different lengths; this table has none")  # fmt: skip
    a = float(ddx @ ddy / (ddx @ ddx))
    # left uncached by a hit: the question and the tail when the hit covered the context's
    # prefix (a hit on the system prompt alone leaves most of the prompt, above half of it)
    left = y - t.cached_prompt_tokens - a * x
    covered = (t.cached_prompt_tokens > 0) & (left >= 0) & (left < 0.5 * y)
    if not covered.any():
        raise MeasuredError("no answer of the exploration read its context's prefix from the prompt cache, so the prompt after the question is not measured; estimate with prefix_cache='explored'")  # fmt: skip
    return WarmPrefix(a, float(np.median(left[covered])), int(covered.sum()))


def offline_estimate(data: MeasuredData, artifact: str | Path, contexts: np.ndarray, *, expected_queries: float | None = None,
                     n_boot: int = 1000, seed: int = 0, prefix_cache: str = "explored") -> OfflineEstimate:  # fmt: skip
    """What the artifact's decisions (as a router makes them: from the text's cheap features)
    score on ``contexts`` of the exploration table; an answer without ``c'`` (the policy chose
    not to send it) is read from the test-only row, its context still paying for the notes.

    ``prefix_cache``: how much of an answer's prompt is read from a prompt cache. ``explored``:
    as much as in the exploration (whose grid interleaves a context's actions, so most hits
    are the system prompt). ``warm``: as a deployment that serves a context's questions while
    its prefix is cached (a server's prompt cache that holds the contexts in flight, a
    provider's within its TTL): the first answer of a context on a model and view as explored,
    each later one reads the shared prefix (:func:`warm_prefix`) from the cache."""
    from sleeptime.runtime import RuntimePolicy, cheap_features
    from sleeptime.simulators import bootstrap_interval

    if prefix_cache not in PREFIX_CACHES:
        raise MeasuredError(f"prefix_cache {prefix_cache!r}: use one of {', '.join(PREFIX_CACHES)}")
    policy = RuntimePolicy.load(artifact)
    t = data.table.subset(np.sort(contexts))
    test_usd, sleep_usd = t.usd(data.env.prices, data.env.model, data.env.sleep_discount)
    by_id = {c.context_id: c for c in data.workload.contexts}
    warm_usd = test_usd
    if prefix_cache == "warm":
        fit = warm_prefix(data.table, question_chars(data.workload, data.table))  # the whole exploration  # fmt: skip
        warm = replace(t, cached_prompt_tokens=fit.cached(t, question_chars(data.workload, t)))
        warm_usd = warm.usd(data.env.prices, data.env.model, data.env.sleep_discount)[0]
    correct, usd, decisions = [], [], {}
    for ci, cid in enumerate(t.context_ids):
        ctx = by_id[cid]
        cols = np.flatnonzero(t.query_context == ci)
        seen: set[tuple[str, str]] = set()  # (answering model, view) whose prefix is cached
        feats = {
            **cheap_features(ctx.context),
            "expected_queries": expected_queries or float(cols.size),
        }
        tokens = len(ctx.context) / policy.chars_per_token
        level = policy.decide_sleep(feats, context_tokens=tokens)["sleep_level"]
        s = t.sleep_levels.index(level)
        per_query = []
        qtext = {q.query_id: q.question for q in ctx.queries}
        for j in cols:
            question = qtext[t.query_ids[j]]
            d = policy.decide_test({**feats, "question_chars": float(len(question))}, sleep_level=level, c_prime_ready=True,
                                   prompt_tokens=tokens + len(question) / policy.chars_per_token)  # fmt: skip
            b = t.budgets.index(d["budget"])
            view = "both" if s and d["send_c_prime"] else "c"
            s_eff = s if view == "both" else 0
            correct.append(float(t.correct[s_eff, b, j]))
            key = (t.test_models[b] if t.test_models else "", view)
            answer = (warm_usd if key in seen else test_usd)[s_eff, b, j]
            seen.add(key)
            usd.append(float(answer + sleep_usd[s, ci] / cols.size))
            per_query.append((t.query_ids[j], d["budget"], view))
        decisions[cid] = (level, tuple(per_query))
    c, u = np.array(correct), np.array(usd)
    return OfflineEstimate(
        t.n_contexts, t.n_queries, float(c.mean()), bootstrap_interval(c, t.query_context, t.n_contexts, n_boot=n_boot, seed=seed),
        float(u.mean()), bootstrap_interval(u, t.query_context, t.n_contexts, n_boot=n_boot, seed=seed), decisions,
    )  # fmt: skip
