"""The when-to-sleep study's report: its tables (also the text of ``sleeptime when-to-sleep``),
figures and headline, drawn from a :class:`~sleeptime.policy.WhenResult`; every number is
**simulated** and computed before it is drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.policy import WhenResult, passk_at_equal_tokens
from sleeptime.reporting._cells import interval, number, percent
from sleeptime.reporting._plots import label_axes
from sleeptime.reporting._report import Figure, Table


def interval_pct(ci: Sequence[float] | None) -> str:
    """A share's interval in signed percent: ``-3.0% to +1.2%``."""
    return interval(ci, fmt="+.1f", scale=100, sep=" to ", unit="%")


def when_tables(r: WhenResult) -> list[Table]:
    """The study's tables (also the text output of ``sleeptime when-to-sleep``)."""
    out = []
    for s in r.triggers:
        rows = [[p.name, number(p.usd_per_1k_at_equal_accuracy, ".4f"), percent(p.cost_change), interval_pct(p.cost_change_ci95),
                 number(p.gap_closed), interval(p.gap_closed_ci95, fmt=".2f", sep=" to "), number(p.gap_closed_observable), interval(p.gap_closed_observable_ci95, fmt=".2f", sep=" to "),
                 number(p.sleep_share)] for p in s.points]  # fmt: skip
        prior = s.prior
        out.append(Table(f"Triggers, arrivals {s.arrivals}: at the accuracy of {s.reference} ({s.accuracy:.3f}, {s.usd_per_1k:.4f} USD/1k)",
                         ["policy", "USD/1k at equal accuracy", "cost change", "95% CI", "gap closed (count-blind)", "95% CI", "gap closed (information-matched)", "95% CI", "contexts slept"], rows,
                         caption=f"Simulated. The learned policy's count prior, fitted to the training contexts: {prior.family}"
                                 + (f" (shape {prior.param:.2f})" if prior.family == "gamma-poisson" else "")
                                 + "; held-out log-likelihood per context " + ", ".join(f"{k} {v:.3f}" for k, v in prior.heldout_loglik.items())
                                 + ". Gap closed: the share of an oracle's saving, the trigger policy against the trigger oracle, at arrival against at arrival. "
                                 "Count-blind (the bound of a policy deciding before the queries come): the simulator's true outcomes and the true arrival law's posterior, not the realized queries. "
                                 "Information-matched: the simulator's model and what a policy can observe (each question's observed predictability), not the latents. "
                                 "Intervals: paired bootstrap over contexts, the whole sweep re-read in each draw.",
                         highlight=[0]))  # fmt: skip
    if r.triggers:
        rules = list(r.triggers[0].fixed)
        out.append(Table("Trigger rules without a model: accuracy and USD/1k by arrival law",
                         ["rule", *(s.arrivals for s in r.triggers)],
                         [[rule, *(f"{s.fixed[rule][0]:.3f} / {1000 * s.fixed[rule][1]:.4f}" for s in r.triggers)] for rule in rules],
                         caption="Simulated. Sleep-time work submitted at the context's arrival, after its m-th query, or once the posterior expected number of queries still to come (the fitted count prior) reaches a threshold; never: test-only at the same budget."))  # fmt: skip
    if r.edits is not None:
        kinds = list(r.edits[0].usd_per_1k) if r.edits else []
        out.append(Table("Refresh after edits: USD/1k at the accuracy of fixed(k1,b1) refreshed after every edit",
                         ["edits per context", "accuracy", *kinds, "learned vs never", "learned vs always", "edits refreshed (learned)"],
                         [[f"{e.edit_rate:g}", f"{e.accuracy:.3f}", *(number(e.usd_per_1k[k], ".4f") for k in kinds), percent(-e.saving_vs_never), percent(-e.saving_vs_always), number(e.refresh_share)] for e in r.edits],
                         caption=f"Simulated. Stale effect: {r.config.stale_effect} (" + (f"a stale c' keeps {1 - r.config.stale_loss:.0%} of the gain" if r.config.stale_effect == "share" else f"{r.config.touched:.0%} of stale answers ask about the edited part and are wrong")
                                 + f"); an incremental rewrite costs {r.config.incremental_cost:.0%} of a whole one. Negative is cheaper."))  # fmt: skip
    if r.cprime is not None:
        c = r.cprime
        out.append(Table("The size of c': sleep-time saving against test-only at equal accuracy (fixed(k1,b1))",
                         ["queries per context", *(f"{t:.0f} tok" for t in c.cprime_tokens), "break-even c' tokens"],
                         [[f"{q:g}", *(percent(v) for v in row), number(be, ".0f") if be is not None else ("never pays" if all(v < 0 for v in row) else "beyond the sweep")] for q, row, be in zip(c.query_rates, c.savings, c.break_even_tokens, strict=True)],
                         caption=f"Simulated. The calibrated c' is {c.cprime_tokens[list(r.config.cprime_scales).index(1.0)] if 1.0 in r.config.cprime_scales else float('nan'):.0f} tokens; gain share (1-exp(-x/{c.saturation:g}))/(1-exp(-1/{c.saturation:g})) of the calibrated gain at x times its length (an assumption). Positive is a saving."))  # fmt: skip
    if r.idle is not None:
        out.append(Table("Idle capacity: sleep-time work in a self-hosted fleet's idle hours against the batch API",
                         ["fleet tokens/s", "share in idle capacity", "sleep USD/1k", "batch sleep USD/1k", "USD saved", "accuracy", "batch accuracy", "served without c'", "batch: without c'"],
                         [[f"{i.capacity_tokens_per_s:.1f}", f"{i.idle_share:.2f}", f"{i.sleep_usd_per_1k:.4f}", f"{i.batch_sleep_usd_per_1k:.4f}", f"{i.usd_saved_share:.0%}",
                           f"{i.accuracy:.3f}", f"{i.batch_accuracy:.3f}", f"{i.served_without_cprime:.3f}", f"{i.batch_served_without_cprime:.3f}"] for i in r.idle],
                         caption=f"Simulated. Every context sleeps at k1 and answers at b1; its work must finish within {number((r.idle_setup or {}).get('deadline_s'), '.0f')} s of its arrival in the fleet, else it goes to the batch API. Demand: {number((r.idle_setup or {}).get('demand_tokens_per_s'), '.2f')} tokens/s over the day."))  # fmt: skip
    if r.passk is not None:
        pk, sl = r.passk
        out.append(Table("Sleep-time compute against pass@k at equal test-time tokens",
                         ["strategy", "accuracy", "test tokens", "USD/1k", "best pass@k at <= tokens"],
                         [[p.name, f"{p.accuracy:.3f}", f"{p.test_tokens:.0f}", f"{p.usd_per_1k:.4f}", number(passk_at_equal_tokens(pk, p), ".3f")] for p in sl],
                         caption="Simulated. pass@k: k test-only samples with an oracle verifier (right if any is), k times the output tokens; every query served with c'."))  # fmt: skip
    return out


