"""The paper's figures in simulation, beside its digitized points: ``sleeptime paper-figures``
and the experiment kinds ``paper_gsm``, ``paper_aime`` and ``amortization`` share these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.experiments._registry import experiment_kind
from sleeptime.experiments._running import RunContext, RunOutput
from sleeptime.reporting import (
    Figure,
    Report,
    Table,
    budget_label,
    command_line,
    plot_amortization,
    plot_calibration,
    plot_pareto,
    plot_quintiles,
    plot_test_tokens,
    table_from_rows,
)
from sleeptime.simulators import (
    OutcomeModel,
    PriceBook,
    accuracy_by_test_tokens,
    amortization_ratio,
    amortization_sweep,
    fixed_strategy_points,
    late_items,
    list_prices_2025,
    load_price_book,
    paper_abstract_prices,
    paper_amortization_points,
    paper_calibration,
    paper_outcome_model,
    paper_quintile_gains,
    quintile_gains,
    synthetic_items,
)
from sleeptime.tracking import Job
from sleeptime.workloads import ArrivalProcess, GeometricCount

if TYPE_CHECKING:
    from sleeptime.experiments._spec import ExperimentSpec


@dataclass(frozen=True)
class QuintileFigure:
    """Fig. 10 in simulation: gains by quintile of the latent predictability (the calibration's
    scale), of the observed score, and the digitized gains (None where the paper has none)."""

    path: Path
    latent: list[float]
    observed: list[float]
    digitized: tuple[float, ...] | None


def quintile_figure(outcome: OutcomeModel, n_contexts: int, prices: PriceBook, benchmark: str, model: str, path: Path, *, seed: int) -> QuintileFigure:  # fmt: skip
    """Synthetic contexts whose queries all arrive after the sleep-time work, binned both ways."""
    items = late_items(n_contexts, seed=seed)
    latent = quintile_gains(outcome, items, prices, model, by="latent")
    observed = quintile_gains(outcome, items, prices, model, by="observed")
    digitized = paper_quintile_gains(benchmark, model)
    plot = plot_quintiles(observed, path, paper=digitized, latent=latent, title=f"{benchmark} / {model}, lowest budget",
                                   xlabel="quintile of observed predictability (1 = least predictable)")  # fmt: skip
    return QuintileFigure(plot, latent, observed, digitized)


@dataclass(frozen=True)
class PaperFigures:
    """``sleeptime paper-figures``: Figs. 3-4, 9 and 10 and every fixed strategy's cost, in
    simulation (and the files drawn)."""

    benchmark: str
    model: str
    outcome: dict[str, Any]
    amortization_ratio: dict[str, float]
    quintiles: QuintileFigure
    fixed_strategies: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the paper figures' numbers, as ``--json`` prints it."""
        q = self.quintiles
        return {
            "simulated": True,
            "benchmark": self.benchmark,
            "model": self.model,
            "outcome_model": self.outcome,
            "amortization_cost_ratio_1_to_10": self.amortization_ratio,
            "quintile_gains": {
                "simulated": q.latent,
                "simulated_by_observed": q.observed,
                "digitized": list(q.digitized) if q.digitized else None,
            },
            "fixed_strategies": self.fixed_strategies,
            "files": self.files,
        }


def paper_figures(*, benchmark: str, model: str, contexts: int, seed: int, out: str | Path, progress: bool = True) -> PaperFigures:  # fmt: skip
    """Draw the paper's figures in simulation for one panel into ``out``."""
    folder = Path(out)
    outcome = paper_outcome_model(benchmark, model)
    files = {}
    with Job("paper-figures", ("calibration", "amortization", "quintiles", "fixed strategies"), progress) as job:  # fmt: skip
        with job.step("calibration"):
            files["calibration"] = str(plot_calibration(paper_calibration(), folder / "fig3_4_calibration.png"))  # fmt: skip
        with job.step("amortization"):
            rows = amortization_sweep(outcome, paper_abstract_prices(), model, n_contexts=contexts, seed=seed)  # fmt: skip
            paper = paper_amortization_points(benchmark, model)
            files["amortization"] = str(plot_amortization(rows, folder / "fig9_amortization.png", paper=paper))  # fmt: skip
        with job.step("quintiles"):
            quintiles = quintile_figure(outcome, contexts * 5, list_prices_2025(), benchmark, model, folder / "fig10_quintiles.png", seed=seed)  # fmt: skip
            files["quintiles"] = str(quintiles.path)
        with job.step("fixed strategies"):
            items = synthetic_items(contexts, arrivals=ArrivalProcess(queries=GeometricCount(4.0)), seed=seed)  # fmt: skip
            points = fixed_strategy_points(outcome, items, list_prices_2025(), model, seed=seed)
            files["pareto"] = str(plot_pareto(points, folder / "pareto_fixed.png", title=f"Fixed strategies, {model}, list prices (simulated)"))  # fmt: skip
    return PaperFigures(benchmark, model, outcome.describe(), amortization_ratio(rows), quintiles, points, files)  # fmt: skip


