"""Apply an exported policy to LiteLLM requests (SDK, ``Router`` and proxy).

Register the hook as a LiteLLM callback. For each chat request that names a context in its
metadata, it decides the test-time budget and rewrites the request: ``max_tokens``,
``reasoning_effort`` (reasoning models), a verbosity instruction (other models), and the
sleep-time rewrite ``c'`` as a system message when it is ready::

    hook = SleeptimeHook("policy.json")
    plan = hook.ingest("doc-7", document_text, expected_queries=4.0)   # sleep-time decision
    ...  # run plan["n_rewrites"] rewrites in a batch job, then:
    hook.set_c_prime("doc-7", rewritten_text)
    litellm.callbacks = [hook]
    await router.acompletion(model="gpt-4o-mini", messages=[...],
                             metadata={"sleeptime": {"context_id": "doc-7"}})

The SDK and ``Router`` call :meth:`async_pre_call_deployment_hook` before each request; the
proxy calls :meth:`async_pre_call_hook` (list the hook under ``litellm_settings.callbacks``).
The decision made is written back to ``metadata["sleeptime"]["decision"]`` for logging.

**Across models.** Where the policy's actions span several models (``RuntimePolicy.models``),
put one deployment of each model in one ``Router`` model group; the hook decides before the
router picks (:meth:`async_filter_deployments`) and leaves it only the deployments of the model
the decision names: a deployment serves model ``M`` when its ``model_info["sleeptime_model"]``
is ``M``, else when its ``litellm_params["model"]`` is ``M`` after the provider prefix::

    router = litellm.Router(model_list=[
        {"model_name": "assistant", "litellm_params": {"model": "openai/qwen-1.5b", "api_base": A},
         "model_info": {"sleeptime_model": "qwen2.5-coder-1.5b-instruct"}},
        {"model_name": "assistant", "litellm_params": {"model": "openai/qwen-0.5b", "api_base": B},
         "model_info": {"sleeptime_model": "qwen2.5-coder-0.5b-instruct"}},
    ])

A decision whose model no deployment of the group serves is an error (never a silent
fallback to another model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleeptime._litellm import offline_cost_map
from sleeptime.runtime import DecisionError, DecisionLog, RuntimePolicy, decision_row

offline_cost_map()
try:
    from litellm.integrations.custom_logger import CustomLogger
except ImportError as exc:  # the hook subclasses LiteLLM's callback class: it needs litellm
    raise ImportError(
        "sleeptime.integrations.litellm_hook needs LiteLLM: pip install 'sleeptime[litellm]' "
        "(or pip install litellm)"
    ) from exc

C_PRIME_HEADER = "Notes prepared in advance about this context:"
#: ``compose(context_text, c_prime or None, question, decision)``: the messages to send instead
#: of the request's own (e.g. the prompts an exploration run used, so that served answers are
#: asked exactly as the policy was judged on).
Compose = Callable[[str, "str | None", str, dict[str, Any]], list[dict[str, str]]]


@dataclass
class _Context:
    text: str
    features: dict[str, float]
    sleep_level: str = "none"
    c_prime: str | None = None


class SleeptimeHook(CustomLogger):
    """A LiteLLM callback that applies a sleeptime policy per request."""

    def __init__(self, policy: RuntimePolicy | str | Path, *, compose: Compose | None = None,
                 log: DecisionLog | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.policy = policy if isinstance(policy, RuntimePolicy) else RuntimePolicy.load(policy)
        self.contexts: dict[str, _Context] = {}
        self.compose = compose
        #: where every decision goes, with its propensity (None: not logged)
        self.log = log

    # ------------------------------------------------------------------ contexts
    def ingest(
        self, context_id: str, text: str, *, expected_queries: float, features: dict[str, float] | None = None
    ) -> dict[str, Any]:  # fmt: skip
        """Register a context and decide its sleep-time work (``plan["run"]``: start it).

        ``features``: LM-derived features where the policy reads them (see the artifact)."""
        feats = {
            **self.policy.context_features(text),
            "expected_queries": float(expected_queries),
            **(features or {}),
        }
        tokens = len(text) / self.policy.chars_per_token
        plan = self.policy.decide_sleep(feats, context=None, context_tokens=tokens)
        self.contexts[context_id] = _Context(text, feats, plan["sleep_level"])
        if self.log is not None:
            self.log.write(decision_row("sleep", plan, request_id=f"{context_id}#sleep", context_id=context_id, policy=self.policy,
                                        features=feats, tokens=tokens, expected_queries=float(expected_queries)))  # fmt: skip
        return plan

    def set_c_prime(self, context_id: str, text: str) -> None:
        """The sleep-time rewrite of a context is done: later queries get it."""
        self._context(context_id).c_prime = text

    def _context(self, context_id: str) -> _Context:
        try:
            return self.contexts[context_id]
        except KeyError:
            raise DecisionError(f"unknown context {context_id!r}: call ingest() first") from None

    # ------------------------------------------------------------------ requests
    def decide(self, context_id: str, question: str, features: dict[str, float] | None = None,
               *, request_id: str | None = None, query_id: str = "") -> dict[str, Any]:  # fmt: skip
        """The policy's test-time decision for ``question`` on an ingested context (logged,
        where :attr:`log` is set, under ``request_id``: a fresh one where None)."""
        ctx = self._context(context_id)
        feats = {**ctx.features, **(features or {}), "question_chars": float(len(question))}
        ready, tokens = ctx.c_prime is not None, (len(ctx.text) + 1 + len(question)) / self.policy.chars_per_token  # fmt: skip
        decision = self.policy.decide_test(feats, sleep_level=ctx.sleep_level, c_prime_ready=ready, prompt_tokens=tokens)  # fmt: skip
        if self.log is not None:
            rid = request_id or self.log.new_request_id()
            self.log.write(decision_row("test", decision, request_id=rid, context_id=context_id, query_id=query_id, policy=self.policy,
                                        features=feats, tokens=tokens, sleep_level=ctx.sleep_level, c_prime_ready=ready))  # fmt: skip
            decision = {**decision, "request_id": rid}
        return decision

    def _decision(self, info: dict[str, Any], question: str) -> dict[str, Any]:
        """The request's decision, made once: the Router's filter and the call's hook both read
        it (with exploration, a second draw could disagree with the first)."""
        if "decision" not in info:
            info["decision"] = self.decide(str(info["context_id"]), question, info.get("features"),
                                           request_id=info.get("request_id"), query_id=str(info.get("query_id", "")))  # fmt: skip
        return dict(info["decision"])

    def _governed(self, data: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        """The request's ``metadata["sleeptime"]`` and its question, or None where the request
        names no context (not one this policy governs)."""
        metadata = data.get("metadata") or {}
        info = metadata.get("sleeptime") if isinstance(metadata, dict) else None
        if not isinstance(info, dict) or "context_id" not in info:
            return None
        messages = data.get("messages") or []
        question = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")  # fmt: skip
        return info, question

    def apply(self, data: dict[str, Any]) -> dict[str, Any]:
        """Rewrite one request's parameters (a dict of LiteLLM kwargs); returns it."""
        governed = self._governed(data)
        if governed is None:
            return data  # not a request this policy governs
        info, question = governed
        ctx = self._context(str(info["context_id"]))
        messages = list(data.get("messages") or [])
        decision = self._decision(info, question)
        metadata = data.get("metadata") or {}
        picked = (  # the Router's pick, where one, named as the filter names deployments
            deployment_model({"model_info": metadata["model_info"], "litellm_params": {"model": metadata.get("deployment", "")}})
            if isinstance(metadata.get("model_info"), dict) else None
        )  # fmt: skip
        if len(self.policy.models) > 1 and picked is not None and picked != decision["model"]:
            raise DecisionError(
                f"the router picked a deployment of {picked!r} for a request the policy sends to "
                f"{decision['model']!r}: register the hook in litellm.callbacks before the Router's first request"
            )  # fmt: skip
        if decision["max_tokens"] is not None:
            data["max_tokens"] = decision["max_tokens"]
        if decision["reasoning_effort"] is not None:
            data["reasoning_effort"] = decision["reasoning_effort"]
        if self.compose is not None:
            c_prime = ctx.c_prime if decision["send_c_prime"] else None
            data["messages"] = self.compose(ctx.text, c_prime, question, decision)
            info["decision"] = decision
            return data
        system = []
        if decision["verbosity_prompt"]:
            system.append({"role": "system", "content": decision["verbosity_prompt"]})
        if decision["send_c_prime"] and ctx.c_prime is not None:
            system.append({"role": "system", "content": f"{C_PRIME_HEADER}\n{ctx.c_prime}"})
        data["messages"] = system + messages
        info["decision"] = decision
        return data

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: Any,
        request_kwargs: dict[str, Any] | None = None,
        parent_otel_span: Any = None,
    ) -> list[Any]:
        """LiteLLM ``Router``'s filter before it picks a deployment: where the policy's actions
        span several models, only the deployments of the model the decision names."""
        if len(self.policy.models) < 2:
            return healthy_deployments
        governed = self._governed({**(request_kwargs or {}), "messages": messages})
        if governed is None:
            return healthy_deployments
        info, question = governed
        wanted = self._decision(info, question)["model"]
        kept = [d for d in healthy_deployments if deployment_model(d) == wanted]
        if not kept:
            served = sorted({deployment_model(d) for d in healthy_deployments})
            raise DecisionError(
                f"the policy sends this request to {wanted!r}, but no deployment of the model group {model!r} "
                f"serves it (they serve {served}): add one, with model_info={{'sleeptime_model': {wanted!r}}}"
            )  # fmt: skip
        return kept

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any]:  # fmt: skip
        """LiteLLM's hook before each SDK or ``Router`` call: :meth:`apply` to ``kwargs``."""
        return self.apply(kwargs)

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any) -> dict[str, Any]:  # fmt: skip
        """The LiteLLM proxy's hook before each call: :meth:`apply` to the request ``data``."""
        return self.apply(data)


def deployment_model(deployment: Any) -> str:
    """The model a ``Router`` deployment serves, as the policy names it:
    ``model_info["sleeptime_model"]``, else ``litellm_params["model"]`` after its provider."""
    info = deployment.get("model_info") or {}
    if info.get("sleeptime_model"):
        return str(info["sleeptime_model"])
    return str((deployment.get("litellm_params") or {}).get("model", "")).rpartition("/")[2]