def _triggers_figure(r: WhenResult, save: Callable[[Any, str], Path]) -> Figure:
    """Savings against fixed(k1,b1) by arrival law."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    names = [
        "learned trigger",
        "learned at arrival",
        "oracle (information-matched) trigger",
        "oracle (count-blind) trigger",
        "oracle (hindsight)",
    ]
    names = [n for n in names if all(any(p.name == n for p in t.points) for t in r.triggers)]
    width = 0.8 / len(names)
    x = np.arange(len(r.triggers))
    for i, n in enumerate(names):
        ax.bar(
            x + (i - (len(names) - 1) / 2) * width,
            [-100 * s.point(n).cost_change for s in r.triggers],
            width,
            label=n,
        )
    ax.set_xticks(x, [s.arrivals for s in r.triggers], rotation=15, fontsize=8)
    label_axes(ax, "Savings against fixed(k1,b1) by arrival law (simulated)", ylabel="saving at equal accuracy, %")  # fmt: skip
    return Figure(save(fig, "triggers.png"), "Savings against burstiness", "Cost saved at the accuracy of fixed(k1,b1) slept at arrival; arrival laws from memoryless to bursty (simulated).", wide=True)  # fmt: skip


def _edits_figure(r: WhenResult, save: Callable[[Any, str], Path]) -> Figure:
    """Each refresh strategy's cost by edit rate."""
    assert r.edits is not None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    rates = [e.edit_rate for e in r.edits]
    for kind in r.edits[0].usd_per_1k:
        ax.plot(rates, [e.usd_per_1k[kind] for e in r.edits], marker="o", label=kind)
    label_axes(ax, "Refresh after edits (simulated)", xlabel="edits per context lifetime", ylabel="USD per 1k queries at equal accuracy")  # fmt: skip
    return Figure(save(fig, "edits.png"), "Savings against edit rate", "Each refresh strategy's cost at the accuracy of fixed(k1,b1) refreshed after every edit (simulated).")  # fmt: skip


