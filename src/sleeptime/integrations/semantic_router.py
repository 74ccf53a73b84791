"""vLLM Semantic Router: the policy's budget levels as routing decisions in its YAML.

The semantic router decides with its own signals and cannot run the policy's features, so the
per-request choice stays with the sleeptime runtime (in the application, or the LiteLLM hook
in front). What maps is the *action*: each budget level becomes one decision that sets
``use_reasoning`` and ``reasoning_effort`` on the model (and the verbosity instruction as a
``system_prompt`` plugin for models without reasoning), matched by a keyword signal that names
the level (``[sleeptime:level-1]``, added to the request by the caller that ran the policy).
The level the policy picks most often on held-out traffic is the default route. Where the
policy's actions span several models, each level's decision routes to its own model (the
``model`` of the artifact's action, e.g. ``level-1@gpt-4o-mini`` to ``gpt-4o-mini``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def level_tag(level: str) -> str:
    """The marker a request carries to select a budget level's decision."""
    return f"[sleeptime:{level}]"


def semantic_router_config(
    artifact: Mapping[str, Any], *, default_level: str | None = None, priority: int = 100
) -> dict[str, Any]:
    """The ``routing`` section (signals and decisions) for an exported policy."""
    actions: Sequence[Mapping[str, Any]] = artifact["actions"]["test"]
    model = artifact["actions"]["model"]
    levels = [a["level"] for a in actions]
    default = default_level or levels[len(levels) // 2]
    if default not in levels:
        raise ValueError(f"default level {default!r} is not one of {levels}")
    keywords = [
        {"name": f"sleeptime_{a['level']}", "operator": "OR", "keywords": [level_tag(a["level"])], "case_sensitive": True}
        for a in actions
    ]  # fmt: skip
    decisions = []
    for i, a in enumerate(actions):
        params = a["params"]
        ref: dict[str, Any] = {
            "model": a.get("model", model),
            "use_reasoning": params.get("reasoning_effort") is not None,
        }
        if params.get("reasoning_effort") is not None:
            ref["reasoning_effort"] = params["reasoning_effort"]
        decision: dict[str, Any] = {
            "name": f"sleeptime-{a['level']}",
            "description": f"sleeptime budget {a['level']} on {ref['model']} (max_tokens {params.get('max_tokens')})",
            "priority": priority - i,
            "rules": {"operator": "AND", "conditions": [{"type": "keyword", "name": f"sleeptime_{a['level']}"}]},
            "modelRefs": [ref],
        }  # fmt: skip
        if params.get("verbosity_prompt"):
            decision["plugins"] = [{"type": "system_prompt", "configuration": {"enabled": True, "system_prompt": params["verbosity_prompt"], "mode": "insert"}}]  # fmt: skip
        decisions.append(decision)
    fallback = dict(next(d for d in decisions if d["name"] == f"sleeptime-{default}"))
    fallback.update(name="sleeptime-default", description=f"no level tag: the policy's most frequent level ({default})",
                    priority=1, rules={"operator": "AND", "conditions": []})  # fmt: skip
    decisions.append(fallback)
    return {"routing": {"signals": {"keywords": keywords}, "decisions": decisions}}


def semantic_router_yaml(artifact: Mapping[str, Any], **kwargs: Any) -> str:
    """:func:`semantic_router_config` as YAML text, with a header naming its source."""
    import yaml

    header = (
        f"# vLLM Semantic Router decisions for a sleeptime policy (sleeptime {artifact['package_version']},\n"
        f"# MLflow run {artifact['mlflow_run_id']}, {_models(artifact)}). The per-request\n"
        "# choice is made by sleeptime.runtime, which tags the request with its level.\n"
    )  # fmt: skip
    body: str = yaml.safe_dump(semantic_router_config(artifact, **kwargs), sort_keys=False)
    return header + body


def _models(artifact: Mapping[str, Any]) -> str:
    """``model M`` or, where the actions span several, ``models A, B``."""
    named = list(dict.fromkeys(a.get("model") or artifact["actions"]["model"] for a in artifact["actions"]["test"]))  # fmt: skip
    return f"model {named[0]}" if len(named) == 1 else f"models {', '.join(named)}"
