"""``sleeptime when-to-sleep`` (triggers, refresh after edits, the size of c', idle capacity,
pass@k; simulated) and ``sleeptime fit-arrivals`` (count families fitted to an access log)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, number
from sleeptime._lists import comma_list


def _numbers(cast: type, what: str) -> Any:
    """An argparse type: comma-separated ``cast`` values as a tuple."""

    def parse(text: str) -> tuple[Any, ...]:
        try:
            return comma_list(text, cast)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None  # fmt: skip

    return parse


_floats, _ints = _numbers(float, "numbers"), _numbers(int, "integers")


def _names(text: str) -> tuple[str, ...]:
    return comma_list(text)


def when_text(r: dict[str, Any], tables: list[Any], figures: list[str]) -> str:
    lines = []
    for t in tables:
        lines += ["", t.title]
        widths = [
            max(len(str(c)), *(len(str(row[i])) for row in t.rows)) for i, c in enumerate(t.columns)
        ]
        lines.append(
            "  " + "  ".join(str(c).ljust(w) for c, w in zip(t.columns, widths, strict=True))
        )
        lines += [
            "  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
            for row in t.rows
        ]
        if t.caption:
            lines.append("  " + t.caption)
    lines += [f"wrote {f}" for f in figures]
    return "\n".join(lines).lstrip()


def _when(args: argparse.Namespace) -> None:
    from sleeptime._errors import SleeptimeError
    from sleeptime.experiments import WhenConfig, when_job, when_tables

    stale = None
    if args.stale_fit:
        from sleeptime.experiments import fit_stale_records

        stale = fit_stale_records(args.stale_fit)
        if args.stale_effect == "share":
            if not 0 <= stale.loss <= 1:
                raise SleeptimeError(f"{args.stale_fit}: the measured loss {stale.loss:.3f} is outside [0, 1] (no gain to lose, or a stale c' better than a fresh one): pass --stale-loss instead")  # fmt: skip
            args.stale_loss = stale.loss
        else:
            args.touched = stale.touched * stale.wrong_when_changed
    try:
        cfg = WhenConfig(
            contexts=args.contexts, seed=args.seed, prices=args.prices, arrivals=args.arrivals, access_log=args.access_log,
            edit_rates=args.edit_rates, edit_arrivals=args.edit_arrivals, stale_effect=args.stale_effect, stale_loss=args.stale_loss,
            touched=args.touched, incremental_cost=args.incremental_cost, cprime_scales=args.cprime_scales, query_rates=args.query_rates,
            saturation=args.saturation, fleet_multiples=args.fleet_multiples, energy_usd_per_mtok=args.energy_usd_per_mtok,
            deadline_s=args.deadline_s, pass_k=args.pass_k, sections=args.sections, n_boot=args.bootstrap,
        )  # fmt: skip
    except ValueError as exc:
        raise SleeptimeError(str(exc)) from None
    result, data = when_job(
        cfg, figures=args.figures, tracking_uri=args.tracking_uri, progress=not args.json
    )
    tables = when_tables(result)
    if stale is not None:
        data["stale_fit"] = stale.to_json()
    emit(args, data, lambda d: when_text(d, tables, d["figures"]))


def _fit(args: argparse.Namespace) -> None:
    from sleeptime.workloads import fit_arrivals, read_access_log

    log = read_access_log(args.log, context_field=args.context_field, time_field=args.time_field)
    fit = fit_arrivals(log, heldout_share=args.heldout_share, seed=args.seed)

    def text(d: dict[str, Any]) -> str:
        lines = [f"{d['source']}: {d['contexts']} contexts, {d['mean_queries_per_context']:.2f} queries each on average, mean gap {d['mean_gap_s']:.0f} s; "
                 f"{d['heldout_contexts']} held out"]  # fmt: skip
        for f in d["fits"]:
            params = ", ".join(f"{k} {v:.4g}" for k, v in f["params"].items())
            lines.append(f"  {f['family']:<14} held-out log-likelihood per context {f['heldout_loglik_per_context']:9.4f}  ({params}){'  <- best' if f['family'] == d['best'] else ''}")  # fmt: skip
        return "\n".join(lines)

    emit(args, fit.to_json(), text)


#: The study's sections and defaults, as in ``WhenConfig`` (kept equal by a test; importing the
#: study here would load numpy and scikit-learn for every command's help).
SECTIONS = ("triggers", "edits", "cprime", "idle", "passk")
DEFAULTS = argparse.Namespace(
    contexts=1400, prices="list-2025", sections=SECTIONS,
    arrivals=("geometric", "gamma-poisson:2", "gamma-poisson:0.5", "gamma-poisson:0.25", "self-exciting", "fitted"),
    edit_rates=(0.0, 0.5, 1.0, 2.0), edit_arrivals="gamma-poisson:0.5", stale_effect="share", stale_loss=0.5, touched=0.3,
    incremental_cost=0.3, cprime_scales=(0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0), query_rates=(1, 2, 4, 8, 16, 32), saturation=0.5,
    fleet_multiples=(0.25, 0.5, 1.0, 2.0, 4.0), pass_k=(1, 2, 4, 8), n_boot=500,
)  # fmt: skip


def _measure_stale(args: argparse.Namespace) -> None:
    from sleeptime.experiments import measure_stale_effect

    effect = measure_stale_effect(args.out, contexts=args.contexts, questions_per_context=args.questions_per_context, endpoint=args.endpoint,
                                  model=args.model, api_key_env=args.api_key_env, litellm=args.litellm, model_file=args.model_file,
                                  budget=args.budget, level=args.sleep_level, concurrency=args.concurrency, seed=args.seed)  # fmt: skip

    def text(d: dict[str, Any]) -> str:
        acc, ci = d["accuracy"], d["accuracy_ci95"]
        lines = [
            f"{d['answers']} answers on {d['contexts']} edited contexts (measured), written to {d['source']}"
        ]
        lines += [
            f"  {c:<6} accuracy {acc[c]:.3f} ({ci[c][0]:.3f}-{ci[c][1]:.3f})"
            for c in ("fresh", "stale", "none")
        ]
        lo, hi = d["loss_ci95"]
        lines.append(f"stale c' loses {number(d['loss'], '.2f')} of the sleep-time gain (95% CI {number(lo, '.2f')} to {number(hi, '.2f')}; n/a: no gain to lose); "
                     f"{number(d['touched'], '.0%')} of the questions' answers changed; on those a stale c' is wrong {number(d['wrong_when_changed'], '.0%')} of the times a fresh one is right")  # fmt: skip
        return "\n".join(lines)

    emit(args, effect.to_json(), text)


def register(sub: Any) -> None:
    d = DEFAULTS
    p = sub.add_parser("when-to-sleep", help="when sleep-time work pays: triggers by arrival law, refresh after edits, the size of c', idle capacity, pass@k (simulated)")  # fmt: skip
    p.add_argument("--contexts", type=int, default=d.contexts, help=f"built-in contexts per scenario (default {d.contexts}, the policy scenario of compare and the quickstart)")  # fmt: skip
    opt.seed(p)
    p.add_argument("--prices", default=d.prices, help="price book: list-2025 (default), paper-abstract, or a TOML/JSON file (fleet_* keys for idle capacity)")  # fmt: skip
    p.add_argument("--sections", type=_names, default=d.sections, help=f"comma-separated, of {','.join(SECTIONS)} (default all)")  # fmt: skip
    p.add_argument("--arrivals", type=_names, default=d.arrivals, help="arrival laws of the trigger section: geometric, gamma-poisson:SHAPE, self-exciting, fitted (default " + ",".join(d.arrivals) + ")")  # fmt: skip
    p.add_argument("--access-log", default=None, help="a CSV/JSONL log of (context_id, timestamp) rows for 'fitted' (default: a synthetic bursty log)")  # fmt: skip
    p.add_argument("--edit-rates", type=_floats, default=d.edit_rates, help="edits per context lifetime (default 0,0.5,1,2)")  # fmt: skip
    p.add_argument("--edit-arrivals", default=d.edit_arrivals, help=f"arrival law of the edits section (default {d.edit_arrivals})")  # fmt: skip
    p.add_argument("--stale-effect", choices=("share", "wrong"), default=d.stale_effect, help="a stale c' keeps a share of its gain (share, default) or is wrong on the edited part (wrong)")  # fmt: skip
    p.add_argument("--stale-loss", type=float, default=d.stale_loss, help=f"share of the sleep-time gain a stale c' loses (default {d.stale_loss})")  # fmt: skip
    p.add_argument("--stale-fit", default=None, metavar="RECORDS", help="set the stale effect from measured answers (sleeptime measure-stale's file): the share lost, or touched x wrong")  # fmt: skip
    p.add_argument("--touched", type=float, default=d.touched, help=f"with --stale-effect wrong: share of questions about the edited part (default {d.touched})")  # fmt: skip
    p.add_argument("--incremental-cost", type=float, default=d.incremental_cost, help=f"an incremental rewrite's price as a share of a whole one (default {d.incremental_cost})")  # fmt: skip
    p.add_argument("--cprime-scales", type=_floats, default=d.cprime_scales, help="c' lengths as multiples of the calibrated one (default " + ",".join(map(str, d.cprime_scales)) + ")")  # fmt: skip
    p.add_argument("--query-rates", type=_ints, default=d.query_rates, help="queries per context in the c' sweep (default " + ",".join(map(str, d.query_rates)) + ")")  # fmt: skip
    p.add_argument("--saturation", type=float, default=d.saturation, help=f"c' gain saturation, in multiples of the calibrated length (default {d.saturation}; an assumption)")  # fmt: skip
    p.add_argument("--fleet-multiples", type=_floats, default=d.fleet_multiples, help="fleet sizes as multiples of the sleep-time demand (when the price book sets no fleet_tokens_per_s)")  # fmt: skip
    p.add_argument("--energy-usd-per-mtok", type=float, default=None, help="marginal price of idle-capacity work (default: the book's fleet_usd_per_mtok, 0)")  # fmt: skip
    p.add_argument("--deadline-s", type=float, default=None, help="seconds after arrival by which fleet work must finish (default: the book's fleet_deadline_s, 3600)")  # fmt: skip
    p.add_argument("--pass-k", type=_ints, default=d.pass_k, help="k of the pass@k baseline (default 1,2,4,8)")  # fmt: skip
    p.add_argument("--bootstrap", type=int, default=d.n_boot, help=f"bootstrap draws for intervals (default {d.n_boot})")  # fmt: skip
    p.add_argument(
        "--figures", default=None, help="write the section figures (PNG) into this folder"
    )
    opt.tracking_uri(p)
    opt.json_flag(p)
    p.set_defaults(handler=_when)

    m = sub.add_parser("measure-stale", help="measure answers from a stale c' on edited built-in contexts (fresh, stale, none) and fit the stale effect (measured)")  # fmt: skip
    m.add_argument("--out", required=True, help="the JSONL file of answers to write")
    m.add_argument("--contexts", type=int, default=40, help="built-in contexts (default 40)")
    m.add_argument("--questions-per-context", type=int, default=3, help="questions of each edited context (default 3)")  # fmt: skip
    m.add_argument("--endpoint", default="local", help="'local' (the embedded server), an OpenAI-compatible base URL, or 'litellm'")  # fmt: skip
    m.add_argument("--model", default=None, help="the model at the endpoint")
    m.add_argument("--litellm", action="store_true", help="send through LiteLLM")
    m.add_argument("--api-key-env", default=None, metavar="VAR", help="the environment variable holding the API key")  # fmt: skip
    m.add_argument(
        "--model-file", default=None, help="with --endpoint local: the .gguf file to serve"
    )
    m.add_argument("--budget", type=int, default=0, help="test-time budget level (default 0)")
    m.add_argument("--sleep-level", default="k1", help="sleep level (default k1)")
    m.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    opt.seed(m)
    opt.json_flag(m)
    m.set_defaults(handler=_measure_stale)

    f = sub.add_parser("fit-arrivals", help="fit query-count families (geometric, Poisson, gamma-Poisson, self-exciting, power law) to an access log; best by held-out log-likelihood")  # fmt: skip
    f.add_argument("log", help="CSV with a header, or JSONL, of (context_id, timestamp) rows; timestamps in seconds or ISO 8601")  # fmt: skip
    f.add_argument("--context-field", default="context_id", help="the column naming the context (default context_id)")  # fmt: skip
    f.add_argument("--time-field", default="timestamp", help="the column holding the time (default timestamp)")  # fmt: skip
    f.add_argument("--heldout-share", type=float, default=0.25, help="share of contexts held out to score the fits (default 0.25)")  # fmt: skip
    opt.seed(f)
    opt.json_flag(f)
    f.set_defaults(handler=_fit)