def _cprime_figure(r: WhenResult, save: Callable[[Any, str], Path]) -> Figure:
    """Saving against test-only by c' length and query rate."""
    assert r.cprime is not None
    import matplotlib.pyplot as plt

    c = r.cprime
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for q, row, be in zip(c.query_rates, c.savings, c.break_even_tokens, strict=True):
        (line,) = ax.plot(
            c.cprime_tokens,
            [100 * v for v in row],
            marker="o",
            ms=3,
            label=f"{q:g} queries/context",
        )
        if be is not None:
            ax.plot([be], [0], marker="x", ms=9, color=line.get_color())
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(max(-100, ax.get_ylim()[0]), None)
    label_axes(ax, "The size of c' (simulated; x: break-even)", xlabel="c' length, tokens", ylabel="saving against test-only, %")  # fmt: skip
    return Figure(save(fig, "cprime.png"), "Savings against c' length", "Sleep-time (k1, b1) against test-only at equal accuracy by c' length and query rate; crosses mark the break-even (simulated).")  # fmt: skip


def _idle_figure(r: WhenResult, save: Callable[[Any, str], Path]) -> Figure:
    """What idle capacity takes, saves and costs the first queries."""
    assert r.idle is not None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    caps = [i.capacity_tokens_per_s for i in r.idle]
    series = (("idle_share", "o", "share of sleep-time work in idle capacity"), ("usd_saved_share", "s", "sleep-time USD saved vs batch"),
              ("served_without_cprime", "^", "queries served without c'"))  # fmt: skip
    for key, marker, label in series:
        ax.plot(caps, [getattr(i, key) for i in r.idle], marker=marker, label=label)
    ax.axhline(
        r.idle[0].batch_served_without_cprime,
        color="gray",
        ls="--",
        lw=0.8,
        label="batch: queries without c'",
    )
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(caps, [f"{c:.1f}" for c in caps])
    label_axes(ax, "Idle capacity (simulated)", xlabel="fleet capacity, tokens/s", ylabel="share")
    return Figure(save(fig, "idle.png"), "Sleep-time work in idle capacity", "How much fits before the deadline, what it saves, and what the first queries lose (simulated).")  # fmt: skip


def _passk_figure(r: WhenResult, save: Callable[[Any, str], Path]) -> Figure:
    """Sleep-time levels against pass@k at equal test-time tokens."""
    assert r.passk is not None
    import matplotlib.pyplot as plt

    pk, sl = r.passk
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    budgets = sorted({p.name.split()[-1] for p in pk})
    for b in budgets:
        pts = [p for p in pk if p.name.endswith(b)]
        ax.plot(
            [p.test_tokens for p in pts],
            [p.accuracy for p in pts],
            marker="o",
            ms=3,
            ls="--",
            label=f"pass@k, {b}",
        )
    for lvl in sorted({p.name.split(",")[0] for p in sl}):
        pts = [p for p in sl if p.name.startswith(lvl + ",")]
        ax.plot(
            [p.test_tokens for p in pts],
            [p.accuracy for p in pts],
            marker="s",
            ms=4,
            label=f"sleep-time {lvl.removeprefix('fixed(')}",
        )
    ax.set_xscale("log")
    label_axes(ax, "Sleep-time compute vs pass@k (simulated)", xlabel="test-time output tokens per query", ylabel="accuracy", legend={"fontsize": 6, "ncol": 2})  # fmt: skip
    return Figure(save(fig, "passk.png"), "Against pass@k at equal test-time tokens", "pass@k with an oracle verifier (dashed) and sleep-time levels (solid), as the paper's Fig. 5 compares (simulated).")  # fmt: skip


def when_figures(r: WhenResult, folder: Path) -> list[Figure]:
    """Savings against burstiness, against edit rate, against c' length; the idle share; pass@k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sleeptime._atomic import atomic_path

    def save(fig: Any, name: str) -> Path:
        path = folder / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
        plt.close(fig)
        return path

    sections = (
        (r.triggers, _triggers_figure),
        (r.edits, _edits_figure),
        (r.cprime is not None, _cprime_figure),
        (r.idle, _idle_figure),
        (r.passk is not None, _passk_figure),
    )
    return [draw(r, save) for present, draw in sections if present]


def headline(r: WhenResult) -> str:
    """The study's closing sentence: per arrival law, the learned trigger against fixed(k1,b1)
    and the shares of the information-matched and count-blind oracles' savings it closes."""
    parts = []
    for s in r.triggers:
        p = s.point("learned trigger")
        parts.append(f"{s.arrivals}: learned trigger {percent(p.cost_change)} at the accuracy of {s.reference}, closing {number(p.gap_closed_observable)} of the "
                     f"information-matched oracle's saving and {number(p.gap_closed)} of the count-blind one's")  # fmt: skip
    return "Simulated. " + ("; ".join(parts) + "." if parts else "When-to-sleep study.")