# ---------------------------------------------------------------------------------- experiments
PAPER_STEPS = ("calibration", "simulate fixed strategies", "predictability quintiles", "report")
AMORTIZATION_STEPS = ("paper's abstract cost", "the spec's prices", "report")


def paper_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    return PAPER_STEPS


def amortization_steps(spec: ExperimentSpec) -> tuple[str, ...]:
    return AMORTIZATION_STEPS


@experiment_kind("paper_aime", steps=paper_steps, summary="the paper's Fig. 4 in simulation")  # fmt: skip
@experiment_kind("paper_gsm", steps=paper_steps, summary="the paper's Figs. 3 and 10 in simulation")  # fmt: skip
def run_paper(ctx: RunContext) -> RunOutput:
    """The paper's Figs. 3 and 10 (GSM) or Fig. 4 (AIME) in simulation, beside the digitized points."""
    spec, folder, job = ctx.spec, ctx.folder, ctx.job
    m, seeds = spec.model, spec.seeds
    aime = spec.kind == "paper_aime"
    n = max(200, spec.workload.contexts * 4)
    with job.step("calibration"):
        cal = paper_calibration()
        figs = [Figure(plot_calibration(cal, folder / "calibration.png"), "The paper's test-time scaling curves, fitted",
                       "Digitized points (markers) and the fitted saturating curves in log tokens, every panel of Figs. 3 and 4.", wide=True)]  # fmt: skip
    with job.step("simulate fixed strategies"):
        outcome = paper_outcome_model(m.benchmark, m.name)
        curves = accuracy_by_test_tokens(outcome, late_items(n, queries=1, seed=seeds.workload), list_prices_2025(), m.name, benchmark=m.benchmark)  # fmt: skip
        figs.append(Figure(plot_test_tokens(curves.simulated, folder / "test_tokens.png", paper=curves.digitized, title=f"{m.benchmark} / {m.name}"),
                           f"Fig. {4 if aime else 3} in simulation", "Simulated accuracy per sleep-time setting (lines) and the paper's digitized points (open markers; its sleep-time points are drawn in the color of the lowest sleep level)."))  # fmt: skip
    tables: list[Table] = []
    quint: dict[str, Any] = {}
    with job.step("predictability quintiles"):
        if not aime:
            q = quintile_figure(outcome, n, list_prices_2025(), m.benchmark, m.name, folder / "quintiles.png", seed=seeds.workload)  # fmt: skip
            figs.append(Figure(q.path, "Fig. 10 in simulation",
                               "Gain from sleep-time by quintile of predictability: simulated bars binned by the observed score (what a user measures, as the paper did), digitized bars beside them, "
                               "and markers binning the same queries by the simulator's latent predictability, the scale the outcome model is calibrated on (so those reproduce the digitized gains)."))  # fmt: skip
            quint = {"simulated": q.latent, "simulated_by_observed": q.observed, "digitized": list(q.digitized) if q.digitized else None}  # fmt: skip
            tables.append(Table("Gain by predictability quintile", ["", "Q1", "Q2", "Q3", "Q4", "Q5"],
                                [["simulated, by observed score", *q.observed], ["simulated, by latent predictability", *q.latent]]
                                + ([["digitized (Fig. 10)", *q.digitized]] if q.digitized else [])))  # fmt: skip
    with job.step("report"):
        pts = [[level, f"b{b}", tok, acc] for level, values in curves.simulated.items() for b, (tok, acc) in enumerate(values)]  # fmt: skip
        savings = [r for r in cal.token_savings() if ("aime" in r["benchmark"]) == aime]
        tables = [Table(f"Simulated accuracy per (sleep level, budget): {m.name}", ["sleep level", "budget", "test tokens / query", "accuracy"], pts),
                  Table("Test-time tokens saved at equal accuracy (the paper's headline ratio)", ["benchmark", "model", "ratio (fitted)", "ratio (digitized)"],
                        [[r["benchmark"], r["model"], r["ratio"], r["ratio_digitized"]] for r in savings]), *tables]  # fmt: skip
        best = max(savings, key=lambda r: r["ratio"]) if savings else None
        headline = (f"Simulated from the digitized figures: sleep-time reaches the same accuracy with up to {best['ratio']:.1f}x fewer test-time tokens "
                    f"({best['benchmark']} / {best['model']}; digitized {best['ratio_digitized']:.1f}x).") if best else "Calibration of the paper's curves."  # fmt: skip
        report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                        notes=["Markers are digitized from the paper's figures; lines and bars are simulated by the calibrated outcome model."],
                        commands=[command_line()], spec_text=spec.text)  # fmt: skip
    return RunOutput(report, headline, {"simulated": True, "curves": curves.simulated, "token_savings": savings, "quintiles": quint})  # fmt: skip


