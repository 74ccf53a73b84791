"""An exported policy deployed for real: LiteLLM's ``Router`` in front of an endpoint, the
:class:`~sleeptime.integrations.litellm_hook.SleeptimeHook` deciding, and every served answer
written as a trace record of the *policy* design (the collector's own record format).

Per context: the hook ingests it and decides its sleep-time work; that work is sent through the
router and ``c'`` set on the hook when it returns; then each query goes through the router as a
bare question with the context named in its metadata, and the hook chooses its budget and
composes the request (the protocol's own prompts, so that a served answer is asked exactly as
the exploration run asked the one the policy was judged on).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime._json import AsJson
from sleeptime._litellm import offline_cost_map
from sleeptime.live._client import (
    ChatClient,
    ChatRequest,
    ChatResponse,
    ClientStats,
    parse_completion,
)
from sleeptime.live._collect import (
    Collector,
    CollectStats,
    PolicyDesign,
    Pricing,
    policy_budget,
)
from sleeptime.live._errors import LiveError
from sleeptime.live._jsonl import _Appender, read_records, sleep_outputs_path
from sleeptime.live._protocol import Protocol, SleepLevel, sleep_output_id
from sleeptime.runtime import DecisionLog, Exploration, RuntimePolicy
from sleeptime.simulators import split_action
from sleeptime.workloads import Workload

if TYPE_CHECKING:
    from sleeptime.live._client import Endpoint

#: The model name the router's single deployment is known by.
ROUTER_MODEL = "sleeptime-endpoint"


def protocol_composer(protocol: Protocol, budgets: Sequence[str] = ()) -> Callable[[str, str | None, str, dict[str, Any]], list[dict[str, str]]]:  # fmt: skip
    """A ``compose`` for the hook: the protocol's answer request for the decision (``budgets``:
    the policy's budget names, for a simulated policy's levels)."""

    def compose(context: str, c_prime: str | None, question: str, decision: dict[str, Any]) -> list[dict[str, str]]:  # fmt: skip
        budget = policy_budget(decision, budgets)
        view = "both" if c_prime is not None else "c"
        request = protocol.answer_request(context, question, c_prime, budget, view, "")
        return [dict(m) for m in request.messages]

    return compose


@dataclass(frozen=True)
class DeployRun(AsJson):
    """What :func:`serve_through_litellm` served: answers, sleep-time outputs, tokens."""

    traces: Path
    answers: int
    requests_sent: int
    usd_new: float
    sleep_outputs: int
    prompt_tokens: int
    completion_tokens: int
    accuracy: float | None
    usd: float | None


async def _routed(router: Any, messages: list[dict[str, str]], params: Mapping[str, Any], metadata: dict[str, Any] | None,
                  group: str = ROUTER_MODEL) -> tuple[ChatResponse, str | None]:  # fmt: skip
    """The router's answer, and the ``api_base`` of the deployment that served it."""
    started = time.perf_counter()
    kwargs: dict[str, Any] = {"model": group, "messages": messages, **params}
    if metadata is not None:
        kwargs["metadata"] = metadata
    result = await router.acompletion(**kwargs)
    body = result.model_dump() if hasattr(result, "model_dump") else dict(result)
    served = (getattr(result, "_hidden_params", None) or {}).get("api_base")
    return parse_completion(body, time.perf_counter() - started), served


