"""The jobs behind ``sleeptime score``, ``predictability``, ``calibrate``, ``simulate``,
``prices`` and ``validate``: each takes plain arguments and returns a result whose
``to_json()`` is the command's ``--json`` output."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError
from sleeptime.workloads import load_workload


@dataclass(frozen=True)
class ScoreRun:
    """``sleeptime score``: what was scored, with which model, and where the table went."""

    source: str
    model: str
    contexts: int
    queries: int
    logprob_mean: Mapping[str, float]
    seconds: float
    out: Path

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "model": self.model, "contexts": self.contexts, "queries": self.queries,
                "logprob_mean": dict(self.logprob_mean), "seconds": self.seconds, "out": str(self.out)}  # fmt: skip


def score(source: str, out: str | Path, *, model: str | None = None, batch_size: int = 8, cache: bool = True,
          progress: bool = True, **workload: Any) -> ScoreRun:  # fmt: skip
    """log p(q | c) and context features of every query of a workload, written as a table."""
    from sleeptime.estimators import CausalLMScorer, score_workload, write_table

    if Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise SleeptimeError(f"{out}: the output must end in .csv or .parquet")
    w = load_workload(source, **workload)
    started = time.perf_counter()
    scorer = CausalLMScorer(model, batch_size=batch_size, cache=cache)
    rows = score_workload(w, scorer, progress=progress)
    path = write_table(rows, out)
    lps = [r["logprob_mean"] for r in rows]
    stats = {"mean": sum(lps) / len(lps), "min": min(lps), "max": max(lps)}
    return ScoreRun(str(source), scorer.source.location, len({r["context_id"] for r in rows}), len(rows), stats,
                    round(time.perf_counter() - started, 2), path)  # fmt: skip


def predictability(scores: str | Path, *, group_by: str = "template", seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Fit the context-only predictor of predictability on a score table, held out by
    ``group_by``; its Spearman correlation and the quintile edges of log p(q | c)."""
    from sleeptime.estimators import (
        CHEAP_FEATURES,
        LM_FEATURES,
        context_matrix,
        evaluate_predictor,
        predictability_quintiles,
        read_table,
    )

    rows = read_table(scores)
    if not rows or "logprob_mean" not in rows[0]:
        raise SleeptimeError(f"{scores}: not a score table; write one with `sleeptime score`")
    names = [n for n in (*LM_FEATURES, *CHEAP_FEATURES) if n in rows[0]]
    ctx_rows, X, y = context_matrix(rows, names)
    groups = [str(r.get(group_by, r["context_id"])) for r in ctx_rows]
    report = evaluate_predictor(X, y, groups, seed=seed)
    report.pop("model")
    quintile = predictability_quintiles([float(r["logprob_mean"]) for r in rows])
    edges = [float(max(float(r["logprob_mean"]) for r, b in zip(rows, quintile, strict=True) if b == k)) for k in range(1, 6)]  # fmt: skip
    return {"contexts": len(ctx_rows), "features": names, "split": f"held out by {group_by}", **report, "quintile_upper_edges": edges}  # fmt: skip


