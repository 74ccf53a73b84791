"""The real experiment (``kind = "live"``): collect an exploration run (cached), judge every
policy on its held-out contexts, hold the simulator against it, export the learned policy, and
write a report headed *measured*."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.experiments._collect_run import collect_from_spec
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.reporting import Figure, Report, Table, command_line, interval

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec

LIVE_STEPS = ("real run", "policies on held-out contexts", "export", "report")


def live_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    return LIVE_STEPS


@experiment_kind("live", steps=live_steps, summary="a real run, every policy judged on its held-out contexts, the simulator against it, the export (measured)")  # fmt: skip
def run_live(ctx: RunContext) -> RunOutput:
    from sleeptime.experiments._measured import MeasuredOptions, compare_traces
    from sleeptime.policy import MeasuredError, export_measured_policy, offline_estimate

    spec, job, live = ctx.spec, ctx.job, ctx.spec.live
    seed = spec.seeds.workload
    traces = ctx.folder / "traces.jsonl"
    with job.step("real run"):
        run = collect_from_spec(ctx, traces)
    with job.step("policies on held-out contexts"):
        options = MeasuredOptions(source=spec.workload.source, view=live.view, split=live.split, test_share=live.test_share, prices=spec.prices.book,
                                  price_model=live.price_model, sleep_price=live.sleep_price, seed=seed, outcome=live.outcome)  # fmt: skip
        judged = compare_traces(
            traces, options, figures_dir=ctx.folder, track=False, progress=False
        )
        out = judged.to_json()
        job.log({f"{n.replace('-', '_')}.{k}": v for n, s in judged.comparison.learned.items() for k, v in s.to_json().items()},
                json={"compare_traces.json": out})  # fmt: skip
    with job.step("export"):
        data = judged.data
        # the policy the comparison judged (a copy: its lam moves to the operating point)
        cheap = copy.deepcopy(next(p for p in judged.policies if p.name == "learned-cheap"))
        lam = judged.comparison.swept["learned-cheap"].lam_at_equal_accuracy
        if math.isfinite(lam):
            cheap.set_params(lam=lam)
        artifact_path = ctx.folder / "policy.json"
        export_measured_policy(data, cheap, artifact_path, config={"spec": spec.name, "features": "cheap", "lam": cheap.lam}, mlflow_run_id=ctx.run_id)  # fmt: skip
        estimate = offline_estimate(data, artifact_path, data.test_idx, seed=seed)
        try:  # as a deployment that keeps a context's prefix in the prompt cache would pay
            warm: dict[str, Any] = offline_estimate(data, artifact_path, data.test_idx, seed=seed, prefix_cache="warm").to_json()  # fmt: skip
        except MeasuredError as e:
            warm = {"not_estimated": str(e)}
        job.log(files={"policy": [artifact_path]})
    with job.step("report"):
        report = _report(spec, run, judged, out, estimate, warm)
    return RunOutput(report, report.headline, {"measured": True, "collect": run.to_json(), "compare": out, "export": {"path": str(artifact_path), **estimate.to_json(), "warm_prefix": warm}})  # fmt: skip


def _headline(judged: Any, out: dict[str, Any]) -> str:
    """The report's closing sentence: the best fixed strategy and what the learned policy saves
    at its accuracy, with the paired interval."""
    c = judged.comparison
    model = out["model"]
    main = c.learned.get("learned")
    op = c.operating_point
    headline = (f"Measured ({model}, {out['contexts']['held_out']} held-out contexts): the best fixed strategy {op.best_static} answers "
                f"{op.accuracy:.1%} right at {op.usd_per_1k:.4f} USD / 1k queries")  # fmt: skip
    if main is not None:
        lo, hi = main.cost_reduction_at_reaching_point_ci95
        headline += (f"; the learned policy reaches it at {-main.cost_reduction_at_equal_accuracy:+.1%} cost (first reaching point "
                     f"{-main.cost_reduction_at_reaching_point:+.1%}, 95% CI {-hi:+.1%} to {-lo:+.1%}), closing {main.oracle_gap_closed:.2f} of the hindsight oracle's gap.")  # fmt: skip
    return headline


#: The measured figures (drawn by compare --traces): key, title, caption (``{prices}``: the run's).
_FIGURES = (
    ("accuracy_vs_test_tokens", "Accuracy against test-time tokens (Figs. 3-4), measured",
     "Left: this run, every context; right: the paper's digitized points (another model, its own benchmark): two panels, never one axis."),
    ("cost_by_queries_per_context", "Cost per query by queries per context (Fig. 9), measured tokens",
     "Each cell's measured test cost plus its measured sleep-time cost shared by N queries; USD at {prices}. Right: the paper's digitized points."),
    ("gain_by_predictability_quintile", "Sleep-time gain by predictability quintile (Fig. 10), measured",
     "Quintiles of log p(q | c) under the default LM; n: queries per quintile. Right: the paper's digitized gains."),
    ("pareto", "Policies on the held-out contexts, measured", "Accuracy against USD per 1,000 queries; bars: 95% bootstrap over contexts."),
)  # fmt: skip


def _figures(judged: Any, out: dict[str, Any]) -> list[Figure]:
    """The measured figures (drawn by compare --traces) with their captions."""
    return [Figure(Path(judged.figures[key]), title, caption.format(prices=out["prices"]), wide=key == "pareto")
            for key, title, caption in _FIGURES]  # fmt: skip


def _tables(c: Any, out: dict[str, Any]) -> list[Table]:
    """Every policy, the cost change at each fixed Pareto point, the simulator against the
    held-out traces, and what the learned policies decide."""
    rows = [[p["name"], p["accuracy"], interval(p["accuracy_ci95"]), 1000 * p["usd_per_query"], interval(p.get("usd_per_query_ci95"), scale=1000, fmt=".4f"),
             p["test_tokens_per_query"], interval(p.get("test_tokens_per_query_ci95"), scale=1, fmt=".1f"), p["sleep_tokens_per_context"]]
            for p in out["policies"] + out["other_view"]]  # fmt: skip
    points = []
    for pt in out["operating_point_intervals"]:
        for name, v in pt["policies"].items():
            change = next(x for x in out["operating_points"] if x["fixed"] == pt["fixed"])[
                "cost_change_at_equal_accuracy"
            ][name]
            points.append([pt["fixed"], pt["accuracy"], name, change, None if v is None else v["cost_change_at_reaching_point"], None if v is None else interval(v["ci95"], scale=100, fmt="+.1f")])  # fmt: skip
    errors = [[e["sleep_level"], e["budget"], e["queries"], e["measured_accuracy"], e["trace_model_accuracy"], e["trace_model_error"],
               e["paper_model_accuracy"], e["paper_model_error"], e["measured_test_tokens"], e["trace_model_test_tokens"], e["paper_model_test_tokens"]]
              for e in out["outcome_model_errors"]]  # fmt: skip
    decisions = []
    for name, s in c.learned.items():
        for feature, by in (s.decision_breakdown or {}).items():
            decisions.append(
                [
                    name,
                    feature,
                    *(f"{v['sleep_share']:.0%} of {v['contexts']}" for v in by.values()),
                ]
            )
    return [
        Table(
            "Every policy on the held-out contexts (measured)",
            [
                "policy",
                "accuracy",
                "95% CI",
                "USD / 1k q",
                "95% CI",
                "test tokens",
                "95% CI",
                "sleep tokens / context",
            ],
            rows,
            caption=f"Intervals: 95% bootstrap over held-out contexts. USD: {out['prices']}. 'c' only' rows answer from the notes alone (not an action of the policies).",
        ),
        Table(
            "Cost change at each fixed Pareto point (measured)",
            [
                "fixed strategy",
                "accuracy",
                "policy",
                "at equal accuracy (mixed)",
                "first point reaching it",
                "95% CI (%)",
            ],
            points,
            caption="Negative is cheaper. 'Mixed': two swept points mixed to reach the accuracy exactly; the interval is for the first single swept point that reaches it (paired bootstrap over contexts).",
        ),
        Table(
            "The simulator against the held-out traces",
            [
                "sleep",
                "budget",
                "queries",
                "measured accuracy",
                "fitted to traces",
                "error",
                "paper-calibrated",
                "error",
                "measured tokens",
                "fitted tokens",
                "paper tokens",
            ],
            errors,
            caption="The outcome model fitted to the training contexts' traces (logistic in log p(q | c) per action) and the paper-calibrated one (gpt-4o-mini, Stateful GSM-Symbolic P1: another model), each predicting the held-out accuracy per action.",
        ),
        Table(
            "What the learned policies decide (held-out contexts given sleep-time compute, by tercile)",
            ["policy", "feature", "low", "middle", "high"],
            decisions,
        ),
    ]  # fmt: skip


def _report(
    spec: ExperimentSpec,
    run: Any,
    judged: Any,
    out: dict[str, Any],
    estimate: Any,
    warm: dict[str, Any],
) -> Report:
    """The live run's report: headline, figures, tables, notes and the commands to redo it."""
    model = out["model"]
    headline = _headline(judged, out)
    notes = [
        "Every number here is measured: real requests to the endpoint, graded by the workload's answer checker; the figures' right panels are digitized from the paper and labelled so.",
        f"Model and endpoint: {model} at {run.endpoint['identity']}; {run.records} answers, {run.requests_sent} requests sent, {run.cache_hits} from the response cache, {run.failed} failed.",
        f"Prices assumed: {out['prices']}. Split: {out['split']}, {out['contexts']['train']} contexts to train, {out['contexts']['held_out']} held out.",
        f"Exported: policy.json (the cheap-feature policy at its operating point, lam {judged.comparison.swept['learned-cheap'].lam_at_equal_accuracy:.4g}); on the held-out contexts, scored on the exploration table: "
        f"accuracy {estimate.accuracy:.3f} (95% CI {interval(estimate.accuracy_ci95)}), {1000 * estimate.usd_per_query:.4f} USD / 1k queries ({interval(estimate.usd_per_query_ci95, scale=1000, fmt='.4f')}), "
        + (f"or {1000 * warm['usd_per_query']:.4f} ({interval(warm['usd_per_query_ci95'], scale=1000, fmt='.4f')}) served with a context's prefix kept in the prompt cache (its later answers read it from the cache)."
           if "usd_per_query" in warm else f"its cost with a warm prompt cache not estimated: {warm['not_estimated']}"),
        "The hindsight oracle picks, per query, the best action in the table (0/1 outcomes: it also profits from sampling luck); with the same number of queries on every context its count-blind form is the same policy.",
    ]  # fmt: skip
    commands = [command_line(), f"sleeptime compare --traces {run.traces} --figures DIR", f"sleeptime export-notes {run.traces} --out notes.jsonl"]  # fmt: skip
    return Report(title=f"sleeptime: {spec.name}", headline=headline, simulated=False, intro=spec.description, figures=_figures(judged, out), tables=_tables(judged.comparison, out),
                  notes=notes, commands=commands, spec_text=spec.text)  # fmt: skip
