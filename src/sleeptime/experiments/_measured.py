"""``sleeptime compare --traces``: a real exploration run loaded and split, every policy judged
on its held-out contexts (:mod:`sleeptime.policy`), the simulator held against it, and the
paper's figures measured. Every number is measured."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.policy import (
    PAPER_PANEL,
    ActionError,
    Comparison,
    LearnedPolicy,
    MeasuredData,
    MeasuredEnvironment,
    MeasuredError,
    MeasuredTable,
    PolicyRow,
    add_policy_features,
    compare_measured,
    outcome_model_errors,
    traced_workload,
)
from sleeptime.reporting import MeasuredDisplay
from sleeptime.workloads import SPLITS, Arrivals, split_contexts

#: What the policies of ``compare --traces`` maximize: the 0/1 verdict or the graded score.
OUTCOMES = ("correct", "score")


@dataclass(frozen=True)
class MeasuredOptions:
    """How a real exploration run is read and judged: its workload (``source`` and the
    loader's ``workload_options``), the view its answers are judged under, how its contexts are
    split (``split``: by context or by template; ``test_share`` held out), the prices of its
    tokens (``prices``, a price book; ``price_model``, its entry; ``sleep_price``: ``batch``
    or ``live``), the seed of the split and the policies, and ``outcome``: what the policies
    maximize, ``correct`` (the 0/1 verdict) or ``score`` (the graded score, e.g. a span's
    F1; every record must have one)."""

    source: str = "builtin"
    workload_options: Mapping[str, Any] | None = None
    view: str = "both"
    split: str = "context"
    test_share: float = 0.5
    prices: str = "list-2025"
    price_model: str = "gpt-4o-mini"
    sleep_price: str = "batch"
    seed: int = 0
    outcome: str = "correct"

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise MeasuredError(f"split must be one of {SPLITS}, got {self.split!r}")
        if not 0 < self.test_share < 1:
            raise MeasuredError(f"test share must be between 0 and 1, got {self.test_share}")
        if self.outcome not in OUTCOMES:
            raise MeasuredError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")


def load_measured(
    traces: str | Path, options: MeasuredOptions = MeasuredOptions(), *, progress: bool = True
) -> MeasuredData:
    """Read an exploration run, its workload and LM scores (cached), and split its contexts
    as ``options`` say."""
    from sleeptime.estimators import CausalLMScorer, score_workload
    from sleeptime.simulators import items_from_workload, load_price_book, read_traces
    from sleeptime.workloads import load_workload

    o = options
    records = tuple(read_traces(traces))
    if o.outcome == "score":
        missing = next((n for n, r in enumerate(records, start=1) if not isinstance(r.get("score"), (int, float))), None)  # fmt: skip
        if missing is not None:
            raise MeasuredError(f"{traces}: record {missing} has no score; --outcome score needs graded answers (span answers record their F1)")  # fmt: skip
        records = tuple({**r, "correct": float(r["score"])} for r in records)
    table = MeasuredTable.from_records(records, view=o.view, source=str(traces))
    if table.n_contexts < 4:
        raise MeasuredError(f"{traces}: {table.n_contexts} complete contexts; judging policies needs at least 4 (2 to train, 2 held out)")  # fmt: skip
    workload = traced_workload(
        load_workload(o.source, **(o.workload_options or {})), table, o.source
    )
    rows = score_workload(workload, CausalLMScorer(), progress=progress)
    scores = {(r["context_id"], r["query_id"]): r for r in rows}
    counts = table.counts
    arrivals = Arrivals(counts, np.zeros(table.n_contexts), table.query_context.copy(), np.zeros(table.n_queries))  # fmt: skip
    items = items_from_workload(workload, arrivals=arrivals, scores=scores, seed=o.seed)
    column = {(table.query_context[j], q): j for j, q in enumerate(table.query_ids)}
    assert items.query_ids is not None
    table = table.take([column[(int(c), q)] for c, q in zip(items.query_context, items.query_ids, strict=True)])  # fmt: skip
    train_idx, test_idx = split_contexts(workload, by=o.split, test_share=o.test_share, seed=o.seed)
    if o.split == "template" and (not train_idx.size or not test_idx.size):
        raise MeasuredError(f"the template split left {train_idx.size} training and {test_idx.size} held-out contexts; use --split context")  # fmt: skip
    items = add_policy_features(workload, items, scores, train_idx, test_idx, o.seed)
    env = MeasuredEnvironment.build(table, load_price_book(o.prices), o.price_model, sleep_price=o.sleep_price)  # fmt: skip
    return MeasuredData(workload, table, items, env, train_idx, test_idx, o.split, records)


def measured_display(data: MeasuredData, queries: Any = range(1, 11)) -> MeasuredDisplay:
    """The numbers of the measured figures (:class:`~sleeptime.reporting.MeasuredDisplay`):
    accuracy by test tokens per sleep level, cost per query by queries per context (each
    cell's test cost plus its sleep-time cost shared by N queries, at the environment's
    prices), and the gain of the first sleep level over test-only at the first budget by
    quintile of the question's log p(q | c) under the default LM (equal-count bins, as the
    simulated figure's)."""
    from sleeptime.estimators import predictability_quintiles

    t, env = data.table, data.env
    curve = {level: [(b, float(t.test_output_tokens[s, k].mean()), float(t.correct[s, k].mean())) for k, b in enumerate(t.budgets)]
             for s, level in enumerate(t.sleep_levels)}  # fmt: skip
    test, sleep = t.usd(env.prices, env.model, env.sleep_discount)
    amortization = {f"{level},{b}": [(n, float(test[s, k].mean() + sleep[s].mean() / n)) for n in queries]
                    for s, level in enumerate(t.sleep_levels) for k, b in enumerate(t.budgets)}  # fmt: skip
    lp = data.items.observed_predictability
    gain = t.correct[1, 0] - t.correct[0, 0]
    quintile = predictability_quintiles(lp)  # 1..5
    gains = [
        float(gain[quintile == i].mean()) if np.any(quintile == i) else float("nan")
        for i in range(1, 6)
    ]
    counts = [int((quintile == i).sum()) for i in range(1, 6)]
    caption = f"{env.prices.version} prices of {t.priced_as(env.model)}, sleep-time x{env.sleep_discount:g}"
    return MeasuredDisplay(t.model, t.n_contexts, t.view, tuple(t.sleep_levels), tuple(t.budgets), caption,
                           curve, amortization, gains, counts, PAPER_PANEL)  # fmt: skip


@dataclass(frozen=True)
class TracesCompareRun:
    """``sleeptime compare --traces``: every policy on the held-out contexts of a real run."""

    comparison: Comparison
    data: MeasuredData
    other_view: tuple[PolicyRow, ...]
    errors: tuple[ActionError, ...]
    settings: Mapping[str, Any]
    point_intervals: tuple[Mapping[str, Any], ...] = ()
    figures: Mapping[str, str] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    policies: tuple[LearnedPolicy, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the comparison on the measured table, as ``--json`` prints it."""
        c = self.comparison
        d = self.data
        return {
            "measured": True,
            "traces": self.settings["traces"],
            "model": d.table.model,
            "view": d.table.view,
            "split": d.split,
            "contexts": {
                "train": int(d.train_idx.size),
                "held_out": int(d.test_idx.size),
                "incomplete": list(d.table.incomplete),
            },
            "queries_held_out": int(d.items.subset(d.test_idx).n_queries),
            "prices": self.settings["prices"],
            **c.to_json(),
            "summary": c.summary_json("learned"),
            "operating_point_intervals": list(self.point_intervals),
            "other_view": [r.to_json() for r in self.other_view],
            "outcome_model_errors": [e.to_json() for e in self.errors],
            "figures": dict(self.figures),
            "mlflow_run_id": self.mlflow_run_id,
        }


def compare_traces(
    traces: str | Path,
    options: MeasuredOptions = MeasuredOptions(),
    *,
    budget_usd_per_1k: float | None = None,
    figures_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    progress: bool = True,
) -> TracesCompareRun:
    """Judge every policy on a real exploration run's held-out contexts (measured), read and
    split as ``options`` say, hold the simulator's outcome models against them, draw the
    measured figures where asked, and log it all to MLflow."""
    from sleeptime.tracking import Job

    with Job("compare --traces", ("traces, workload and LM features", "fixed strategies and baselines", "oracle", "oracle-count-blind", "learned", "learned-cheap", "outcome models"), progress) as job:  # fmt: skip
        with job.step("traces, workload and LM features"):
            data = load_measured(traces, options, progress=progress)
        book, o = data.env.prices, options
        settings = {"traces": str(traces), "source": o.source, "view": o.view, "split": o.split, "test_share": o.test_share,
                    "prices": f"{book.version} prices of {data.table.priced_as(o.price_model)}, sleep-time at {'the batch discount' if o.sleep_price == 'batch' else 'the live price'} ({data.env.sleep_discount:g} x list)",
                    "price_book": book.version, "price_model": o.price_model, "sleep_price": o.sleep_price,
                    "budget_usd_per_1k": budget_usd_per_1k, "seed": o.seed, "outcome": o.outcome}  # fmt: skip
        job.track(settings, uri=tracking_uri, kind="compare", enabled=track, name="compare-traces")
        comparison, other, intervals, policies = compare_measured(data, budget_usd_per_1k=budget_usd_per_1k, seed=o.seed, progress=job.start)  # fmt: skip
        with job.step("outcome models"):
            errors = tuple(outcome_model_errors(data))
        figures: dict[str, str] = {}
        if figures_dir is not None:
            figures = {k: str(v) for k, v in measured_display(data).plot(comparison.rows, comparison.operating_point.best_static, Path(figures_dir)).items()}  # fmt: skip
        result = TracesCompareRun(comparison, data, other, errors, settings, tuple(intervals), figures, job.run_id, tuple(policies))  # fmt: skip
        job.log(comparison.metrics(), json={"compare_traces.json": result.to_json()}, files={"plots": figures.values()})  # fmt: skip
    return result
