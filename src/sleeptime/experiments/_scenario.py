"""The scenario of the policy experiments: workload, scores, arrivals, splits, features, traces."""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime.estimators import CHEAP_FEATURES, LM_FEATURES
from sleeptime.policy import Environment, LearnedPolicy, question_offsets
from sleeptime.simulators import (
    SimItems,
    items_from_workload,
    load_price_book,
    paper_outcome_model,
)
from sleeptime.workloads import (
    BUILTIN_QUERY_MEANS,
    ArrivalProcess,
    ExponentialDurations,
    Workload,
    generate_workload,
)

FloatArray = NDArray[np.float64]

#: Mean queries per context by domain: hot and cold documents; the mean over domains is 4.
DOMAIN_QUERY_MEANS: dict[str, float] = dict(BUILTIN_QUERY_MEANS)

#: Features of the full policy: LM and cheap context features, the query's log p(q|c) and
#: length, the predicted predictability and expected queries of its context.
ALL_FEATURES = (
    *LM_FEATURES,
    *CHEAP_FEATURES,
    "logprob_mean",
    "n_tokens",
    "predicted_predictability",
    "expected_queries",
)
#: Features a router can compute without a language model.
CHEAP_POLICY_FEATURES = (
    *CHEAP_FEATURES,
    "question_chars",
    "predicted_predictability_cheap",
    "expected_queries",
)


@dataclass
class ScenarioConfig:
    """Everything that defines a scenario; logged as the run's parameters."""

    n_contexts: int = 1400
    seed: int = 0
    benchmark: str = "stateful-gsm-symbolic-p1"
    model: str = "gpt-4o-mini"
    prices: str = "list-2025"
    rho_predictability: float = 0.5
    rho_difficulty: float = 0.5
    idle_mean_s: float = 3600.0
    gap_mean_s: float = 600.0
    domain_query_means: Mapping[str, float] = field(
        default_factory=lambda: dict(DOMAIN_QUERY_MEANS)
    )
    test_share: float = 0.4
    #: how many queries a context gets: ``geometric`` (memoryless), ``gamma-poisson`` (rates
    #: vary by context, shape ``dispersion``), ``self-exciting`` (bursts), each with the domain
    #: means; or ``fitted`` (the best family fitted to ``access_log``, one mean for all)
    arrivals: str = "geometric"
    dispersion: float = 0.5
    access_log: str | None = None

    def to_params(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "domain_query_means"}
        out.update({f"queries_mean.{d}": m for d, m in self.domain_query_means.items()})
        return out


@dataclass
class Scenario:
    """Train and held-out items in one environment, split by template (no template leaks)."""

    config: ScenarioConfig
    env: Environment
    workload: Workload
    train: SimItems
    test: SimItems
    train_templates: tuple[str, ...]
    test_templates: tuple[str, ...]


def template_split(workload: Workload, test_share: float, seed: int) -> tuple[set[str], set[str]]:
    """Templates for training and for testing, stratified by domain."""
    by_domain: dict[str, list[str]] = {}
    for ctx in workload.contexts:
        names = by_domain.setdefault(str(ctx.meta.get("domain", "")), [])
        if ctx.meta["template"] not in names:
            names.append(str(ctx.meta["template"]))
    rng = random.Random(seed)
    test: set[str] = set()
    for names in by_domain.values():
        k = max(1, round(len(names) * test_share)) if len(names) > 1 else 0
        test.update(rng.sample(sorted(names), k))
    train = {t for names in by_domain.values() for t in names} - test
    return train, test


