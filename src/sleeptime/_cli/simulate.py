"""``sleeptime calibrate``, ``simulate``, ``paper-figures`` and ``prices``: the simulator."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, number, replay_block


def _calibrate(args: argparse.Namespace) -> None:
    from sleeptime.experiments import calibrate_points

    result = calibrate_points(args.points, quintiles=args.quintiles, amortization=args.amortization, plot=args.plot)  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        lines = [f"{'benchmark':<28} {'model':<18} {'condition':<10} {'RMSE':>6} {'max err':>8} {'n':>3} {'dof':>3}"]  # fmt: skip
        exact = False
        for f in r["fits"]:
            rmse = f"{f['rmse']:6.3f}" if f["degrees_of_freedom"] > 0 else "   n/a"
            exact |= f["degrees_of_freedom"] <= 0
            lines.append(f"{f['benchmark']:<28} {f['model']:<18} {f['condition']:<10} {rmse} {f['max_abs_error']:8.3f} {f['n_points']:3d} {f['degrees_of_freedom']:3d}")  # fmt: skip
        if exact:
            lines.append("n/a: as many parameters (3) as points, or more: the curve passes through every point, so its error says nothing")  # fmt: skip
        lines.append("")
        lines.append("test-only tokens needed to match sleep-time at its lowest budget (fitted / digitized):")  # fmt: skip
        for t in r["token_savings"]:
            lines.append(f"  {t['benchmark']:<28} {t['model']:<18} {number(t['ratio'], '6.2f')}x / {number(t['ratio_digitized'], '6.2f')}x")  # fmt: skip
        if "plot" in r:
            lines.append(f"wrote {r['plot']}")
        return "\n".join(lines)

    emit(args, result, human)


def _simulate(args: argparse.Namespace) -> None:
    from sleeptime.experiments import simulate

    result = simulate(
        benchmark=args.benchmark, model=args.model, points=args.points, fit_traces=args.fit_traces, sleep=args.sleep,
        budget=args.budget, prices=args.prices, queries_per_context=args.queries_per_context, fixed_queries=args.fixed_queries,
        idle_mean_s=args.idle_mean_s, rho=args.rho, mode=args.mode, seed=args.seed, scores=args.scores, traces=args.traces,
        track=not args.no_track, tracking_uri=args.tracking_uri, **opt.workload_kwargs(args),
    )  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        head = f"fixed policy: sleep {r['policy']['sleep']}, budget b{r['policy']['budget']} on {r['model']} ({r['price_book']} prices)"  # fmt: skip
        tail = f"\nwrote traces to {r['traces']}" if "traces" in r else ""
        return head + "\n" + replay_block(r) + tail

    emit(args, result, human)


def _paper_figures(args: argparse.Namespace) -> None:
    from sleeptime.experiments import paper_figures

    result = paper_figures(benchmark=args.benchmark, model=args.model, contexts=args.contexts, seed=args.seed, out=args.out, progress=not args.json)  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        q = r["quintile_gains"]
        lines = [f"paper figures in simulation for {r['benchmark']} / {r['model']} (simulated)",
                 "cost per query, 1 vs 10 queries per context: " + ", ".join(f"b{b.removeprefix('level-')} {v:.2f}x" for b, v in r["amortization_cost_ratio_1_to_10"].items()),
                 "gain by predictability quintile, simulated, by latent predictability: " + ", ".join(f"{g:.3f}" for g in q["simulated"]),
                 "                                simulated, by observed score:     " + ", ".join(f"{g:.3f}" for g in q["simulated_by_observed"])]  # fmt: skip
        if q["digitized"]:
            lines.append("                                digitized Fig. 10:                " + ", ".join(f"{g:.3f}" for g in q["digitized"]))  # fmt: skip
        lines.extend(f"wrote {f}" for f in r["files"].values())
        return "\n".join(lines)

    emit(args, result, human)


def _prices(args: argparse.Namespace) -> None:
    from sleeptime.experiments import price_book

    def human(r: dict[str, Any]) -> str:
        keys = list(r["keys"])
        short = {"input_usd_per_mtok": "in $/M", "output_usd_per_mtok": "out $/M", "batch_discount": "batch", "cache_read_multiplier": "cache rd",
                 "cache_write_multiplier": "cache wr", "cache_ttl_s": "ttl s", "decode_tokens_per_s": "tok/s", "ttft_s": "ttft s", "batch_latency_s": "batch s",
                 "live_sleep_discount": "live slp", "fleet_tokens_per_s": "fleet t/s", "fleet_usd_per_mtok": "fleet $/M", "fleet_deadline_s": "fleet dl", "fleet_load": "load"}  # fmt: skip

        def cell(v: Any) -> str:  # fleet_load is 24 hourly shares, or empty for the built-in curve
            return (
                f"{('diurnal' if not v else f'{min(v):g}-{max(v):g}'):>10}"
                if isinstance(v, list)
                else f"{v:>10g}"
            )

        lines = [f"price book {r['version']} ({r['note'] or r['source']}); built in: {', '.join(r['builtin'])}", "",
                 f"{'model':<20}" + "".join(f"{short.get(k, k):>10}" for k in keys)]  # fmt: skip
        for name, p in r["models"].items():
            lines.append(f"{name:<20}" + "".join(cell(p[k]) for k in keys))
        lines.append("")
        lines.extend(f"  {k}: {doc}" for k, doc in r["keys"].items())
        return "\n".join(lines)

    emit(args, price_book(args.book), human)


def register(sub: Any) -> None:
    cal = sub.add_parser("calibrate", help="fit accuracy curves to digitized points; report fits and token savings")  # fmt: skip
    cal.add_argument(
        "points", help="CSV with benchmark, model, condition, avg_test_tokens, accuracy"
    )
    cal.add_argument("--quintiles", default=None, help="CSV of gains per predictability quintile (Fig. 10 style)")  # fmt: skip
    cal.add_argument("--amortization", default=None, help="CSV of cost per query vs queries per context (Fig. 9 style)")  # fmt: skip
    cal.add_argument("--plot", default=None, help="write the curves and points to this PNG")
    opt.json_flag(cal)
    cal.set_defaults(handler=_calibrate)

    sim = sub.add_parser("simulate", help="replay a fixed policy on a workload (simulated)")
    opt.workload_source(sim, default="builtin")
    opt.panel(sim, model_help="model of the panel and of the price book (default gpt-4o-mini)")
    sim.add_argument("--points", default=None, help="your own calibration CSV (default: the paper's digitized points)")  # fmt: skip
    sim.add_argument("--sleep", default="k1", help="sleep level: none, k1, k2, k5, k10 (AIME: none, low, medium, high)")  # fmt: skip
    sim.add_argument("--budget", type=int, default=0, help="test-time budget level, 0 = lowest (default 0)")  # fmt: skip
    sim.add_argument("--prices", default=None, help="list-2025 (default), paper-abstract, or a TOML/JSON price book (see sleeptime prices)")  # fmt: skip
    sim.add_argument("--queries-per-context", type=float, default=4.0, help="geometric mean of queries per context, > 0 (default 4)")  # fmt: skip
    sim.add_argument("--fixed-queries", type=int, default=None, help="exactly N queries per context instead")  # fmt: skip
    sim.add_argument("--idle-mean-s", type=float, default=1800.0, help="mean idle window before the first query, s (default 1800)")  # fmt: skip
    opt.rho(sim)
    sim.add_argument("--mode", choices=("expected", "sampled"), default="expected", help="expected values or seeded draws")  # fmt: skip
    opt.seed(sim)
    sim.add_argument("--fit-traces", default=None, metavar="JSONL", help="fit the outcome model to trace records of your own runs (the trace fields: docs/formats.md) instead of the paper's curves")  # fmt: skip
    sim.add_argument("--traces", default=None, help="write one trace record per query to this JSONL file")  # fmt: skip
    opt.tracking(sim)
    sim.add_argument("--scores", default=None, help="a table from `sleeptime score` of the same workload: its log p(q|c) is the observed predictability (default: question length stands in)")  # fmt: skip
    opt.json_flag(sim)
    sim.set_defaults(handler=_simulate)

    figs = sub.add_parser("paper-figures", help="the paper's Figs. 3-4, 9, 10 and a Pareto plot, in simulation")  # fmt: skip
    opt.panel(figs)
    figs.add_argument("--contexts", type=int, default=20000, help="contexts per simulated run (default 20000)")  # fmt: skip
    opt.seed(figs)
    figs.add_argument("--out", default="reports/paper-figures", help="output folder for the PNGs")
    opt.json_flag(figs)
    figs.set_defaults(handler=_paper_figures)

    prices = sub.add_parser("prices", help="print a price book (the built-in ones, or your file) and what each key means")  # fmt: skip
    prices.add_argument("book", nargs="?", default="list-2025", help="list-2025 (default), paper-abstract, or a TOML/JSON file")  # fmt: skip
    opt.json_flag(prices)
    prices.set_defaults(handler=_prices)
