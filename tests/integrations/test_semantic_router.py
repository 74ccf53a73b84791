"""vLLM Semantic Router decisions: the YAML's shape, for a non-reasoning and a reasoning model."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sleeptime.integrations.semantic_router import level_tag, semantic_router_yaml
from sleeptime.policy import Environment
from sleeptime.policy._export import request_actions
from sleeptime.simulators import load_price_book, paper_outcome_model


def _check_shape(config: dict[str, Any], artifact: dict[str, Any]) -> None:
    routing = config["routing"]
    assert set(routing) == {"signals", "decisions"}
    keywords = routing["signals"]["keywords"]
    levels = [a["level"] for a in artifact["actions"]["test"]]
    assert [k["keywords"] for k in keywords] == [[level_tag(x)] for x in levels]
    names = {k["name"] for k in keywords}
    decisions = routing["decisions"]
    assert len(decisions) == len(levels) + 1 and decisions[-1]["rules"]["conditions"] == []
    priorities = [d["priority"] for d in decisions]
    assert len(set(priorities)) == len(priorities) and all(isinstance(p, int) for p in priorities)
    for d, action in zip(decisions, artifact["actions"]["test"], strict=False):
        assert set(d) >= {"name", "description", "priority", "rules", "modelRefs"}
        assert d["rules"]["operator"] == "AND"
        assert [c["type"] for c in d["rules"]["conditions"]] == ["keyword"]
        assert d["rules"]["conditions"][0]["name"] in names
        (ref,) = d["modelRefs"]
        assert ref["model"] == action.get("model", artifact["actions"]["model"])
        effort = action["params"]["reasoning_effort"]
        assert ref["use_reasoning"] is (effort is not None)
        assert ref.get("reasoning_effort") == effort
        prompts = [p["configuration"]["system_prompt"] for p in d.get("plugins", []) if p["type"] == "system_prompt"]  # fmt: skip
        assert prompts == ([action["params"]["verbosity_prompt"]] if action["params"]["verbosity_prompt"] else [])  # fmt: skip


def test_yaml_for_the_exported_policy(exported: dict[str, Any]) -> None:
    artifact = exported["cheap"]["artifact"]
    text = semantic_router_yaml(artifact)
    assert text.startswith("# vLLM Semantic Router decisions")
    _check_shape(yaml.safe_load(text), artifact)


@pytest.mark.parametrize("model", ["o3-mini", "deepseek-r1"])
def test_yaml_for_a_reasoning_model(exported: dict[str, Any], model: str) -> None:
    env = Environment(paper_outcome_model("stateful-aime", model), load_price_book("list-2025"), model)  # fmt: skip
    actions = request_actions(env)
    efforts = [a["params"]["reasoning_effort"] for a in actions["test"]]
    assert efforts[0] == "low" and efforts[-1] == "high" and efforts == sorted(efforts, key=["low", "medium", "high"].index)  # fmt: skip
    assert [a["params"]["reasoning_effort"] for a in actions["sleep"][1:]] == [s.name for s in env.outcome.sleep_levels[1:]]  # fmt: skip
    assert all(a["params"]["verbosity_prompt"] is None for a in actions["test"])
    artifact = copy.deepcopy(exported["cheap"]["artifact"])
    artifact["actions"] = actions
    config = yaml.safe_load(semantic_router_yaml(artifact))
    _check_shape(config, artifact)
    assert all(d["modelRefs"][0]["use_reasoning"] for d in config["routing"]["decisions"])


@pytest.mark.slow
def test_yaml_across_models_routes_each_level_to_its_model(exported_across_models: dict[str, Any]) -> None:  # fmt: skip
    import json

    artifact = json.loads(exported_across_models[30.0].read_text())
    text = semantic_router_yaml(artifact)
    assert "models gpt-4o, gpt-4o-mini" in text.splitlines()[1]
    config = yaml.safe_load(text)
    _check_shape(config, artifact)
    refs = {d["name"]: d["modelRefs"][0]["model"] for d in config["routing"]["decisions"]}
    assert refs["sleeptime-level-0@gpt-4o"] == "gpt-4o" and refs["sleeptime-level-2@gpt-4o-mini"] == "gpt-4o-mini"  # fmt: skip
