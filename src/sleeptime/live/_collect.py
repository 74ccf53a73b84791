"""Collect real outcomes: every answer of a design written as a trace record.

Designs: :class:`Grid` (*exploration*: every query of the sample under every sleep level, budget
and view of the grid, so that any policy can be scored offline from the table) and
:class:`PolicyDesign` (the decisions of an exported policy, one answer per query, as a router
would serve it). Sleep-time outputs (``c'`` with its notes and usage) go to a file beside the
traces (``NAME.sleep.jsonl``).

Records are appended one by one as answers arrive (a partial last line, from a process killed
while writing, is dropped on resume); with the response cache, a rerun or a resumed run sends no
request for an answer it has and writes each record of the design exactly once. ``max_usd``
stops the run before a request would pass it (each new request is priced at its prompt and its
``max_tokens`` before it is sent).

A request that fails after its retries (:class:`RequestFailed`) does not stop the run: it is
named in :attr:`CollectStats.errors` and counted by the client (``stats.failed``); its record,
or for a sleep-time rewrite the records that need its notes, are not written (nothing of it is
cached), so a rerun sends just those requests and writes just the missing records.
``sleeptime collect`` exits with status 1 after such a run, naming the failed requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime.live._batch import BatchImport, import_batch_results, write_batch_file
from sleeptime.live._cache import ResponseCache
from sleeptime.live._client import ChatClient, ChatRequest, ChatResponse, ClientStats, Endpoint
from sleeptime.live._errors import LiveError, RequestFailed
from sleeptime.live._jsonl import _Appender, read_records, sleep_outputs_path
from sleeptime.live._judge import JudgePrompt, gold_reference, parse_verdict
from sleeptime.live._protocol import VIEWS, Budget, Protocol, SleepLevel, sleep_output_id
from sleeptime.simulators import ModelPrice, PriceBook, split_action
from sleeptime.workloads import Context, Grade, Query, Workload, extract_span, grade_query

#: The fields of a real run's trace record (the simulator's trace fields, and what a real run
#: adds); ``features`` holds the context's cheap features.
LIVE_TRACE_FIELDS = (
    "context_id", "query_id", "model", "design", "sleep_action", "sleep_level", "test_action", "budget", "view",
    "served_with_sleep", "sleep_input_tokens", "sleep_output_tokens", "sleep_cached_input_tokens", "sleep_output_id", "test_input_tokens",
    "test_output_tokens", "cached_prompt_tokens", "usage_reported", "finish_reason", "correct", "answer", "gold",
    "response", "latency_s", "ttft_s", "usd", "test_usd", "sleep_usd", "max_tokens", "verbosity", "reasoning_effort",
    "temperature", "seed", "endpoint", "question_chars", "features", "sleep_model", "price_model", "sleep_price_model",
)  # fmt: skip

#: A cell of the design: (sleep level index, level, budget, view).
Cell = tuple[int, SleepLevel, Budget, str]
#: What one answer is asked under: its cell, the model that wrote the notes it reads (None:
#: it reads none) and the model that answers.
Task = tuple[Cell, str | None, str]


@dataclass(frozen=True)
class Grid:
    """The exploration design: sleep levels, budgets and views. A query is answered under every
    cell that applies: test-only (``none``) sees ``c``; a sleep level sees ``c_prime`` or
    ``both`` (``c`` alone would be test-only again)."""

    sleep_levels: tuple[SleepLevel, ...]
    budgets: tuple[Budget, ...]
    views: tuple[str, ...] = VIEWS

    def cells(self) -> list[tuple[int, SleepLevel, Budget, str]]:
        """Every cell a query is answered under, as ``(sleep level index, level, budget,
        view)``: level ``none`` with view ``c`` only, the other levels with every view but
        ``c``; by level, then budget, then view."""
        out = []
        for s, level in enumerate(self.sleep_levels):
            views = [v for v in self.views if (v == "c") == (level.rewrites == 0)]
            out += [(s, level, b, v) for b in self.budgets for v in views]
        return out


@dataclass(frozen=True)
class PolicyDesign:
    """The decisions of an exported policy (``sleeptime.runtime``): its sleep level per
    context, its budget and view per query. ``expected_queries``: what the router expects per
    context (default: the number of the context's queries in the sample)."""

    artifact: Path
    expected_queries: float | None = None


@dataclass(frozen=True)
class Pricing:
    """USD of an answer from the price book's entry for ``model``: sleep-time work at the batch
    discount where it came back from a batch, else at ``live_sleep_discount`` (1 unless the book
    says otherwise)."""

    book: PriceBook
    model: str

    @property
    def price(self) -> ModelPrice:
        """The book's prices of ``model``; PriceBookError where the book has no such model."""
        return self.book.price(self.model)

    def usd(self, prompt_tokens: float, completion_tokens: float, *, sleep: bool, batch: bool = False,
            cached_prompt_tokens: float = 0.0) -> float:  # fmt: skip
        """USD of one answer; the prompt tokens the server read from its cache at the book's
        ``cache_read_multiplier`` (as the simulator prices a cached prefix)."""
        p = self.price
        factor = (p.batch_discount if batch else p.live_sleep_discount) if sleep else 1.0
        cached = min(max(cached_prompt_tokens, 0.0), prompt_tokens)
        prompt = prompt_tokens - cached + p.cache_read_multiplier * cached
        return factor * (p.input_usd_per_mtok * prompt + p.output_usd_per_mtok * completion_tokens) / 1e6  # fmt: skip

    def of(self, response: ChatResponse, *, sleep: bool) -> float:
        """USD of ``response`` as reported (zeros where it reported no usage)."""
        return self.usd(response.prompt_tokens or 0, response.completion_tokens or 0, sleep=sleep, batch=response.batch,
                        cached_prompt_tokens=response.cached_prompt_tokens or 0)  # fmt: skip

    def estimate(self, request: ChatRequest, *, sleep: bool) -> float:
        """An upper bound before sending: the prompt at 4 characters a token, and max_tokens."""
        chars = sum(len(m.get("content", "")) for m in request.messages)
        return self.usd(
            chars / 3.0 + 16, float(request.params.get("max_tokens") or 4096), sleep=sleep
        )


@dataclass
class CollectStats:
    """What a collection did, in this process: records written, records already in the file,
    records not written because a request failed (an answer's, or the sleep-time rewrite it
    needed) or the rewrite was not afforded, new USD, whether the cap stopped it, and the failed
    requests' messages."""

    written: int = 0
    skipped_done: int = 0
    failed_records: int = 0
    usd_new: float = 0.0
    stopped_at_cap: bool = False
    errors: list[str] = field(default_factory=list)


class _CapReached(Exception):
    pass


@dataclass
class Collector:
    """One collection run (see :func:`collect`)."""

    workload: Workload
    client: ChatClient
    protocol: Protocol
    pricing: Pricing
    design: Grid | PolicyDesign
    traces: Path
    max_usd: float | None = None
    questions_per_context: int | None = None
    progress: Callable[[CollectStats, ClientStats], None] | None = None
    contexts_in_flight: int | None = None
    judge: JudgePrompt | None = None
    #: The other models of a run across models: (client, pricing) per endpoint, each named by
    #: its endpoint's model. The grid then crosses the model that writes the notes with the
    #: model that answers; a policy's decisions name the model of each.
    more: Sequence[tuple[ChatClient, Pricing]] = ()
    stats: CollectStats = field(default_factory=CollectStats)
    _in_flight_usd: float = 0.0
    _policy: Any = None
    members: dict[str, tuple[ChatClient, Pricing]] = field(init=False)

    def __post_init__(self) -> None:
        self.members = {self.client.endpoint.model: (self.client, self.pricing)}
        for client, pricing in self.more:
            if client.endpoint.model in self.members:
                raise LiveError(f"two endpoints serve the model {client.endpoint.model!r}: a run across models needs one endpoint per model (name them apart with --model)")  # fmt: skip
            self.members[client.endpoint.model] = (client, pricing)

    @property
    def models(self) -> tuple[str, ...]:
        """The models of the run, the first endpoint's first."""
        return tuple(self.members)

    @property
    def client_stats(self) -> ClientStats:
        """The request counts of every endpoint together."""
        total = ClientStats()
        for client, _ in self.members.values():
            for name in ("sent", "cache_hits", "retries", "failed", "prompt_tokens", "completion_tokens"):  # fmt: skip
                setattr(total, name, getattr(total, name) + getattr(client.stats, name))
        return total

    def _member(self, model: str | None) -> tuple[ChatClient, Pricing]:
        return self.members[model or self.models[0]]

    # ------------------------------------------------------------------ requests under the cap
    async def _ask(self, request: ChatRequest, *, sleep: bool, model: str | None = None) -> ChatResponse:  # fmt: skip
        client, pricing = self._member(model)
        if self.max_usd is not None and client.cached(request) is None:
            estimate = pricing.estimate(request, sleep=sleep)
            if self.stats.usd_new + self._in_flight_usd + estimate > self.max_usd:
                self.stats.stopped_at_cap = True
                raise _CapReached
            self._in_flight_usd += estimate
            try:
                response = await client.complete(request)
            finally:
                self._in_flight_usd -= estimate
            self.stats.usd_new += pricing.of(response, sleep=sleep)
            return response
        before = client.stats.cache_hits
        response = await client.complete(request)
        if client.stats.cache_hits == before:
            self.stats.usd_new += pricing.of(response, sleep=sleep)
        return response

    # ------------------------------------------------------------------ sleep time
    async def _sleep(self, ctx: Context, level: SleepLevel, writer: str, done: Mapping[tuple[str, str, str], dict[str, Any]], out: _Appender) -> dict[str, Any]:  # fmt: skip
        if (ctx.context_id, level.name, writer) in done:
            return done[(ctx.context_id, level.name, writer)]
        label = f"context {ctx.context_id}" + (f" ({writer})" if len(self.members) > 1 else "")
        requests = self.protocol.sleep_requests(ctx.context, level, label)
        responses = await asyncio.gather(*(self._ask(r, sleep=True, model=writer) for r in requests))  # fmt: skip
        pricing = self._member(writer)[1]
        text = self.protocol.merge([r.content for r in responses])
        reported = all(r.usage_reported for r in responses)
        tokens_in = sum(r.prompt_tokens or 0 for r in responses) if reported else None
        tokens_out = sum(r.completion_tokens or 0 for r in responses) if reported else None
        record = {
            "context_id": ctx.context_id, "sleep_level": level.name, "sleep_output_id": sleep_output_id(ctx.context_id, level.name, text),
            "c_prime": text, "notes": [r.content for r in responses], "rewrites": level.rewrites, "merge": "joined" if level.rewrites > 1 else "single",
            "input_tokens": tokens_in, "output_tokens": tokens_out, "usage_reported": reported,
            "cached_input_tokens": sum(r.cached_prompt_tokens or 0 for r in responses) if reported else None,
            "finish_reasons": [r.finish_reason for r in responses], "latency_s": max((r.latency_s for r in responses if r.latency_s is not None), default=None),
            "usd": float(sum(pricing.of(r, sleep=True) for r in responses)) if reported else None,
            "as_batch": all(r.batch for r in responses), "model": writer, "price_model": pricing.model, "params": [dict(r.params) for r in requests],
        }  # fmt: skip
        out.write(record)
        return record

    # ------------------------------------------------------------------ test time
    def _record(self, ctx: Context, query: Query, cell: Cell, sleep: dict[str, Any] | None,
                request: ChatRequest, response: ChatResponse, n_queries: int, features: Mapping[str, float],
                judged: tuple[Grade, dict[str, Any]] | None = None, model: str | None = None) -> dict[str, Any]:  # fmt: skip
        s, level, budget, view = cell
        client, pricing = self._member(model)
        reported = response.usage_reported
        test_usd = pricing.of(response, sleep=False) if reported else None
        sleep_usd = (sleep or {}).get("usd", 0.0) if sleep is not None else 0.0
        usd = (
            None
            if test_usd is None or sleep_usd is None
            else test_usd + sleep_usd / max(n_queries, 1)
        )
        grade, judge_fields = (
            judged if judged is not None else (grade_query(response.content, query), {})
        )
        return {
            "context_id": ctx.context_id, "query_id": query.query_id, "model": client.endpoint.model,
            "sleep_model": sleep.get("model") if sleep is not None else None,
            "price_model": pricing.model, "sleep_price_model": sleep.get("price_model") if sleep is not None else None,
            "design": "exploration" if isinstance(self.design, Grid) else "policy",
            "sleep_action": s, "sleep_level": level.name, "test_action": budget.index, "budget": budget.name, "view": view,
            "served_with_sleep": view != "c",
            "sleep_input_tokens": (sleep or {}).get("input_tokens", 0), "sleep_output_tokens": (sleep or {}).get("output_tokens", 0),
            "sleep_cached_input_tokens": (sleep or {}).get("cached_input_tokens") or 0,
            "sleep_output_id": (sleep or {}).get("sleep_output_id"),
            "test_input_tokens": response.prompt_tokens, "test_output_tokens": response.completion_tokens,
            "cached_prompt_tokens": response.cached_prompt_tokens, "usage_reported": reported, "finish_reason": response.finish_reason,
            "correct": float(grade.correct), **({"score": grade.score} if grade.score is not None else {}),
            "answer": grade.answer, "gold": query.answer, **({"golds": list(query.golds)} if query.alternatives else {}), "response": response.content,
            "latency_s": response.latency_s, "ttft_s": response.ttft_s, "usd": usd, "test_usd": test_usd, "sleep_usd": sleep_usd,
            "max_tokens": request.params.get("max_tokens"), "verbosity": budget.verbosity, "reasoning_effort": budget.reasoning_effort,
            "temperature": request.params.get("temperature"), "seed": request.params.get("seed"),
            "endpoint": client.endpoint.name, "question_chars": float(len(query.question)), "features": dict(features),
            **judge_fields,
        }  # fmt: skip

    def _cells(self, ctx: Context, queries: Sequence[Query], features: Mapping[str, float]) -> dict[str, list[Task]]:  # fmt: skip
        """Per query id, what it is answered under: (cell, the model that wrote the notes or
        None, the model that answers). A grid crosses every writer with every reader (one
        model: itself); a policy's decisions name their models."""
        if isinstance(self.design, Grid):
            tasks = [(cell, None if cell[1].rewrites == 0 else writer, reader) for cell in self.design.cells()
                     for writer in (self.models if cell[1].rewrites else self.models[:1]) for reader in self.models]  # fmt: skip
            return {q.query_id: tasks for q in queries}
        from sleeptime.runtime import RuntimePolicy

        policy = self._policy
        assert isinstance(policy, RuntimePolicy)
        expected = self.design.expected_queries or float(len(queries))
        feats = {**features, "expected_queries": expected}
        tokens = len(ctx.context) / policy.chars_per_token
        plan = policy.decide_sleep(feats, context_tokens=tokens)
        level = SleepLevel.parse(split_action(plan["sleep_level"])[0])
        s = policy.sleep_levels.index(plan["sleep_level"])
        writer = self._served(plan.get("model")) if level.rewrites else None
        out = {}
        for q in queries:
            d = policy.decide_test({**feats, "question_chars": float(len(q.question))}, sleep_level=plan["sleep_level"], c_prime_ready=True,
                                   prompt_tokens=tokens + len(q.question) / policy.chars_per_token)  # fmt: skip
            budget = policy_budget(d, policy.budgets)
            view = "both" if level.rewrites and d["send_c_prime"] else "c"
            out[q.query_id] = [((s, level, budget, view), writer if view != "c" else None, self._served(d.get("model")))]  # fmt: skip
        return out

    def _served(self, model: str | None) -> str:
        """The endpoint model that serves a policy's decision for ``model`` (one endpoint:
        it serves every decision, as before runs crossed models)."""
        if len(self.members) == 1 or model is None:
            return self.models[0]
        if model not in self.members:
            raise LiveError(f"the policy decided for the model {model!r}, which no endpoint of this run serves ({', '.join(self.models)}); pass one --endpoint per model of the artifact, each named by its model (--model)")  # fmt: skip
        return model

    async def _context(self, ctx: Context, done: set[tuple[Any, ...]], sleep_done: Mapping[tuple[str, str, str], dict[str, Any]],
                       traces: _Appender, sleeps: _Appender) -> None:  # fmt: skip
        from sleeptime.runtime import cheap_features

        queries = list(ctx.queries[: self.questions_per_context])
        features = cheap_features(ctx.context)
        cells = self._cells(ctx, queries, features)
        writes = {(c[1].name, w): c[1] for ts in cells.values() for c, w, _ in ts if w is not None}
        outputs: dict[tuple[str, str], dict[str, Any] | None] = {}
        todo = []
        for rank, q in enumerate(queries):
            for task in cells[q.query_id]:
                if self._key(ctx, q, task) in done:
                    self.stats.skipped_done += 1
                else:
                    todo.append((rank, q, task))
        # requests that share a prefix go one after another (the server's prompt cache then
        # reads it once): by view (c, then c and c', then c' alone), then question, then budget
        order = {"c": 0, "both": 1, "c_prime": 2}
        todo.sort(key=lambda t: (order.get(t[2][0][3], 3), t[2][0][1].name, str(t[2][1]), t[2][2], t[0], t[2][0][2].index))  # fmt: skip

        async def answers(without_sleep: bool) -> None:
            await asyncio.gather(*(self._answer(ctx, q, task, outputs, len(queries), features, traces)
                                   for _, q, task in todo if (task[1] is None) == without_sleep))  # fmt: skip

        async def sleep_then_answers() -> None:
            for (name, writer), level in writes.items():
                try:
                    outputs[(name, writer)] = await self._sleep(ctx, level, writer, sleep_done, sleeps)  # fmt: skip
                except RequestFailed as exc:
                    self.stats.errors.append(str(exc))
                    outputs[(name, writer)] = None
                except _CapReached:
                    outputs[(name, writer)] = None
            await answers(without_sleep=False)

        # test-only answers need no notes: they run while the sleep-time work does
        await asyncio.gather(answers(without_sleep=True), sleep_then_answers())

    def _key(self, ctx: Context, q: Query, task: Task) -> tuple[Any, ...]:
        if isinstance(self.design, PolicyDesign):
            return (ctx.context_id, q.query_id)
        cell, writer, reader = task
        return (ctx.context_id, q.query_id, cell[1].name, cell[2].name, cell[3], writer, reader)

    async def _answer(self, ctx: Context, q: Query, task: Task, outputs: Mapping[tuple[str, str], dict[str, Any] | None],
                      n_queries: int, features: Mapping[str, float], traces: _Appender) -> None:  # fmt: skip
        cell, writer, reader = task
        _, level, budget, view = cell
        sleep = outputs.get((level.name, writer)) if writer is not None else None
        if writer is not None and sleep is None:
            self.stats.failed_records += 1  # its sleep-time work failed or was not afforded
            return
        across = f", notes of {writer}, answered by {reader}" if len(self.members) > 1 else ""
        label = f"context {ctx.context_id} query {q.query_id} ({level.name}, {budget.name}, {view}{across})"
        request = self.protocol.answer_request(
            ctx.context, q.question, (sleep or {}).get("c_prime"), budget, view, label
        )
        try:
            response = await self._ask(request, sleep=False, model=reader)
        except RequestFailed as exc:
            self.stats.failed_records += 1
            self.stats.errors.append(str(exc))
            return
        except _CapReached:
            return
        judged = None
        if q.answer_kind == "judge":
            judged = await self._judge(q, response.content, label)
            if judged is None:
                return
        traces.write(
            self._record(
                ctx, q, cell, sleep, request, response, n_queries, features, judged, reader
            )
        )
        self.stats.written += 1
        if self.progress:
            self.progress(self.stats, self.client_stats)

    async def _judge(
        self, q: Query, output: str, label: str
    ) -> tuple[Grade, dict[str, Any]] | None:
        """A ``judge`` query's answer graded by the LLM judge at this run's endpoint against its
        gold answer(s) as the reference (cached like every request; its USD in ``judge_usd``,
        apart from the policy's). None, with the failure counted and named, where the judge
        failed or its reply held no verdict: such an answer is not written, never scored 0."""
        if self.judge is None:
            self.judge = JudgePrompt.load()  # the built-in prompt, read once
        answer = extract_span(output) or output.strip()
        request = self.judge.request(
            q.question, gold_reference(q.golds), answer or "(empty)", label=f"judge {label}"
        )
        try:
            response = await self._ask(request, sleep=False)
        except RequestFailed as exc:
            self.stats.failed_records += 1
            self.stats.errors.append(str(exc))
            return None
        except _CapReached:
            return None
        verdict = parse_verdict(response.content)
        if verdict.correct is None:
            self.stats.failed_records += 1
            self.stats.errors.append(f"{label}: the judge's reply held no verdict ({verdict.reason[:80]!r}); not scored. Change the judge prompt (--judge-prompt) or the judge's model (sleeptime grade --endpoint)")  # fmt: skip
            return None
        fields = {"judge_verdict": verdict.verdict, "judge_reason": verdict.reason, "judge_model": self.client.endpoint.model,
                  "judge_usd": self.pricing.of(response, sleep=False) if response.usage_reported else None}  # fmt: skip
        return Grade(bool(verdict.correct), verdict.correct, answer), fields

    async def run(self) -> None:
        """Collect every record of the design that the trace file does not hold yet."""
        if isinstance(self.design, PolicyDesign) and self._policy is None:
            from sleeptime.runtime import RuntimePolicy

            self._policy = RuntimePolicy.load(self.design.artifact)
        done = {
            self._key_of(r, self.traces, n)
            for n, r in enumerate(read_records(self.traces), start=1)
        }
        sleep_file = sleep_outputs_path(self.traces)
        sleep_done = {}
        for n, r in enumerate(read_records(sleep_file), start=1):
            if not isinstance(r.get("c_prime"), str) or not isinstance(r.get("context_id"), str) or not isinstance(r.get("sleep_level"), str):  # fmt: skip
                raise LiveError(f"{sleep_file}: record {n} lacks context_id, sleep_level or c_prime; this file was not written by sleeptime collect")  # fmt: skip
            sleep_done[(r["context_id"], r["sleep_level"], str(r.get("model") or self.models[0]))] = r  # fmt: skip
        traces, sleeps = _Appender(self.traces), _Appender(sleep_file)
        try:
            async with contextlib.AsyncExitStack() as stack:
                for client, _ in self.members.values():
                    await stack.enter_async_context(client)
                # a few contexts at a time, in order, so that each context's requests meet its
                # cached prefix on the server instead of every context's work interleaving
                gate = asyncio.Semaphore(max(1, self.contexts_in_flight or self.client.concurrency))

                async def one(ctx: Context) -> None:
                    async with gate:
                        await self._context(ctx, done, sleep_done, traces, sleeps)

                await asyncio.gather(*(one(ctx) for ctx in self.workload.contexts))
        finally:
            traces.close()
            sleeps.close()

    def planned_sleep_requests(self) -> list[ChatRequest]:
        """Every sleep-time request of the design (for a batch file; one endpoint)."""
        from sleeptime.runtime import RuntimePolicy, cheap_features

        if len(self.members) > 1:
            raise LiveError("a Batch API file is written for one endpoint; a run across models sends its sleep-time work live (drop --batch-file/--batch-results or run each model's batch apart)")  # fmt: skip
        if isinstance(self.design, PolicyDesign) and self._policy is None:
            self._policy = RuntimePolicy.load(self.design.artifact)
        out = []
        for ctx in self.workload.contexts:
            queries = list(ctx.queries[: self.questions_per_context])
            cells = self._cells(ctx, queries, cheap_features(ctx.context))
            levels = {c[1].name: c[1] for ts in cells.values() for c, w, _ in ts if w is not None}
            for level in levels.values():
                out += self.protocol.sleep_requests(ctx.context, level, f"context {ctx.context_id}")
        return out

    def _key_of(self, r: Mapping[str, Any], path: Path, n: int) -> tuple[Any, ...]:
        names = ("context_id", "query_id") if isinstance(self.design, PolicyDesign) else ("context_id", "query_id", "sleep_level", "budget", "view")  # fmt: skip
        missing = [k for k in names if not isinstance(r.get(k), str)]
        if missing:
            raise LiveError(f"{path}: record {n} lacks {missing}; this file was not written by sleeptime collect (pass another --out)")  # fmt: skip
        if isinstance(self.design, PolicyDesign):
            return tuple(r[k] for k in names)
        reader = str(r.get("model") or self.models[0])
        # records of a one-model run name no sleep_model: its notes were the answerer's own
        writer = None if r["view"] == "c" else str(r.get("sleep_model") or reader)
        return (*(r[k] for k in names), writer, reader)


def policy_budget(decision: Mapping[str, Any], budgets: Sequence[str]) -> Budget:
    """The budget of a router's test-time decision among the policy's ``budgets``: a budget
    named ``bV`` (a policy learned on a real run; across models ``bV@MODEL``) is verbosity V;
    other names (a simulated policy's levels) spread over 0-4 in the order of the decided
    model's own levels. Either way the budget is named by the verbosity it serves."""
    name, model = split_action(str(decision["budget"]))
    if decision.get("reasoning_effort"):
        index = list(budgets).index(str(decision["budget"])) if decision["budget"] in budgets else 0
        return Budget(index, None, int(decision["max_tokens"] or 1024), decision["reasoning_effort"])  # fmt: skip
    if name[:1] == "b" and name[1:].isdigit():  # named as the run that taught it: the same budget
        v = int(name[1:])
    else:
        own = [b for b in budgets if split_action(b)[1] == model] or [str(decision["budget"])]
        v = round(own.index(str(decision["budget"])) * 4 / max(1, len(own) - 1))
    return Budget(v, v, int(decision["max_tokens"] or 256), None)


def design_records(traces: Path, design: Grid | PolicyDesign) -> list[dict[str, Any]]:
    """The records of ``traces`` that belong to ``design`` (a file may hold several runs)."""
    kind = "exploration" if isinstance(design, Grid) else "policy"
    return [r for r in read_records(traces) if r.get("design") == kind]


def collect(
    workload: Workload,
    endpoint: Endpoint,
    traces: str | Path,
    *,
    design: Grid | PolicyDesign,
    protocol: Protocol,
    pricing: Pricing,
    cache: str | Path | None = None,
    concurrency: int = ChatClient.concurrency,
    retries: int = ChatClient.retries,
    backoff_s: float = ChatClient.backoff_s,
    timeout_s: float = ChatClient.timeout_s,
    max_usd: float | None = None,
    questions_per_context: int | None = None,
    progress: Callable[[CollectStats, ClientStats], None] | None = None,
    batch_file: str | Path | None = None,
    batch_results: tuple[str | Path, str | Path | None] | None = None,
    stream: bool = False,
    judge: JudgePrompt | None = None,
    more: Sequence[tuple[Endpoint, Pricing]] = (),
) -> tuple[CollectStats, ChatClient, BatchImport | None]:
    """Answer the design on ``workload`` at ``endpoint``; append its records to ``traces`` (and
    the sleep-time outputs beside it). Returns what this process did, the client (its request
    counts) and, with ``batch_results``, what the batch's files held. ``stream``: answers as
    server-sent events (time to first token measured). ``cache`` defaults to
    ``NAME.cache.sqlite`` beside the traces.

    ``batch_file``: write the design's sleep-time requests (those the cache lacks) as a Batch
    API input file and stop there. ``batch_results``: (output file, error file or None) of that
    batch, read into the cache before the run; its sleep-time work is then priced as a batch.

    ``judge``: the prompt of the LLM judge that grades the answers of ``judge`` queries (at
    ``endpoint``; default the built-in ``prompts/judge.toml``).

    ``more``: the other endpoints of a run across models, each with its pricing (``endpoint``
    and ``pricing`` are the first): the grid crosses the model that writes the notes with the
    model that answers (records name both, ``sleep_model`` and ``model``); a policy's
    decisions go to the endpoint of the model they name. The cache holds them all; the client
    returned then counts the requests of every endpoint together."""
    path = Path(traces)
    if max_usd is not None and not (math.isfinite(max_usd) and max_usd >= 0):
        raise LiveError(f"--max-usd must be a number >= 0, got {max_usd}")
    store = ResponseCache(cache if cache else path.with_name(path.name.removesuffix(".jsonl") + ".cache.sqlite"))  # fmt: skip
    client = ChatClient(endpoint, store, concurrency=concurrency, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s,
                        seed=protocol.seed, stream=stream)  # fmt: skip
    others = [(ChatClient(e, store, concurrency=concurrency, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s,
                          seed=protocol.seed, stream=stream), p) for e, p in more]  # fmt: skip
    collector = Collector(workload, client, protocol, pricing, design, path, max_usd, questions_per_context, progress,
                          judge=judge, more=others)  # fmt: skip
    imported = None
    try:
        if batch_file is not None:
            todo = [
                r for r in collector.planned_sleep_requests() if store.get(r.key(endpoint)) is None
            ]
            write_batch_file(todo, endpoint, batch_file)
            return collector.stats, client, None
        if batch_results is not None:
            imported = import_batch_results(
                collector.planned_sleep_requests(), endpoint, store, *batch_results
            )
            collector.stats.errors += [
                f"batch request {cid}: {why}" for cid, why in imported.failed
            ]
        asyncio.run(collector.run())
    finally:
        store.close()
    if others:
        client.stats = collector.client_stats
    return collector.stats, client, imported


class CollectProgress:
    """A bar of answers written, with requests sent, cache hits, failures, tokens and USD: pass
    its :meth:`update` as :func:`collect`'s ``progress``."""

    def __init__(self, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(desc="answers", unit="ans", disable=not enabled)

    def update(self, stats: CollectStats, s: ClientStats) -> None:
        """One more answer written (``s``: the requests of every endpoint together)."""
        self.bar.update(1)
        self.bar.set_postfix_str(f"sent {s.sent}, cached {s.cache_hits}, failed {s.failed}, tokens {s.prompt_tokens + s.completion_tokens:,}, USD {stats.usd_new:.4f}", refresh=False)  # fmt: skip

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