@experiment_kind("amortization", steps=amortization_steps, summary="Fig. 9: cost per query by queries per context")  # fmt: skip
def run_amortization(ctx: RunContext) -> RunOutput:
    """Fig. 9: cost per query as queries per context grow, with the paper's abstract cost and the spec's price book."""
    spec, folder, job = ctx.spec, ctx.folder, ctx.job
    m, seeds, book = spec.model, spec.seeds, spec.prices.book
    outcome = paper_outcome_model(m.benchmark, m.name)
    n = max(200, spec.workload.contexts * 4)
    with job.step("paper's abstract cost"):
        abstract = amortization_sweep(outcome, paper_abstract_prices(), m.name, n_contexts=n, seed=seeds.workload)  # fmt: skip
        paper_rows = paper_amortization_points(m.benchmark, m.name)
        figs = [Figure(plot_amortization(abstract, folder / "amortization_abstract.png", paper=paper_rows), "Fig. 9 in simulation (the paper's abstract cost)",
                       "Cost per query in test-token units, a test token costing ten sleep-time tokens; digitized points as markers.")]  # fmt: skip
    with job.step("the spec's prices"):
        listed = amortization_sweep(outcome, load_price_book(book), m.name, n_contexts=n, seed=seeds.workload)  # fmt: skip
        figs.append(Figure(plot_amortization(listed, folder / "amortization_prices.png"), f"The same with {book} prices",
                           "Sleep-time work through the batch API at its discount; cost in units of one test-time output token."))  # fmt: skip
    with job.step("report"):
        ra, rl, rp = (
            amortization_ratio(abstract),
            amortization_ratio(listed),
            amortization_ratio(paper_rows),
        )
        tables = [Table("Cost per query, 1 vs 10 queries per context", ["budget", "abstract cost (simulated)", "digitized", f"{book} (simulated)"],
                        [[budget_label(b), ra[b], rp.get(b, ""), rl.get(b, "")] for b in ra]),
                  table_from_rows("Simulated cost per query", [{**r, "budget": budget_label(r["budget"])} for r in abstract], (("budget", "budget"), ("queries_per_context", "queries per context"), ("cost", "cost (test tokens)"), ("accuracy", "accuracy")))]  # fmt: skip
        first = next(iter(ra))
        headline = f"Simulated: with the paper's abstract cost, one query per context costs {ra[first]:.2f}x as much per query as ten at the lowest budget (digitized {rp.get(first, float('nan')):.2f}x)."  # fmt: skip
        report = Report(title=f"sleeptime: {spec.name}", headline=headline, intro=spec.description, figures=figs, tables=tables,
                        notes=["Sleep-time work is shared by all queries of a context; every query here arrives after the work is done."],
                        commands=[command_line()], spec_text=spec.text)  # fmt: skip
    return RunOutput(report, headline, {"simulated": True, "ratio_1_to_10": {"abstract": ra, "digitized": rp, "prices": rl}})  # fmt: skip