def build_scenario(
    config: ScenarioConfig,
    *,
    scores: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    progress: bool = True,
) -> Scenario:
    """Generate the built-in workload, score it under the default LM (cached), draw arrivals
    (geometric queries per context with a mean per domain), split by template, and add the
    context features the policies read."""
    from sleeptime.estimators import CausalLMScorer, score_workload

    cfg = config
    workload = generate_workload(cfg.n_contexts, seed=cfg.seed)
    if scores is None:
        rows = score_workload(workload, CausalLMScorer(), progress=progress)
        scores = {(r["context_id"], r["query_id"]): r for r in rows}
    means = np.array(
        [cfg.domain_query_means.get(str(c.meta.get("domain")), 4.0) for c in workload.contexts]
    )
    process = scenario_arrivals(cfg, means)
    items = items_from_workload(
        workload, arrivals=process, scores=scores, rho_predictability=cfg.rho_predictability,
        rho_difficulty=cfg.rho_difficulty, seed=cfg.seed,
    )  # fmt: skip
    train_t, test_t = template_split(workload, cfg.test_share, cfg.seed)
    templates = np.array([str(c.meta["template"]) for c in workload.contexts])
    train_idx = np.flatnonzero(np.isin(templates, sorted(train_t)))
    test_idx = np.flatnonzero(np.isin(templates, sorted(test_t)))
    items = add_policy_features(workload, items, scores, train_idx, test_idx, cfg.seed)
    env = Environment(
        paper_outcome_model(cfg.benchmark, cfg.model), load_price_book(cfg.prices), cfg.model
    )
    return Scenario(
        cfg,
        env,
        workload,
        items.subset(train_idx),
        items.subset(test_idx),
        tuple(sorted(train_t)),
        tuple(sorted(test_t)),
    )


#: The arrival families a scenario names (``ScenarioConfig.arrivals``).
SCENARIO_ARRIVALS = ("geometric", "gamma-poisson", "self-exciting", "fitted")


def scenario_arrivals(cfg: ScenarioConfig, means: FloatArray) -> ArrivalProcess:
    """The scenario's arrival process: its count family with the domain means (per context),
    idle windows and gaps exponential with the configured means; ``fitted`` samples the best
    family fitted to the access log instead."""
    from sleeptime.workloads import count_law, fit_arrivals

    idle, gap = ExponentialDurations(cfg.idle_mean_s), ExponentialDurations(cfg.gap_mean_s)
    if cfg.arrivals in ("geometric", "gamma-poisson", "self-exciting"):
        queries = count_law(cfg.arrivals, means, shape=cfg.dispersion, delay_mean_s=cfg.gap_mean_s)
    elif cfg.arrivals == "fitted":
        if not cfg.access_log:
            raise ValueError(
                "arrivals = 'fitted' needs an access log (access_log = PATH, or --access-log)"
            )
        fitted = fit_arrivals(cfg.access_log, seed=cfg.seed, idle_mean_s=cfg.idle_mean_s).process
        return dataclasses.replace(fitted, idle=idle)
    else:
        raise ValueError(f"arrivals must be one of {', '.join(SCENARIO_ARRIVALS)}, got {cfg.arrivals!r}")  # fmt: skip
    return ArrivalProcess(queries=queries, idle=idle, gap=gap)


def add_policy_features(
    workload: Workload,
    items: SimItems,
    scores: Mapping[tuple[str, str], Mapping[str, Any]],
    train_idx: NDArray[np.int64],
    test_idx: NDArray[np.int64],
    seed: int,
) -> SimItems:
    """The items with the context features the policies read: predicted predictability (all
    and cheap features; out-of-fold on the training contexts), expected queries (the training
    contexts' history by domain), and each question's features imputed per context."""
    templates = np.array([str(c.meta.get("template", c.context_id)) for c in workload.contexts])
    domains = np.array([str(c.meta.get("domain")) for c in workload.contexts])
    question_chars = _question_chars(workload, items)
    predicted, predicted_cheap = _predicted_predictability(workload, items, scores, templates, train_idx, test_idx, seed)  # fmt: skip
    expected = _expected_queries(items, domains, train_idx)
    ctx_extra = {
        "predicted_predictability": predicted,
        "predicted_predictability_cheap": predicted_cheap,
        "expected_queries": expected,
        # a question's features are unknown at sleep time: impute them from the context
        "logprob_mean": predicted,
        "n_tokens": np.full(workload.n_contexts, float(items.features["n_tokens"].mean())),
        "question_chars": np.full(workload.n_contexts, float(question_chars.mean())),
    }
    query_extra = {k: items.per_query(v) for k, v in ctx_extra.items() if k not in QUESTION_LEVEL}
    query_extra["question_chars"] = question_chars
    return dataclasses.replace(
        items,
        features={**items.features, **query_extra},
        context_features={**items.context_features, **ctx_extra},
    )


