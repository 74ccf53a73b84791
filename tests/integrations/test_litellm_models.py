"""The LiteLLM hook across models: inside a real ``litellm.Router`` with one deployment per
model (LiteLLM's mock responses name the deployment; no network), each request goes to the
deployment of the model the exported policy chose."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests._required import LITELLM, require_module

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of the cost map
litellm = require_module("litellm", LITELLM)

from sleeptime.integrations.litellm_hook import SleeptimeHook, deployment_model  # noqa: E402
from sleeptime.runtime import DecisionError, RuntimePolicy  # noqa: E402

MODELS = ("gpt-4o", "gpt-4o-mini")


def _deployments(models: tuple[str, ...]) -> list[dict[str, Any]]:
    # the strong model by its model_info, the small one by its litellm model string
    strong = {"model_name": "assistant", "litellm_params": {"model": "openai/strong-deployment", "mock_response": "from gpt-4o"}, "model_info": {"sleeptime_model": "gpt-4o"}}  # fmt: skip
    small = {"model_name": "assistant", "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": "from gpt-4o-mini"}}  # fmt: skip
    return [d for d in (strong, small) if deployment_model(d) in models]


def _serve(path: Path, scenario: Any, n_contexts: int, models: tuple[str, ...] = MODELS) -> list[tuple[str, str]]:  # fmt: skip
    """Serve two questions of each of ``n_contexts`` contexts (expected counts 0.5, 4 and 40 in
    turn) through a Router; (decided model, answering deployment) per request."""
    hook = SleeptimeHook(path)
    runtime = RuntimePolicy.load(path)
    before = list(litellm.callbacks)
    litellm.callbacks = [hook]
    router = litellm.Router(model_list=_deployments(models))
    served: list[tuple[str, str]] = []

    async def run() -> None:
        for i, c in enumerate(scenario.workload.contexts[:n_contexts]):
            eq = (0.5, 4.0, 40.0)[i % 3]
            plan = hook.ingest(c.context_id, c.context, expected_queries=eq)
            if plan["run"]:
                hook.set_c_prime(c.context_id, "notes")
            for q in c.queries[:2]:
                decided = runtime.decide_test(
                    {**runtime.context_features(c.context), "expected_queries": eq, "question_chars": float(len(q.question))},
                    sleep_level=plan["sleep_level"], c_prime_ready=plan["run"],
                    prompt_tokens=(len(c.context) + 1 + len(q.question)) / runtime.chars_per_token,
                )["model"]  # fmt: skip
                response = await router.acompletion(
                    model="assistant", metadata={"sleeptime": {"context_id": c.context_id}},
                    messages=[{"role": "system", "content": c.context}, {"role": "user", "content": q.question}],
                )  # fmt: skip
                served.append((decided, response.choices[0].message.content.removeprefix("from ")))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
        litellm.callbacks = before
    return served


@pytest.mark.slow
def test_each_request_goes_to_the_deployment_of_the_model_the_policy_chose(exported_across_models: dict) -> None:  # fmt: skip
    scenario = exported_across_models["scenario"]
    assert RuntimePolicy.load(exported_across_models[3.0]).models == MODELS
    served = [s for lam in (30.0, 3.0) for s in _serve(exported_across_models[lam], scenario, 12)]
    assert all(decided == answered for decided, answered in served)
    # both models answer some requests: with two deployments in the group, a router that
    # ignored the decision would send about half of them to the other one
    counts = Counter(decided for decided, _ in served)
    assert set(counts) == set(MODELS), counts


@pytest.mark.slow
def test_a_decision_no_deployment_serves_is_an_error(exported_across_models: dict) -> None:
    scenario = exported_across_models["scenario"]
    with pytest.raises(DecisionError, match=r"no deployment of the model group 'assistant' serves it"):  # fmt: skip
        # only the small model deployed: the first request the policy sends to gpt-4o fails
        _serve(exported_across_models[3.0], scenario, 12, models=("gpt-4o-mini",))
