"""``sleeptime train``, ``export`` and ``validate``: a policy for a dollar target, for a router."""

from __future__ import annotations

import argparse
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def _train(args: argparse.Namespace) -> None:
    from sleeptime.experiments import train

    result = train(opt.scenario_config(args), features=args.features, budget_usd_per_1k=args.budget_usd_per_1k,
                   tracking_uri=args.tracking_uri, progress=not args.json)  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        return (f"trained the learned policy ({r['features']} features); lam {r['lam']:.4g} for a target of "
                f"{r['target_usd_per_1k']:.4f} USD per 1k queries\nheld-out spend {r['held_out_usd_per_1k']:.4f} "
                f"({r['held_out_spend_error']:+.1%} of target), accuracy {r['held_out_accuracy']:.3f} (simulated)\n"
                f"MLflow run {r['mlflow_run_id']}")  # fmt: skip

    emit(args, result, human)


def _export(args: argparse.Namespace) -> None:
    from sleeptime.experiments import export

    result = export(opt.scenario_config(args), args.out, features=args.features, budget_usd_per_1k=args.budget_usd_per_1k,
                    max_depth=args.max_depth, transfer_set=args.transfer_set, semantic_router=args.semantic_router,
                    mlflow_model=args.mlflow_model, tracking_uri=args.tracking_uri, progress=not args.json)  # fmt: skip

    def human(r: dict[str, Any]) -> str:
        f = r["fidelity"]
        lines = [
            f"wrote {r['artifact']} ({r['bytes'] / 1024:.0f} KiB; {r['features']} features), lam {r['lam']:.4g} for {r['target_usd_per_1k']:.4f} USD per 1k queries",
            f"held-out (simulated): learned policy accuracy {f['learned_accuracy']:.3f} at {f['learned_usd_per_1k']:.4f} USD/1k; "
            f"exported trees {f['exported_accuracy']:.3f} at {f['exported_usd_per_1k']:.4f} USD/1k",
            f"agreement with the learned policy: sleep {f['sleep_agreement']:.1%}, budget {f['budget_agreement']:.1%}",
        ]  # fmt: skip
        if "semantic_router" in r:
            lines.append(f"vLLM Semantic Router decisions: {r['semantic_router']}")
        if "mlflow_model_uri" in r:
            lines.append(f"MLflow pyfunc model: {r['mlflow_model_uri']}")
        lines.append(f"MLflow run {r['mlflow_run_id']}")
        return "\n".join(lines)

    emit(args, result, human)


def _validate(args: argparse.Namespace) -> None:
    from sleeptime.experiments import validate_policy

    def human(r: dict[str, Any]) -> str:
        f = r["fidelity"]
        lines = [f"{r['path']}: a valid policy artifact (schema {r['schema_version']}, sleeptime {r['package_version']}, {r['bytes'] / 1024:.0f} KiB)",
                 f"created {r['created_at']}, MLflow run {r['mlflow_run_id']}",
                 f"{'models ' + ', '.join(r['models']) if len(r['models']) > 1 else 'model ' + r['model']}, price book {r['price_book']}, lam {r['lam']:.4g}, {r['question_draws']} question draws",
                 f"sleep levels {', '.join(r['sleep_levels'])}; budgets {', '.join(r['budgets'])}",
                 f"features per query: {', '.join(r['features']['query'])}",
                 f"features per context: {', '.join(r['features']['context'])}"]  # fmt: skip
        if r["caller_features"]:
            lines.append(f"the caller passes: {', '.join(r['caller_features'])}")
        if f:
            lines.append(f"held-out fidelity (simulated): sleep agreement {f['sleep_agreement']:.1%}, budget agreement {f['budget_agreement']:.1%}")  # fmt: skip
        return "\n".join(lines)

    emit(args, validate_policy(args.artifact), human)


def register(sub: Any) -> None:
    from sleeptime.experiments import TRANSFER_SETS

    train = sub.add_parser("train", help="train the learned policy and set its lam for a dollar budget")  # fmt: skip
    opt.scenario(train)
    opt.features(train, "all", "all features, or only those a router computes without an LM")
    opt.budget(train, 0.12, "target spend, USD per 1,000 queries (default 0.12)")
    opt.json_flag(train)
    train.set_defaults(handler=_train)

    export = sub.add_parser("export", help="train, distil and write the policy artifact a router loads (JSON, no pickle)")  # fmt: skip
    opt.scenario(export)
    export.add_argument("--out", required=True, help="artifact path to write (JSON)")
    opt.features(export, "cheap", "cheap (default: computed by the runtime from text) or all (LM features from the caller)")  # fmt: skip
    opt.budget(export, 0.12, "target spend, USD per 1,000 queries (default 0.12)")
    export.add_argument("--max-depth", type=int, default=10, help="depth of the distilled trees (default 10)")  # fmt: skip
    export.add_argument("--transfer-set", choices=TRANSFER_SETS, default=TRANSFER_SETS[0],
                        help="inputs the trees are fitted on: the training contexts and the served (held-out) contexts' features, "
                             "labelled by the learned policy without outcomes (default), or the training contexts only")  # fmt: skip
    export.add_argument("--semantic-router", default=None, metavar="YAML", help="also write vLLM Semantic Router decisions to this YAML")  # fmt: skip
    export.add_argument("--mlflow-model", action="store_true", help="also log the policy as an MLflow pyfunc model (servable with mlflow models serve)")  # fmt: skip
    opt.json_flag(export)
    export.set_defaults(handler=_export)

    validate = sub.add_parser("validate", help="check a policy artifact as a router loads it, and say what it holds")  # fmt: skip
    validate.add_argument("artifact", help="a policy.json written by sleeptime export or a run")
    opt.json_flag(validate)
    validate.set_defaults(handler=_validate)
