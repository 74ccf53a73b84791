"""The real-run experiment (``kind = "collect"``): an exploration run against the spec's
endpoint, its measured table, a figure, and a report headed *measured*."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime._lists import comma_list
from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.reporting import Figure, Report, Table, command_line, plot_pareto, plot_test_tokens

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec

COLLECT_STEPS = ("real run", "report")


def collect_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    return COLLECT_STEPS


def collect_from_spec(ctx: RunContext, traces: Path) -> Any:
    """The spec's real run (``[workload]``, ``[live]``, prices, seed) into ``traces``, answers
    cached in the shared response cache; its metrics and files logged to the run."""
    from sleeptime.estimators import cache_dir
    from sleeptime.experiments._live import collect_live

    spec, live = ctx.spec, ctx.spec.live
    run = collect_live(
        spec.workload.source, traces, endpoint=comma_list(live.endpoint), model=comma_list(live.model) or None, api_key_env=live.api_key_env or None,
        litellm=live.litellm, model_file=live.model_file or None, contexts=spec.workload.contexts,
        questions_per_context=live.questions_per_context, min_questions=live.min_questions, sleep_levels=comma_list(live.sleep_levels),
        budgets=[int(b) for b in comma_list(live.budgets)], views=comma_list(live.views), concurrency=live.concurrency,
        cache=str(cache_dir() / "responses.sqlite"), max_usd=live.max_usd or None, prompts=live.prompts,
        prices=spec.prices.book, price_model=live.price_model, seed=spec.seeds.workload, temperature=live.temperature,
        stream=live.stream, sleep_max_tokens=live.sleep_max_tokens, sample=live.sample,
        track=False, progress=ctx.progress,
    )  # fmt: skip
    ctx.job.log({k: v for k, v in run.to_json().items() if isinstance(v, (int, float))}, files={"traces": (run.traces, run.sleep_outputs)})  # fmt: skip
    return run


@experiment_kind("collect", steps=collect_steps, summary="a real run against the [live] endpoint (measured)")  # fmt: skip
def run_collect(ctx: RunContext) -> RunOutput:
    spec, job = ctx.spec, ctx.job
    with job.step("real run"):
        run = collect_from_spec(ctx, ctx.folder / "traces.jsonl")
    with job.step("report"):
        cells = run.cells
        curves: dict[str, list[tuple[float, float]]] = {}
        for c in cells:
            if c.test_output_tokens is not None:
                key = "none" if c.sleep_level == "none" else f"{c.sleep_level} ({c.view})"
                curves.setdefault(key, []).append((c.test_output_tokens, c.accuracy))
        model = run.endpoint["model"]
        figs = [Figure(plot_test_tokens(curves, ctx.folder / "test_tokens.png", title=f"{model}: accuracy vs test-time tokens (measured)"),
                       "Accuracy vs test-time tokens, measured", "Each cell of the grid: its mean completion tokens and its accuracy; sleep-time lines per view (c' alone, or c and c').")]  # fmt: skip
        points = [{"name": f"{c.sleep_level}/{c.budget}/{c.view}", "group": "test-only" if c.sleep_level == "none" else f"sleep {c.sleep_level}",
                   "usd_per_1k_queries": 1000 * c.usd_per_query, "accuracy": c.accuracy, "accuracy_ci95": c.accuracy_ci95}
                  for c in cells if c.usd_per_query]  # fmt: skip
        if points:
            figs.append(Figure(plot_pareto(points, ctx.folder / "pareto.png", title=f"{model}: accuracy vs USD per 1,000 queries (measured)"),
                               "Accuracy against cost, measured", f"Each cell; USD at {run.prices}, sleep-time cost shared by the context's queries in the sample."))  # fmt: skip
        rows = [[c.sleep_level, c.budget, c.view, c.answers, c.accuracy, f"{c.accuracy_ci95[0]:.3f}–{c.accuracy_ci95[1]:.3f}",
                 c.test_input_tokens, c.test_output_tokens, c.sleep_output_tokens, c.latency_s,
                 None if c.usd_per_query is None else 1000 * c.usd_per_query, c.cut_by_max_tokens] for c in cells]  # fmt: skip
        tables = [Table(f"Measured per (sleep level, budget, view): {model}", ["sleep", "budget", "view", "answers", "accuracy", "95% CI",
                        "prompt tokens", "completion tokens", "sleep tokens / context", "latency (s)", "USD / 1k queries", "cut by max_tokens"], rows,
                        caption=f"Intervals: 95% bootstrap over contexts. USD at {run.prices}. Sleep tokens: the context's sleep-time completion tokens.")]  # fmt: skip
        headline = _headline(run)
        report = Report(title=f"sleeptime: {spec.name}", headline=headline, simulated=False, intro=spec.description, figures=figs, tables=tables,
                        notes=["Every number here is measured: real requests to the endpoint, graded by the workload's answer checker.",
                               f"Endpoint: {run.endpoint['identity']}, model {model}; {run.requests_sent} requests sent, {run.cache_hits} answers from the response cache, {run.failed} failed.",
                               f"Traces: traces.jsonl (one record per answer), sleep-time outputs: {run.sleep_outputs.name}."],
                        commands=[command_line()], spec_text=spec.text)  # fmt: skip
    return RunOutput(report, headline, {"measured": True, **run.to_json()})


def _headline(run: Any) -> str:
    cells = {(c.sleep_level, c.budget, c.view): c for c in run.cells}
    base = sorted((c for c in run.cells if c.sleep_level == "none"), key=lambda c: c.budget)
    if not base:
        return f"Measured: {run.records} answers of {run.endpoint['model']}."
    low = base[0]
    slept = [c for (s, b, v), c in cells.items() if s != "none" and b == low.budget]
    best = max(slept, key=lambda c: c.accuracy) if slept else None
    text = f"Measured ({run.endpoint['model']}, {low.contexts} contexts): at the lowest budget ({low.budget}) test-only answered {low.accuracy:.1%} right (95% CI {low.accuracy_ci95[0]:.1%} to {low.accuracy_ci95[1]:.1%})"  # fmt: skip
    if best is not None:
        text += f", with sleep-time compute ({best.sleep_level}, view {best.view}) {best.accuracy:.1%} ({best.accuracy_ci95[0]:.1%} to {best.accuracy_ci95[1]:.1%})"
    return text + "."