def serve_through_litellm(
    workload: Workload,
    artifact: str | Path,
    endpoint: Endpoint,
    traces: str | Path,
    *,
    protocol: Protocol,
    pricing: Pricing,
    questions_per_context: int | None = None,
    expected_queries: float | None = None,
    concurrency: int = ChatClient.concurrency,
    more: Sequence[tuple[Endpoint, Pricing]] = (),
    exploration: Exploration | None = None,
    decision_log: str | Path | None = None,
) -> DeployRun:
    """Serve every query of ``workload`` through ``litellm.Router`` (one deployment: the
    endpoint) with the hook deciding; append one record per answer to ``traces``.

    ``more``: the other endpoints of a policy across models, each with its pricing. The router
    then has one deployment per model in the group the queries go to (``model_info``
    names its model), and the hook keeps only the deployment of the model each decision
    names; a context's sleep-time work goes to the group of the model that writes its notes
    (``sleeptime-sleep/MODEL``). Each record names the model whose deployment answered
    (``model``, read from the deployment's ``api_base``) and the model decided
    (``decided_model``).

    ``exploration``: the router explores around the policy's decisions; ``decision_log``: every
    decision is logged there with its propensity (:class:`~sleeptime.runtime.DecisionLog`),
    under the request id each trace record carries (``context/query``; a context's sleep-time
    decision ``context#sleep``), so the records are the outcomes of the log."""
    offline_cost_map()
    try:
        import litellm

        from sleeptime.integrations.litellm_hook import SleeptimeHook
    except ImportError:
        raise LiveError("serving through LiteLLM needs litellm: pip install 'sleeptime[litellm]'") from None  # fmt: skip
    if any(q.answer_kind == "judge" for c in workload.contexts for q in c.queries):
        raise LiveError("answers of kind judge are not graded inside a deployment through the router: serve it with sleeptime collect --policy (without --router), or grade the deployment's traces afterwards with sleeptime grade")  # fmt: skip
    log = DecisionLog(decision_log) if decision_log is not None else None
    hook = SleeptimeHook(RuntimePolicy.load(artifact, exploration=exploration), log=log)
    hook.compose = protocol_composer(protocol, hook.policy.budgets)
    endpoints = [endpoint, *(e for e, _ in more)]
    if any(not e.base_url for e in endpoints):
        raise LiveError("serving through LiteLLM here needs an OpenAI-compatible base URL for each of the router's deployments")  # fmt: skip
    by_base = {str(e.base_url).rstrip("/"): e.model for e in endpoints}
    model_list = []
    for e in endpoints:
        deployment = {"model": f"openai/{e.model}", "api_base": e.base_url, "api_key": e.api_key() or "none"}  # fmt: skip
        model_list.append({"model_name": ROUTER_MODEL, "litellm_params": deployment, "model_info": {"sleeptime_model": e.model}})  # fmt: skip
        if more:
            model_list.append({"model_name": f"sleeptime-sleep/{e.model}", "litellm_params": dict(deployment)})  # fmt: skip
    router = litellm.Router(model_list=model_list, num_retries=3)  # type: ignore[attr-defined]
    # the collector's record format, for the policy design
    recorder = Collector(workload, ChatClient(endpoint), protocol, pricing, PolicyDesign(Path(artifact), expected_queries), Path(traces),
                         more=[(ChatClient(e), p) for e, p in more])  # fmt: skip

    def served_by(api_base: str | None, decided: str | None) -> str:
        if not more:
            return endpoint.model
        model = by_base.get(str(api_base or "").rstrip("/"))
        if model is None:
            raise LiveError(f"the router's answer names no deployment of this run (api_base {api_base!r}); cannot tell which model answered ({decided!r} was decided)")  # fmt: skip
        return model

    # a rerun answers only what the trace file lacks, with the notes it already has
    done = {(r.get("context_id"), r.get("query_id")) for r in read_records(Path(traces)) if r.get("design") == "policy"}  # fmt: skip
    sleep_done = {(r.get("context_id"), r.get("sleep_level"), r.get("model")): r for r in read_records(sleep_outputs_path(Path(traces)))}  # fmt: skip
    out, sleeps = _Appender(Path(traces)), _Appender(sleep_outputs_path(Path(traces)))
    records: list[dict[str, Any]] = []
    n_sleep = sent = 0
    spent = 0.0
    gate = asyncio.Semaphore(concurrency)

    async def one_context(ctx: Any) -> None:
        nonlocal n_sleep, sent, spent
        queries = list(ctx.queries[:questions_per_context])
        if all((ctx.context_id, q.query_id) in done for q in queries):
            return  # served before (a resumed run): not decided, nor logged, again
        plan = hook.ingest(ctx.context_id, ctx.context, expected_queries=expected_queries or float(len(queries)))  # fmt: skip
        level = SleepLevel.parse(split_action(str(plan["sleep_level"]))[0])
        writer = recorder._served(plan.get("model"))
        sleep: dict[str, Any] | None = sleep_done.get((ctx.context_id, level.name, writer))
        if sleep is not None:
            hook.set_c_prime(ctx.context_id, str(sleep["c_prime"]))
        elif level.rewrites:
            requests = protocol.sleep_requests(ctx.context, level, f"context {ctx.context_id}")
            group = f"sleeptime-sleep/{writer}" if more else ROUTER_MODEL
            async with gate:
                routed = [await _routed(router, [dict(m) for m in r.messages], r.params, None, group) for r in requests]  # fmt: skip
            responses = [r for r, _ in routed]
            writer_pricing = recorder.members[writer][1]
            text = protocol.merge([r.content for r in responses])
            sleep = {"context_id": ctx.context_id, "sleep_level": level.name, "sleep_output_id": sleep_output_id(ctx.context_id, level.name, text),
                     "c_prime": text, "notes": [r.content for r in responses], "rewrites": level.rewrites,
                     "input_tokens": sum(r.prompt_tokens or 0 for r in responses), "output_tokens": sum(r.completion_tokens or 0 for r in responses),
                     "cached_input_tokens": sum(r.cached_prompt_tokens or 0 for r in responses),
                     "usd": sum(writer_pricing.of(r, sleep=True) for r in responses),
                     "model": served_by(routed[0][1], writer), "price_model": writer_pricing.model, "served_through": "litellm.Router"}  # fmt: skip
            sleeps.write(sleep)
            n_sleep += 1
            sent += len(requests)
            spent += float(sleep["usd"])
            hook.set_c_prime(ctx.context_id, text)
        from sleeptime.runtime import cheap_features

        features = cheap_features(ctx.context)
        s = hook.policy.sleep_levels.index(str(plan["sleep_level"]))
        for q in queries:
            if (ctx.context_id, q.query_id) in done:
                continue
            rid = f"{ctx.context_id}/{q.query_id}"
            decision = hook.decide(ctx.context_id, q.question, request_id=rid, query_id=q.query_id)
            meta: dict[str, Any] = {
                "sleeptime": {"context_id": ctx.context_id, "decision": decision}
            }
            async with gate:
                response, api_base = await _routed(router, [{"role": "user", "content": q.question}],
                                                   {"temperature": protocol.temperature, "seed": protocol.seed}, meta)  # fmt: skip
            budget = policy_budget(decision, hook.policy.budgets)
            view = "both" if level.rewrites and decision["send_c_prime"] else "c"
            asked = ChatRequest((), {"max_tokens": decision["max_tokens"], "temperature": protocol.temperature, "seed": protocol.seed})  # fmt: skip
            answered = served_by(api_base, decision.get("model"))
            rec = recorder._record(ctx, q, (s, level, budget, view), sleep, asked, response, len(queries), features, model=answered)  # fmt: skip
            rec["served_through"] = "litellm.Router + SleeptimeHook"
            rec["request_id"] = rid
            rec["decided_model"] = decision.get("model")
            sent += 1
            spent += float(rec.get("test_usd") or 0.0)
            out.write(rec)
            records.append(rec)

    async def run() -> None:
        await asyncio.gather(*(one_context(c) for c in workload.contexts))

    previous = list(litellm.callbacks)
    litellm.callbacks = [hook]
    try:
        asyncio.run(run())
    finally:
        litellm.callbacks = previous
        if log is not None:
            log.close()
        out.close()
        sleeps.close()
    usd = [r.get("usd") for r in records]
    return DeployRun(
        Path(traces), len(records), sent, spent, n_sleep, sum(r.get("test_input_tokens") or 0 for r in records),
        sum(r.get("test_output_tokens") or 0 for r in records),
        sum(r["correct"] for r in records) / len(records) if records else None,
        None if not records or None in usd else float(sum(u or 0.0 for u in usd)) / len(records),
    )  # fmt: skip


@dataclass
class ServedStats:
    """The request counts of a deployment run, as a client reports them (``.stats.sent``)."""

    stats: Any


def deploy_policy(w: Any, policy: str | None, ep: Any, traces: Path, protocol: Protocol, pricing: Pricing, questions_per_context: int | None,
                  expected_queries: float | None, concurrency: int, more: Sequence[tuple[Any, Pricing]] = (),
                  exploration: Exploration | None = None, decision_log: str | Path | None = None) -> tuple[CollectStats, ServedStats]:  # fmt: skip
    """Serve the ``policy`` artifact through ``litellm.Router`` (:func:`serve_through_litellm`)
    and report it as a collection run does: answers written, USD, requests sent."""
    if not policy:
        raise LiveError("--router serves an exported policy: pass --policy ARTIFACT")
    run = serve_through_litellm(w, policy, ep, traces, protocol=protocol, pricing=pricing, questions_per_context=questions_per_context,
                                expected_queries=expected_queries, concurrency=concurrency, more=more,
                                exploration=exploration, decision_log=decision_log)  # fmt: skip
    return CollectStats(written=run.answers, usd_new=run.usd_new), ServedStats(
        ClientStats(sent=run.requests_sent)
    )