#: Features of a question, known only when it arrives (imputed per context at sleep time).
QUESTION_LEVEL = frozenset({"logprob_mean", "n_tokens", "question_chars"})


def _question_chars(workload: Workload, items: SimItems) -> FloatArray:
    """Per query: its question's length in characters (what a router computes without an LM)."""
    texts = {(c.context_id, q.query_id): q.question for c in workload.contexts for q in c.queries}
    ids = items.context_ids or ()
    qids = items.query_ids or ()
    return np.array(
        [len(texts[(ids[c], q)]) for c, q in zip(items.query_context, qids, strict=True)],
        dtype=np.float64,
    )


def _predicted_predictability(
    workload: Workload,
    items: SimItems,
    scores: Mapping[tuple[str, str], Mapping[str, Any]],
    templates: NDArray[Any],
    train_idx: NDArray[np.int64],
    test_idx: NDArray[np.int64],
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Context-only predictions of a context's mean log p(q | c), from all context features and
    from the cheap ones: out-of-fold on the training templates (so that training sees honest
    predictions), fitted on all training contexts for the held-out ones."""
    from sleeptime.estimators import PredictabilityPredictor

    ctx_mean_lp = np.array(
        [
            np.mean([float(scores[(c.context_id, q.query_id)]["logprob_mean"]) for q in c.queries])
            for c in workload.contexts
        ]
    )
    f = items.context_features
    lm_cheap = np.column_stack([f[n] for n in (*LM_FEATURES, *CHEAP_FEATURES)])
    cheap = np.column_stack([f[n] for n in CHEAP_FEATURES])
    # a stable fold per template (Python's hash() of a string changes between processes)
    folds = np.array([zlib.crc32(t.encode()) % 5 for t in templates])
    out = []
    for X in (lm_cheap, cheap):
        target = np.empty(workload.n_contexts)
        for k in range(5):
            fit_rows = train_idx[folds[train_idx] != k]
            pred_rows = train_idx[folds[train_idx] == k]
            if pred_rows.size and not fit_rows.size:  # every training context in one fold
                target[pred_rows] = float(ctx_mean_lp[train_idx].mean())
            elif pred_rows.size:
                target[pred_rows] = (
                    PredictabilityPredictor(random_state=seed)
                    .fit(X[fit_rows], ctx_mean_lp[fit_rows])
                    .predict(X[pred_rows])
                )
        target[test_idx] = (
            PredictabilityPredictor(random_state=seed)
            .fit(X[train_idx], ctx_mean_lp[train_idx])
            .predict(X[test_idx])
        )
        out.append(target)
    return out[0], out[1]


def _expected_queries(
    items: SimItems, domains: NDArray[Any], train_idx: NDArray[np.int64]
) -> FloatArray:
    """Per context: the mean number of queries of its domain in the training contexts' history
    (the overall training mean for a domain never seen)."""
    counts = items.queries_per_context().astype(np.float64)
    domain_mean = {
        d: float(counts[train_idx][domains[train_idx] == d].mean()) for d in set(domains[train_idx])
    }
    return np.array([domain_mean.get(d, float(counts[train_idx].mean())) for d in domains])


def _line(x: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares (intercept, slope) of y on x; a constant where x does not vary."""
    if x.size == 0:
        return np.zeros(2)
    if np.ptp(x) == 0:
        return np.array([float(y.mean()), 0.0])
    slope, intercept = np.polyfit(x, y, 1)
    return np.array([intercept, slope])


@dataclass(frozen=True)
class ExplorationData:
    """Training data for :class:`LearnedPolicy` from items replayed under every action pair.

    ``X``: rows of features then two action columns (effective sleep level, budget); ``y``:
    the chance of a correct answer (or 0/1 outcomes); the cost tables measured in the replays:
    ``test_usd[s, b]`` (a query's own cost, intercept and USD per prompt token), ``sleep_usd[s]``
    (a context's sleep-time cost, intercept and USD per context token) and ``ready_share[s]``
    (queries finding ``c'`` ready); and the question draws the sleep decision averages over
    (:func:`~sleeptime.policy.question_offsets`).
    """

    X: FloatArray
    y: FloatArray
    test_usd: FloatArray
    sleep_usd: FloatArray
    ready_share: FloatArray
    question_offsets: FloatArray


def exploration_data(
    scenario: Scenario, features: Sequence[str], *, mode: str = "expected"
) -> ExplorationData:
    """Training data from the training items replayed under every action pair.

    In ``"expected"`` mode each row's target is the simulator's probability of a correct
    answer (the policy never sees the latents behind it, only this target, as it would see
    0/1 outcomes in logs); ``"sampled"`` gives 0/1 outcomes, as logged traces of real runs
    would.
    """
    return action_exploration_data(scenario.env, scenario.train, features, mode=mode, seed=scenario.config.seed)  # fmt: skip


def action_exploration_data(
    env: Environment,
    items: SimItems,
    features: Sequence[str],
    *,
    mode: str = "expected",
    seed: int = 0,
) -> ExplorationData:
    """:func:`exploration_data` for any environment and items: on a measured environment the
    targets are the measured 0/1 outcomes and the costs the measured ones."""
    tables = env.action_tables(items)
    assert tables.sleep_usd is not None
    F = np.column_stack([items.features[n] for n in features])
    n_s, n_b = env.n_sleep, env.n_budgets
    counts = items.per_query(tables.counts.astype(np.float64))
    rng = np.random.default_rng(seed + 17)
    X_parts, y_parts = [], []
    test_usd = np.zeros((n_s, n_b, 2))  # (intercept, USD per prompt token)
    sleep_usd = np.zeros((n_s, 2))  # (intercept, USD per context token)
    prompt = items.per_query(items.context_tokens) + items.question_tokens
    for s in range(n_s):
        ctx_usd = items.per_query(tables.sleep_usd[s])  # the context's sleep-time USD, per query
        sleep_usd[s] = _line(items.context_tokens, tables.sleep_usd[s])
        rows = tables.ready[s] if s else np.ones(items.n_queries, dtype=bool)
        for b in range(n_b):
            test_usd[s, b] = _line(prompt[rows], (tables.usd[s, b] - ctx_usd / counts)[rows])
            target = tables.p[s, b, rows]
            if mode == "sampled":
                target = (rng.random(target.shape[0]) < target).astype(np.float64)
            X_parts.append(
                np.column_stack([F[rows], np.full(rows.sum(), s), np.full(rows.sum(), b)])
            )
            y_parts.append(target)
    return ExplorationData(
        np.vstack(X_parts),
        np.concatenate(y_parts),
        test_usd,
        sleep_usd,
        tables.ready.mean(axis=1),
        question_offsets(items.features, items.context_features, items.query_context, features),
    )


def train_learned_policy(
    scenario: Scenario,
    *,
    features: Sequence[str] = ALL_FEATURES,
    name: str = "learned",
    **params: Any,
) -> LearnedPolicy:
    """Fit :class:`LearnedPolicy` on exploration traces of the training items."""
    data = exploration_data(scenario, features)
    return fit_policy(data, features, seed=scenario.config.seed, name=name, **params)


def fit_policy(
    data: ExplorationData, features: Sequence[str], *, seed: int, **params: Any
) -> LearnedPolicy:
    """A :class:`LearnedPolicy` fitted on :func:`exploration_data`'s output."""
    policy = LearnedPolicy(features=tuple(features), random_state=seed, **params)
    return policy.fit(
        data.X,
        data.y,
        test_usd=data.test_usd,
        sleep_usd=data.sleep_usd,
        ready_share=data.ready_share,
        question_offsets=data.question_offsets,
    )


#: The feature sets a command line or spec names.
FEATURE_SETS: Mapping[str, tuple[str, ...]] = {"all": ALL_FEATURES, "cheap": CHEAP_POLICY_FEATURES}


def feature_set(name: str) -> tuple[str, ...]:
    """The policy features of a named set (``all`` or ``cheap``)."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"features must be one of {sorted(FEATURE_SETS)}, got {name!r}") from None
