"""The LiteLLM hook, with the real litellm package and its mock responses (no network)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from tests._required import LITELLM, require_module

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of the cost map
litellm = require_module("litellm", LITELLM)

from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

from sleeptime.integrations.litellm_hook import C_PRIME_HEADER, SleeptimeHook  # noqa: E402
from sleeptime.runtime import RuntimePolicy  # noqa: E402
from sleeptime.workloads import generate_workload  # noqa: E402


class Capture(CustomLogger):  # type: ignore[misc]
    """Records what LiteLLM actually sent (after every pre-call hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:  # fmt: skip
        self.calls.append(kwargs)


@pytest.fixture(scope="module")
def hook_and_capture(exported: dict[str, Any]) -> Any:
    """Registered once: LiteLLM copies callbacks into its own lists at the first request."""
    hook = SleeptimeHook(exported["cheap"]["path"])
    capture = Capture()
    before = list(litellm.callbacks)
    litellm.callbacks = [hook, capture]
    yield hook, capture
    litellm.callbacks = before


@pytest.fixture(scope="module")
def loop() -> Any:
    """One event loop for the module: LiteLLM's logging worker binds to the first loop it sees."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


async def _wait(capture: Capture, n: int) -> None:
    for _ in range(200):
        if len(capture.calls) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("LiteLLM did not log the call")


def test_router_requests_get_the_policy_decision(hook_and_capture: Any, exported: dict[str, Any], loop: Any) -> None:  # fmt: skip
    hook, capture = hook_and_capture
    runtime = RuntimePolicy.load(exported["cheap"]["path"])
    router = litellm.Router(model_list=[{"model_name": "gpt-4o-mini", "litellm_params": {"model": "gpt-4o-mini", "mock_response": "42"}}])  # fmt: skip
    contexts = generate_workload(6, seed=5).contexts

    async def run() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
        start = len(capture.calls)
        for i, c in enumerate(contexts):
            plan = hook.ingest(c.context_id, c.context, expected_queries=[1.5, 8.0][i % 2])
            if plan["run"]:
                hook.set_c_prime(c.context_id, f"rewritten: {c.context[:40]}")
            question = c.queries[0].question
            metadata = {"sleeptime": {"context_id": c.context_id}}
            response = await router.acompletion(model="gpt-4o-mini", metadata=metadata,
                                                messages=[{"role": "system", "content": c.context}, {"role": "user", "content": question}])  # fmt: skip
            assert response.choices[0].message.content == "42"
            await _wait(capture, start + len(seen) + 1)
            expected = runtime.decide_test(
                {**runtime.context_features(c.context), "expected_queries": [1.5, 8.0][i % 2], "question_chars": float(len(question))},
                sleep_level=plan["sleep_level"], c_prime_ready=plan["run"],
                prompt_tokens=(len(c.context) + 1 + len(question)) / runtime.chars_per_token,
            )  # fmt: skip
            seen.append((capture.calls[-1], expected))
        return seen

    seen = loop.run_until_complete(run())
    assert {e["send_c_prime"] for _, e in seen} == {True, False}  # both kinds of request occur
    for sent, expected in seen:
        assert sent["optional_params"]["max_tokens"] == expected["max_tokens"]
        contents = [
            m["content"] for m in sent["input"] if m["role"] == "system"
        ]  # "input": what was sent
        assert contents[0] == expected["verbosity_prompt"]
        assert any(c.startswith(C_PRIME_HEADER) for c in contents) == expected["send_c_prime"]
        assert sent["input"][-1]["role"] == "user"


def test_sdk_and_proxy_hooks_and_requests_outside_the_policy(
    hook_and_capture: Any, exported: dict[str, Any], loop: Any
) -> None:
    hook, capture = hook_and_capture
    c = generate_workload(1, seed=8).contexts[0]
    hook.ingest("doc", c.context, expected_queries=3.0)
    # what the exported policy decides for these questions, asked of the runtime directly (c' is
    # never set, so it is not ready)
    runtime = RuntimePolicy.load(exported["cheap"]["path"])
    feats = {**runtime.context_features(c.context), "expected_queries": 3.0}
    plan = runtime.decide_sleep(feats, context_tokens=len(c.context) / runtime.chars_per_token)

    def expected(question: str) -> dict[str, Any]:
        return runtime.decide_test(
            {**feats, "question_chars": float(len(question))}, sleep_level=plan["sleep_level"],
            c_prime_ready=False, prompt_tokens=(len(c.context) + 1 + len(question)) / runtime.chars_per_token,
        )  # fmt: skip

    sdk, proxy = expected(c.queries[0].question), expected("How many?")
    assert isinstance(sdk["max_tokens"], int) and sdk["max_tokens"] != 11

    async def run() -> None:
        await litellm.acompletion(model="gpt-4o-mini", mock_response="7", metadata={"sleeptime": {"context_id": "doc"}},
                                  messages=[{"role": "user", "content": c.queries[0].question}])  # fmt: skip
        await _wait(capture, start + 1)
        await litellm.acompletion(model="gpt-4o-mini", mock_response="7", max_tokens=11,
                                  messages=[{"role": "user", "content": "hello"}])  # fmt: skip
        await _wait(capture, start + 2)

    start = len(capture.calls)
    loop.run_until_complete(run())
    assert capture.calls[start]["optional_params"]["max_tokens"] == sdk["max_tokens"]
    assert (
        capture.calls[start + 1]["optional_params"]["max_tokens"] == 11
    )  # untouched: no context named
    data = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How many?"}], "metadata": {"sleeptime": {"context_id": "doc"}}}  # fmt: skip
    out = loop.run_until_complete(hook.async_pre_call_hook(None, None, data, "completion"))
    assert out["max_tokens"] == proxy["max_tokens"]
    assert out["metadata"]["sleeptime"]["decision"] == proxy
    with pytest.raises(Exception, match="unknown context 'nope'"):
        hook.apply({"messages": [], "metadata": {"sleeptime": {"context_id": "nope"}}})


def test_importing_the_hook_fetches_no_cost_map() -> None:
    """Without the user's setting, the hook imports LiteLLM with its bundled cost map: no
    attempt to fetch one from the network (LiteLLM logs each failed attempt)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    code = "import os, sleeptime.integrations.litellm_hook; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    assert done.stdout.strip() == "True"
    assert "cost map" not in done.stderr, done.stderr
