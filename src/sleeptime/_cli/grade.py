"""``sleeptime grade``: a run's answers graded by an LLM judge, with gold or against a reference
allocation's answers, and the judge measured against gold (measured)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, number


def grade_text(r: dict[str, Any]) -> str:
    ag = r.get("against_gold")
    mode = f"reference mode (against the answers of {r['reference']}, not gold)" if r["mode"] == "reference" else "against gold"  # fmt: skip
    lines = [
        f"graded {r['judged']} of {r['records']} answers {mode} into {r['out']} ({r['written']} written, "
        f"{r['unparsable']} unparsable judge replies, {r['left_out']} left out); judge USD {number(r['judge_usd'], '.4f')} (apart from the policy's)",
    ]  # fmt: skip
    if ag:
        lines.append(f"the judge against the gold-based verdicts on {ag['n']} answers: agreement {number(ag['accuracy'], '.3f')}, "
                     f"Cohen's kappa {number(ag['kappa'], '.3f')}; rate of 'correct' judge {number(ag['judge_rate'], '.3f')} vs gold {number(ag['gold_rate'], '.3f')} (measured)")  # fmt: skip
    for group, b in r.get("bias", {}).items():
        lines.append(f"  {group}: n {b['n']}, judge {b['judge_rate']:.3f} vs gold {b['gold_rate']:.3f} (excess {b['excess']:+.3f})")  # fmt: skip
    if r.get("cells"):
        lines += ["", "the graded file per cell (correct: the judge's verdict, or gold with --keep-gold):",
                  f"{'sleep':<7}{'budget':<7}{'view':<8}{'n':>5}{'accuracy':>10}{'95% CI':>14}"]  # fmt: skip
        for c in r["cells"]:
            lines.append(f"{c['sleep_level']:<7}{c['budget']:<7}{c['view']:<8}{c['answers']:>5}{c['accuracy']:>10.3f}{c['accuracy_ci95'][0]:>7.3f}-{c['accuracy_ci95'][1]:<6.3f}")  # fmt: skip
    return "\n".join(lines)


def _grade(args: argparse.Namespace) -> None:
    from sleeptime.experiments import grade_traces

    result = grade_traces(
        args.traces, args.out, reference=args.reference, use_judge=not args.keep_gold,
        endpoint=args.endpoint, model=args.model, api_key_env=args.api_key_env, litellm=args.litellm,
        model_file=args.model_file, judge_prompt=args.judge_prompt, concurrency=args.concurrency, cache=args.cache,
        prices=args.prices, price_model=args.price_model, tracking_uri=args.tracking_uri, track=not args.no_track,
        **opt.workload_kwargs(args),
    )  # fmt: skip
    emit(args, result.to_json(), grade_text)


def register(sub: Any) -> None:
    p = sub.add_parser("grade", help="grade a run's answers with an LLM judge (against gold, or without gold against a reference allocation's answers) and measure the judge against gold")  # fmt: skip
    p.add_argument("traces", help="a trace file of sleeptime collect")
    p.add_argument("--out", required=True, help="the graded trace file to write (JSONL; correct = the judge's verdict, correct_gold kept)")  # fmt: skip
    p.add_argument("--workload", dest="source", default="builtin", help="the workload the run was collected on (default builtin)")  # fmt: skip
    p.add_argument("--format", default=None, help="the workload file's format (default: detected)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--context-field", default=None, help=argparse.SUPPRESS)
    p.add_argument("--reference", default=None, metavar="SLEEP,BUDGET,VIEW", help="reference mode, for answers without gold: the judge compares each answer with the answer of this allocation (the most thorough one of the run, e.g. none,b4,c); every report says so")  # fmt: skip
    p.add_argument("--keep-gold", action="store_true", help="keep correct as the gold-based verdict (only measure the judge)")  # fmt: skip
    p.add_argument("--endpoint", default="local", help="the judge: 'local' (default: the embedded server), an OpenAI-compatible base URL, or 'litellm'")  # fmt: skip
    p.add_argument("--model", default=None, help="the judge's model at the endpoint (with --litellm a LiteLLM model string)")  # fmt: skip
    p.add_argument("--litellm", action="store_true", help="send through LiteLLM")
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="the environment variable holding the judge endpoint's API key")  # fmt: skip
    p.add_argument(
        "--model-file", default=None, help="with --endpoint local: the .gguf file to serve"
    )
    p.add_argument("--judge-prompt", default="judge", help="the judge's prompt: judge (default, sleeptime/live/prompts/judge.toml) or a TOML file with system and user")  # fmt: skip
    p.add_argument(
        "--concurrency", type=int, default=4, help="judge requests in flight at most (default 4)"
    )
    p.add_argument(
        "--cache", default=None, help="the response cache (default OUT's name with .cache.sqlite)"
    )
    p.add_argument(
        "--prices", default="list-2025", help="price book of the judge's USD (default list-2025)"
    )
    p.add_argument("--price-model", default="gpt-4o-mini", help="the price book's model for the judge's USD (default gpt-4o-mini)")  # fmt: skip
    opt.tracking(p)
    opt.json_flag(p)
    p.set_defaults(handler=_grade)