def calibrate_points(points: str | Path, *, quintiles: str | Path | None = None, amortization: str | Path | None = None,
                     plot: str | Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Fit accuracy curves to digitized (or your own) points; the fits, the token savings and,
    with ``plot``, a PNG of curves and points."""
    from sleeptime.reporting import plot_calibration
    from sleeptime.simulators import calibrate

    calibration = calibrate(points, quintiles=quintiles, amortization=amortization)
    result = calibration.to_json()
    if plot:
        result["plot"] = str(plot_calibration(calibration, plot))
    return result


def simulate(
    source: str = "builtin",
    *,
    benchmark: str = "stateful-gsm-symbolic-p1",
    model: str = "gpt-4o-mini",
    points: str | None = None,
    fit_traces: str | None = None,
    sleep: str = "k1",
    budget: int = 0,
    prices: str | None = None,
    queries_per_context: float = 4.0,
    fixed_queries: int | None = None,
    idle_mean_s: float = 1800.0,
    rho: float = 0.5,
    mode: str = "expected",
    seed: int = 0,
    scores: str | None = None,
    traces: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
    **workload: Any,
) -> dict[str, Any]:
    """Replay one fixed strategy (sleep level ``sleep`` for every context, budget level
    ``budget`` for every query) on a workload; the replay's aggregates (simulated)."""
    import numpy as np

    from sleeptime.simulators import (
        PaperOutcomeModel,
        TraceOutcomeModel,
        calibrate,
        items_from_workload,
        load_price_book,
        paper_calibration,
        read_traces,
        replay,
    )
    from sleeptime.workloads import ArrivalProcess

    process = ArrivalProcess.simple(queries_per_context, fixed_queries=fixed_queries, idle_mean_s=idle_mean_s)  # fmt: skip
    outcome: Any = PaperOutcomeModel(
        calibrate(points) if points else paper_calibration(), benchmark, model
    )
    if fit_traces:
        # your own runs' traces replace the paper's curves; levels and budgets keep their names
        outcome = TraceOutcomeModel.fit(read_traces(fit_traces), sleep_levels=outcome.sleep_levels, budgets=outcome.budgets)  # fmt: skip
    levels = [lv.name for lv in outcome.sleep_levels]
    if sleep not in levels:
        raise SleeptimeError(f"--sleep must be one of {levels} for {benchmark}, got {sleep!r}")
    if not 0 <= budget < len(outcome.budgets):
        raise SleeptimeError(f"--budget must be 0..{len(outcome.budgets) - 1} (test tokens {outcome.tokens_test_only.tolist()})")  # fmt: skip
    book = load_price_book(prices)
    w = load_workload(source, **workload)
    score_rows = None
    if scores:
        from sleeptime.estimators import read_table

        score_rows = {(str(r["context_id"]), str(r["query_id"])): r for r in read_table(scores)}
    items = items_from_workload(
        w, arrivals=process, scores=score_rows, rho_predictability=rho, seed=seed
    )
    result_obj = replay(
        items, sleep_action=np.full(items.n_contexts, levels.index(sleep)), test_action=np.full(items.n_queries, budget),
        outcome=outcome, prices=book, model=model, mode=mode, seed=seed,
    )  # fmt: skip
    result: dict[str, Any] = {"policy": {"sleep": sleep, "budget": budget}, "benchmark": benchmark, "model": model,
                              "price_book": book.version, "simulated": True, **result_obj.aggregates}  # fmt: skip
    if traces:
        result["traces"] = str(result_obj.write_traces(traces, model=model, items=items))
    if track:
        from sleeptime.tracking import Job

        params = {"source": source, "benchmark": benchmark, "model": model, "sleep": sleep, "budget": budget,
                  "queries_per_context": queries_per_context, "fixed_queries": fixed_queries, "idle_mean_s": idle_mean_s,
                  "rho": rho, "mode": mode, "seed": seed, "limit": workload.get("limit"), "price_book": book.version}  # fmt: skip
        with Job("simulate") as job:
            job.track(params, uri=tracking_uri, kind="simulate")
            job.log(result_obj.aggregates, json={"traces_sample.json": result_obj.records(200, model=model, items=items)})  # fmt: skip
            result["mlflow_run_id"] = job.run_id
    return result


def price_book(book: str | None = None) -> dict[str, Any]:
    """A price book (a built-in one by name, or a file) as data, with what each key means."""
    from sleeptime.simulators import PRICE_KEYS, builtin_price_books, load_price_book

    loaded = load_price_book(book)
    return {**loaded.to_dict(), "source": loaded.source, "keys": dict(PRICE_KEYS), "builtin": sorted(builtin_price_books())}  # fmt: skip


def validate_policy(path: str | Path) -> dict[str, Any]:
    """Check a policy artifact the way a router loads it; what it holds."""
    from sleeptime.runtime import RuntimePolicy

    return {"path": str(path), "valid": True, **RuntimePolicy.load(path).summary(), "bytes": Path(path).stat().st_size}  # fmt: skip


def evaluate_log_files(logs: str | Path, outcomes: str | Path, candidate: str | Path, *, missing: str = "error", n_boot: int = 500,
                       seed: int = 0, obp: str | Path | None = None, vw: str | Path | None = None, part_rows: int = 2_000_000,
                       memory_limit: str = "2GB", tracking_uri: str | None = None, track: bool = True) -> Any:  # fmt: skip
    """``sleeptime evaluate-logs``: a candidate policy's accuracy and USD per query on logged
    traffic by every off-policy estimator (measured where the logs are), the logs exported to
    Open Bandit Pipeline (``obp``) and Vowpal Wabbit (``vw``) where asked. A Parquet log of more
    than ``part_rows`` decisions is split by context and read one part at a time
    (:func:`~sleeptime.policy.evaluate_large_logs`: memory that of a part)."""
    from sleeptime.policy import (  # fmt: skip
        evaluate_large_logs,
        evaluate_logs,
        export_obp,
        export_vw,
        log_rows,
        needed_features,
        read_logs,
    )
    from sleeptime.runtime import RuntimePolicy
    from sleeptime.tracking import Job

    with Job("evaluate-logs") as job:
        job.track({"logs": str(logs), "outcomes": str(outcomes), "candidate": str(candidate), "missing": missing, "seed": seed,
                   "part_rows": part_rows}, uri=tracking_uri, kind="evaluate-logs", enabled=track)  # fmt: skip
        policy = RuntimePolicy.load(candidate)
        rows = log_rows(logs)
        if rows is not None and rows > part_rows and obp is None and vw is None:
            result = evaluate_large_logs(logs, outcomes, policy, name=str(candidate), part_rows=part_rows, memory_limit=memory_limit,
                                         missing=missing, n_boot=n_boot, seed=seed)  # fmt: skip
        else:
            log = read_logs(logs, outcomes, missing=missing, features=needed_features(policy))
            result = evaluate_logs(log, policy, name=str(candidate), n_boot=n_boot, seed=seed)
            if obp is not None:
                export_obp(log, policy, obp)
            if vw is not None:
                export_vw(log, policy, vw)
        job.log({f"{e}.{k}": getattr(v, k) for e, v in result.estimates.items() for k in ("reward", "cost")}, json={"evaluate-logs.json": result.to_json()})  # fmt: skip
    return result


def update_from_log_files(logs: str | Path, outcomes: str | Path, current: str | Path, out: str | Path, *,
                          candidates: tuple[str, ...] = (), lam: float | None = None, refit: bool = True,
                          missing: str = "error", n_boot: int = 500, seed: int = 0, tracking_uri: str | None = None,
                          track: bool = True) -> Any:  # fmt: skip
    """``sleeptime update``: candidates built from a router's logs (and any brought), estimated
    off-policy against the current policy; the admitted one written to ``out`` with its parent,
    logs and admitting estimate (nothing written where none is admitted). Measured where the
    logs are."""
    from sleeptime.policy import read_logs, update_from_logs, write_artifact
    from sleeptime.runtime import RuntimePolicy
    from sleeptime.tracking import Job

    with Job("update") as job:
        job.track({"logs": str(logs), "outcomes": str(outcomes), "policy": str(current), "candidates": ",".join(candidates),
                   "lam": lam, "refit": refit, "seed": seed}, uri=tracking_uri, kind="update", enabled=track)  # fmt: skip
        policy = RuntimePolicy.load(current)
        brought = {str(c): RuntimePolicy.load(c) for c in candidates}
        log = read_logs(logs, outcomes, missing=missing)
        artifact, decision = update_from_logs(log, policy, candidates=brought, lam=lam, refit=refit, seed=seed,
                                              n_boot=n_boot, logs=(str(logs), str(outcomes)))  # fmt: skip
        if artifact is not None:
            artifact["mlflow_run_id"] = job.run_id
            write_artifact(artifact, out)
        job.log({"admitted": float(bool(decision.admitted)), "current.value": decision.current.value},
                json={"update.json": decision.to_json()}, files={"": [out] if artifact is not None else []})  # fmt: skip
    return decision
