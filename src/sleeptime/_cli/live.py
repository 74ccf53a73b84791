"""``sleeptime collect``: real runs (measured)."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit, number
from sleeptime._errors import SleeptimeError


def collect_text(r: dict[str, Any]) -> str:
    e = r["endpoint"]
    at = ", ".join(f"{x['base_url'] or 'LiteLLM'} ({x['model']})" for x in e.get("endpoints", [e]))
    lines = [f"{r['design']} run at {at}: {r['traces']} records in {r['traces_file']} "
             f"(sleep-time outputs: {r['sleep_outputs_file']}); measured",
             f"requests sent {r['requests_sent']}, answers from the cache {r['cache_hits']}, failed {r['failed']}; "
             f"prompt tokens {r['prompt_tokens']:,}, completion tokens {r['completion_tokens']:,}; {r['seconds']:.0f} s"]  # fmt: skip
    if r["stopped_at_cap"]:
        lines.append(f"stopped at the spending cap (--max-usd): spent {r['usd_spent_now']:.4f} USD now; what was collected is kept, rerun with a higher cap to go on")  # fmt: skip
    if r["batch"].get("file"):
        lines.append(f"wrote the sleep-time requests to {r['batch']['file']}: send it to the provider's Batch API, then rerun with --batch-results OUTPUT [--batch-errors ERRORS]")  # fmt: skip
    for err in r["errors"][:5]:
        lines.append(f"failed: {err}")
    across = any(c.get("model") for c in r["cells"])
    lines += ["", (f"{'notes by':<30}{'answered by':<30}" if across else "") + f"{'sleep':<7}{'budget':<7}{'view':<8}{'n':>5}{'accuracy':>10}{'95% CI':>14}{'in tok':>8}{'out tok':>8}{'sleep tok':>10}{'latency s':>10}{'USD/1k q':>10}{'cut':>5}"
              + (f"{'score':>8} (95% CI)" if any(c.get("score") is not None for c in r["cells"]) else "")]  # fmt: skip
    for c in r["cells"]:
        lo, hi = c["accuracy_ci95"]
        usd = None if c["usd_per_query"] is None else 1000 * c["usd_per_query"]
        lines.append((f"{c['sleep_model'] or '-':<30}{c['model']:<30}" if across else "") + f"{c['sleep_level']:<7}{c['budget']:<7}{c['view']:<8}{c['answers']:>5}{c['accuracy']:>10.3f}{number(lo, '.3f'):>7}-{number(hi, '.3f'):<6}"
                     f"{number(c['test_input_tokens'], '.0f'):>8}{number(c['test_output_tokens'], '.1f'):>8}{c['sleep_output_tokens']:>10.1f}"
                     f"{number(c['latency_s'], '.2f'):>10}{number(usd, '.4f'):>10}{c['cut_by_max_tokens']:>5}"
                     + (f"{c['score']:>8.3f} ({c['score_ci95'][0]:.3f}-{c['score_ci95'][1]:.3f})" if c.get("score") is not None else ""))  # fmt: skip
    lines.append(f"USD at {r['prices']}; 'cut': answers that hit max_tokens" + ("; 'score': the graded score (a span's token F1)" if any(c.get("score") is not None for c in r["cells"]) else ""))  # fmt: skip
    if r.get("judge_usd") is not None:
        lines.append(f"the LLM judge (answers of kind judge) cost {r['judge_usd']:.6f} USD, apart from the policy's")  # fmt: skip
    if r["mlflow_run_id"]:
        lines.append(f"MLflow run {r['mlflow_run_id']}")
    return "\n".join(lines)


def _collect(args: argparse.Namespace) -> None:
    from sleeptime._lists import comma_list
    from sleeptime.experiments import collect_live

    try:
        budgets = [int(b) for b in comma_list(args.budgets)]
    except ValueError:
        from sleeptime.experiments import SpecError

        raise SpecError(f"--budgets must be integers separated by commas, e.g. 0,1,2; got {args.budgets!r}") from None  # fmt: skip
    result = collect_live(
        out=args.out, endpoint=args.endpoint or ["local"], model=args.model, api_key_env=args.api_key_env, litellm=args.litellm,
        model_file=args.model_file, contexts=args.contexts, questions_per_context=args.questions_per_context, min_questions=args.min_questions,
        sleep_levels=comma_list(args.sleep_levels), budgets=budgets, views=comma_list(args.views), reasoning=args.reasoning,
        policy=args.policy, expected_queries=args.expected_queries, concurrency=args.concurrency, cache=args.cache,
        max_usd=args.max_usd, batch_file=args.batch_file, batch_results=args.batch_results, batch_errors=args.batch_errors,
        prompts=args.prompts, prices=args.prices, price_model=args.price_model, seed=args.seed, temperature=args.temperature,
        stream=args.stream, sleep_max_tokens=args.sleep_max_tokens, router=args.router, sample=args.sample, judge_prompt=args.judge_prompt,
        explore=args.explore, decision_log=args.decision_log,
        track=not args.no_track, tracking_uri=args.tracking_uri, progress=not args.json, server_mode=args.server_mode,
        **opt.workload_kwargs(args),
    )  # fmt: skip
    data = emit(args, result, collect_text)
    if data["failed"]:
        # what came back is written (and cached); the run is not complete: say so and exit 1
        raise SleeptimeError(failed_message(data["failed"], data["errors"]))


def failed_message(failed: int, errors: list[str]) -> str:
    """The one line of a run whose requests failed: how many, which, and what to do."""
    shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
    return (f"{failed} request{'s' if failed != 1 else ''} failed, their records are missing (rerun the same command to "
            f"collect just those; what was collected is kept): {shown or 'see the log'}")  # fmt: skip


def register(sub: Any) -> None:
    c = sub.add_parser("collect", help="run sleep-time and test-time compute against a real endpoint; one trace record per answer (measured)")  # fmt: skip
    opt.workload_source(c, default="builtin")
    c.add_argument("--out", required=True, help="the trace file (JSONL; appended, resumed; sleep-time outputs go to NAME.sleep.jsonl beside it)")  # fmt: skip
    c.add_argument("--endpoint", action="append", default=None, help="'local' (default: start the embedded server for the run), a .gguf file (a local server on it), an OpenAI-compatible base URL, or 'litellm' with --litellm; "
                   "repeat it for a run across models (the grid crosses the model that writes the notes with the one that answers)")  # fmt: skip
    c.add_argument("--model", action="append", default=None, help="the model at the endpoint (with --litellm: a LiteLLM model string, e.g. openai/gpt-4o-mini); one per --endpoint where there are several URLs; for a local server, the name it serves its model under (default: the file's)")  # fmt: skip
    c.add_argument("--litellm", action="store_true", help="send through LiteLLM (--model is a LiteLLM model string; --endpoint URL is its api_base)")  # fmt: skip
    c.add_argument("--api-key-env", default=None, metavar="VAR", help="the environment variable holding the API key (the key never reaches a file)")  # fmt: skip
    c.add_argument(
        "--model-file", default=None, help="with --endpoint local: the .gguf file to serve"
    )
    c.add_argument("--server-mode", choices=("reuse", "exact"), default="reuse",
                   help="with --endpoint local: reuse (default; prompt cache on, a context's shared prefix is read once) "
                        "or exact (one slot, no cache: the same request always gets the same answer)")  # fmt: skip
    c.add_argument("--contexts", type=int, default=20, help="N contexts of the source (default 20; see --sample)")  # fmt: skip
    c.add_argument("--sample", choices=("first", "templates"), default="first", help="the first N contexts (default) or one of each template in turn")  # fmt: skip
    c.add_argument("--questions-per-context", type=int, default=None, help="the first N questions of each context (default all)")  # fmt: skip
    c.add_argument("--min-questions", type=int, default=0, help="only contexts with at least N questions (taken before --contexts; default 0: all)")  # fmt: skip
    c.add_argument("--sleep-levels", default="none,k1", help="exploration grid: none, kN (N rewrites), low/medium/high (default none,k1)")  # fmt: skip
    c.add_argument("--budgets", default="0,1,2", help="exploration grid: budget levels, verbosity 0-4 (reasoning models 0-2) (default 0,1,2)")  # fmt: skip
    c.add_argument("--views", default="c,c_prime,both", help="what an answer sees: c, c_prime, both (default all that apply)")  # fmt: skip
    c.add_argument("--reasoning", action="store_true", help="a reasoning model: budgets are reasoning efforts, not verbosity prompts")  # fmt: skip
    c.add_argument("--policy", default=None, metavar="ARTIFACT", help="instead of a grid, the decisions of an exported policy (one answer per query)")  # fmt: skip
    c.add_argument("--router", action="store_true", help="with --policy: serve through litellm.Router with the SleeptimeHook deciding (a deployment)")  # fmt: skip
    c.add_argument("--explore", type=float, default=0.0, metavar="EPSILON", help="with --router: explore around the policy's decisions (epsilon-greedy, seeded by --seed; default 0, never)")  # fmt: skip
    c.add_argument("--decision-log", default=None, metavar="FILE", help="with --router: log every decision with its propensity (JSONL or .parquet), for sleeptime evaluate-logs; the trace file holds the outcomes")  # fmt: skip
    c.add_argument("--expected-queries", type=float, default=None, help="with --policy: the queries a context is expected to get (default: its questions in the sample)")  # fmt: skip
    c.add_argument("--concurrency", type=int, default=4, help="requests in flight at most (default 4)")  # fmt: skip
    c.add_argument("--cache", default=None, help="response cache (SQLite; default NAME.cache.sqlite beside the traces)")  # fmt: skip
    c.add_argument("--max-usd", type=float, default=None, help="stop before a new request would take the run's spend past this")  # fmt: skip
    c.add_argument("--batch-file", default=None, help="write the sleep-time requests as an OpenAI Batch API input file and stop")  # fmt: skip
    c.add_argument("--batch-results", default=None, help="the Batch API's output file for those requests: read it, then go on")  # fmt: skip
    c.add_argument(
        "--batch-errors", default=None, help="the Batch API's error file, with --batch-results"
    )
    c.add_argument("--prompts", default="auto", help="the prompt family: auto (default: the workload's own; SQuAD and DROP files: document, Stateful AIME: aime, else gsm), gsm, aime, document, code, conversation, or a TOML file with the same keys")  # fmt: skip
    c.add_argument("--judge-prompt", default="judge", help="the LLM judge that grades answers of kind judge, at the same endpoint: judge (default, the built-in prompt) or a TOML file with system and user ({question}, {reference}, {answer})")  # fmt: skip
    c.add_argument("--prices", default="list-2025", help="price book for USD (default list-2025; see sleeptime prices)")  # fmt: skip
    c.add_argument("--price-model", default="gpt-4o-mini", help="price the tokens as this model of the book (default gpt-4o-mini); across models one per --endpoint, e.g. gpt-4o,gpt-4o-mini")  # fmt: skip
    c.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0, greedy)")  # fmt: skip
    c.add_argument("--sleep-max-tokens", type=int, default=384, help="max_tokens of each sleep-time rewrite (default 384)")  # fmt: skip
    c.add_argument("--stream", action="store_true", help="receive answers as server-sent events: also measures the time to the first token")  # fmt: skip
    opt.seed(c)
    opt.tracking(c)
    opt.json_flag(c)
    c.set_defaults(handler=_collect)
