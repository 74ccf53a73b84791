"""The jobs behind ``sleeptime collect`` and ``sleeptime serve-local``: real runs against an
endpoint (the embedded local server by default), logged to MLflow. Every number is measured."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError
from sleeptime.live import (
    VIEWS,
    CellSummary,
    ChatClient,
    CollectProgress,
    Grid,
    JudgePrompt,
    LiveError,
    LocalServer,
    PolicyDesign,
    Pricing,
    Prompts,
    Protocol,
    collect,
    deploy_policy,
    describe_endpoints,
    design_records,
    exploration_grid,
    judge_usd,
    open_endpoint,
    open_endpoints,
    price_entries,
    sleep_outputs_path,
    summarize_cells,
)
from sleeptime.tracking import Job


def serve_local(model_file: str | Path | None = None, *, port: int | None = None, slots: int = 4,
                threads: int | None = None, log_file: str | Path | None = None, mode: str = "reuse",
                binary: str | Path | None = None) -> LocalServer:  # fmt: skip
    """Start the embedded local server (llama.cpp's ``llama-server`` on 127.0.0.1) and return it
    once it answers; the caller stops it (:meth:`LocalServer.stop`). ``mode``: ``reuse`` (prompt
    cache on) or ``exact`` (one slot, no cache)."""
    server = LocalServer(Path(model_file) if model_file else None, port=port, slots=slots, threads=threads,
                         log_file=Path(log_file) if log_file else None, mode=mode,
                         binary=Path(binary) if binary else None)  # fmt: skip
    return server.start()


@dataclass(frozen=True)
class LiveRun:
    """``sleeptime collect``: what the run wrote and measured."""

    traces: Path
    sleep_outputs: Path
    design: str
    endpoint: dict[str, Any]
    records: int
    requests_sent: int
    cache_hits: int
    failed: int
    usd: float | None
    usd_new: float
    prompt_tokens: int
    completion_tokens: int
    accuracy: float | None
    cells: tuple[CellSummary, ...]
    stopped_at_cap: bool
    prices: str
    seconds: float
    errors: tuple[str, ...] = ()
    batch: dict[str, Any] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    judge_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the run (its traces, files, cells, tokens and USD), as ``--json``
        prints it."""
        return {
            "measured": True, "traces": self.records, "traces_file": str(self.traces), "sleep_outputs_file": str(self.sleep_outputs),
            "design": self.design, "endpoint": self.endpoint, "requests_sent": self.requests_sent, "cache_hits": self.cache_hits,
            "failed": self.failed, "usd": self.usd, "usd_spent_now": self.usd_new, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "accuracy": self.accuracy, "stopped_at_cap": self.stopped_at_cap,
            "prices": self.prices, "seconds": self.seconds, "cells": [c.to_json() for c in self.cells],
            "errors": list(self.errors), "batch": self.batch, "mlflow_run_id": self.mlflow_run_id, "judge_usd": self.judge_usd,
        }  # fmt: skip


def collect_live(
    source: str = "builtin",
    out: str | Path = "traces.jsonl",
    *,
    endpoint: str | Sequence[str] = "local",
    model: str | Sequence[str] | None = None,
    api_key_env: str | None = None,
    litellm: bool = False,
    model_file: str | None = None,
    contexts: int | None = 20,
    questions_per_context: int | None = None,
    min_questions: int = 0,
    sleep_levels: Sequence[str] = ("none", "k1"),
    budgets: Sequence[int] = (0, 1, 2),
    views: Sequence[str] = VIEWS,
    reasoning: bool = False,
    policy: str | None = None,
    expected_queries: float | None = None,
    concurrency: int = ChatClient.concurrency,
    cache: str | None = None,
    max_usd: float | None = None,
    batch_file: str | None = None,
    batch_results: str | None = None,
    batch_errors: str | None = None,
    prompts: str = "auto",
    prices: str = "list-2025",
    price_model: str = "gpt-4o-mini",
    seed: int = 0,
    temperature: float = 0.0,
    retries: int = ChatClient.retries,
    stream: bool = False,
    sleep_max_tokens: int = 384,
    track: bool = True,
    tracking_uri: str | None = None,
    progress: bool = True,
    router: bool = False,
    sample: str = "first",
    server_mode: str = "reuse",
    judge_prompt: str = "judge",
    explore: float = 0.0,
    decision_log: str | None = None,
    **workload: Any,
) -> LiveRun:
    """Run a design for real and append its trace records to ``out`` (measured). ``router``:
    serve the ``policy`` artifact through ``litellm.Router`` with the
    :class:`~sleeptime.integrations.litellm_hook.SleeptimeHook` deciding (a deployment).
    ``server_mode``: with the local endpoint, ``reuse`` (its prompt cache on) or ``exact`` (one
    slot, no cache: the same request always gets the same answer). ``min_questions``: only
    contexts with at least that many questions are taken (before the first ``contexts``).
    ``judge_prompt``: the judge of ``judge`` answers (the built-in ``judge`` or a TOML file);
    it runs at the same endpoint, and its USD is reported apart (``judge_usd``). Across models:
    several ``endpoint`` s, ``model`` and ``price_model`` one per endpoint (:func:`~sleeptime.live.open_endpoints`).
    With ``router``, ``explore`` (epsilon, seeded by ``seed``) and ``decision_log``: the router
    explores and logs each decision with its propensity; the records are the log's outcomes."""
    from sleeptime.runtime import Exploration
    from sleeptime.simulators import load_price_book
    from sleeptime.workloads import load_workload, sample_workload

    if concurrency < 1:
        raise LiveError(f"--concurrency must be at least 1, got {concurrency}")
    if (explore or decision_log) and not router:
        raise LiveError("--explore and --decision-log go with --router (a deployment of --policy through litellm.Router)")  # fmt: skip
    w = sample_workload(load_workload(source, **workload), contexts=contexts, min_questions=min_questions, sample=sample)  # fmt: skip
    endpoints = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    book = load_price_book(prices)
    price_models = price_entries(book, price_model, len(endpoints))  # a clear error now
    if len(endpoints) > 1 and (batch_file or batch_results):
        raise LiveError("a run across models (several --endpoint) sends its sleep-time work live, without --batch-file or --batch-results")  # fmt: skip
    design: Grid | PolicyDesign = PolicyDesign(Path(policy), expected_queries) if policy else exploration_grid(sleep_levels, budgets, views, reasoning)  # fmt: skip
    if sleep_max_tokens < 1:
        raise LiveError(f"--sleep-max-tokens must be at least 1, got {sleep_max_tokens}")
    protocol = Protocol(
        Prompts.for_workload(prompts, w),
        temperature=temperature,
        seed=seed,
        sleep_max_tokens=sleep_max_tokens,
    )
    traces = Path(out)
    started = time.perf_counter()
    kind = "policy" if policy else "exploration"
    params: dict[str, Any] = {"source": source, "design": kind, "policy": policy, "contexts": len(w.contexts),
              "questions_per_context": questions_per_context, "min_questions": min_questions, "sleep_levels": ",".join(sleep_levels), "budgets": ",".join(map(str, budgets)),
              "views": ",".join(views), "sample": sample, "prompts": protocol.prompts.source, "temperature": temperature, "seed": seed, "stream": stream, "sleep_max_tokens": sleep_max_tokens,
              "prices": book.version, "price_model": price_model, "concurrency": concurrency, "max_usd": max_usd,
              "server_mode": server_mode if any(e == "local" or e.endswith(".gguf") for e in endpoints) else None}  # fmt: skip
    models = [model] if isinstance(model, str) else list(model or [])
    with open_endpoints(endpoints, models, api_key_env, litellm, model_file, concurrency, traces.with_name(traces.name + ".server.log"), server_mode) as eps, Job("collect") as job:  # fmt: skip
        ep = eps[0]
        job.track({**params, **{f"endpoint{i or ''}.{k}": v for i, e in enumerate(eps) for k, v in e.describe().items()}}, uri=tracking_uri, kind="collect", enabled=track)  # fmt: skip
        bar = CollectProgress(progress)
        more = [(e, Pricing(book, p)) for e, p in zip(eps[1:], price_models[1:], strict=True)]
        try:
            client: Any
            if router:
                (stats, client), imported = deploy_policy(w, policy, ep, traces, protocol, Pricing(book, price_models[0]), questions_per_context, expected_queries, concurrency, more,
                                                          Exploration(explore, seed) if explore else None, decision_log), None  # fmt: skip
            else:
                stats, client, imported = collect(
                w, ep, traces, design=design, protocol=protocol, pricing=Pricing(book, price_models[0]), cache=cache,
                concurrency=concurrency, retries=retries, max_usd=max_usd, questions_per_context=questions_per_context,
                progress=bar.update, batch_file=batch_file, judge=JudgePrompt.load(judge_prompt),
                batch_results=(batch_results, batch_errors) if batch_results else None, stream=stream,
                more=more,
            )  # fmt: skip
        finally:
            bar.close()
        records = design_records(traces, design)
        cells = tuple(summarize_cells(records, seed=seed)) if records else ()
        usd_values: list[float | None] = [r.get("usd") for r in records]
        usd = (
            None if not records or None in usd_values else float(sum(v or 0.0 for v in usd_values))
        )
        result = LiveRun(
            traces, sleep_outputs_path(traces), kind, describe_endpoints(eps), len(records), client.stats.sent,
            client.stats.cache_hits, client.stats.failed, usd,
            stats.usd_new, sum(r.get("test_input_tokens") or 0 for r in records), sum(r.get("test_output_tokens") or 0 for r in records),
            sum(r["correct"] for r in records) / len(records) if records else None, cells, stats.stopped_at_cap,
            f"{book.version} prices of {', '.join(f'{e.model} as {p}' if len(eps) > 1 else p for e, p in zip(eps, price_models, strict=True))} (sleep-time at the batch discount where it came from a batch, else at live_sleep_discount)",
            round(time.perf_counter() - started, 2), tuple(stats.errors[:10]),
            {"file": batch_file} if batch_file else ({"imported": imported.imported, "failed": len(imported.failed), "missing": len(imported.missing)} if imported else {}),
            job.run_id, judge_usd(records),
        )  # fmt: skip
        if router:
            result = dataclasses.replace(result, design="policy, served through litellm.Router with the SleeptimeHook deciding")  # fmt: skip
        job.log({k: v for k, v in result.to_json().items() if k in ("traces", "requests_sent", "cache_hits", "failed", "usd", "usd_spent_now", "prompt_tokens", "completion_tokens", "accuracy")},
                json={"collect.json": result.to_json()}, files={"traces": (traces, sleep_outputs_path(traces))})  # fmt: skip
    if stats.errors and not records:
        raise SleeptimeError(f"no answer came back: {stats.errors[0]}")
    return result


def export_notes(traces: str | Path, out: str | Path, *, source: str = "builtin", prompts: str = "auto", **workload: Any) -> Any:  # fmt: skip
    """``sleeptime export-notes``: a run's sleep-time outputs as chat examples (measured)."""
    from sleeptime.live import export_notes as write_notes
    from sleeptime.workloads import load_workload

    w = load_workload(source, **workload)
    return write_notes(traces, w, Protocol(Prompts.for_workload(prompts, w)), out)


def fit_stale_records(path: str | Path) -> Any:
    """The simulator's stale effects (a :class:`~sleeptime.live.StaleEffect`) fitted to the
    records ``sleeptime measure-stale`` wrote to ``path``."""
    from sleeptime.live import fit_stale_effect, read_stale_records

    return fit_stale_effect(read_stale_records(path), source=str(path))


def measure_stale_effect(
    out: str | Path, *, contexts: int = 40, questions_per_context: int = 3, endpoint: str = "local", model: str | None = None,
    api_key_env: str | None = None, litellm: bool = False, model_file: str | None = None, prompts: str = "gsm", budget: int = 0,
    level: str = "k1", concurrency: int = ChatClient.concurrency, seed: int = 0, cache: str | None = None, sleep_max_tokens: int = 384,
) -> Any:  # fmt: skip
    """``sleeptime measure-stale``: answers from a stale ``c'`` on edited built-in contexts
    (measured), and the simulator's stale effects fitted to them."""
    from sleeptime.live import measure_stale
    from sleeptime.workloads import generate_workload

    if contexts < 1:
        raise LiveError(f"--contexts must be at least 1, got {contexts}")
    w = generate_workload(contexts, seed=seed)
    protocol = Protocol(Prompts.load(prompts), seed=seed, sleep_max_tokens=sleep_max_tokens)
    path = Path(out)
    with open_endpoint(endpoint, model, api_key_env, litellm, model_file, concurrency, path.with_name(path.name + ".server.log")) as ep:  # fmt: skip
        return measure_stale(w, ep, path, protocol=protocol, cache=cache, questions_per_context=questions_per_context,
                             budget=budget, level=level, concurrency=concurrency, seed=seed)  # fmt: skip


def grade_traces(
    traces: str | Path, out: str | Path, *, source: str = "builtin", reference: str | None = None, use_judge: bool = True,
    endpoint: str = "local", model: str | None = None, api_key_env: str | None = None, litellm: bool = False,
    model_file: str | None = None, judge_prompt: str = "judge", concurrency: int = ChatClient.concurrency, cache: str | None = None,
    prices: str = "list-2025", price_model: str = "gpt-4o-mini", tracking_uri: str | None = None, track: bool = True,
    **workload: Any,
) -> Any:  # fmt: skip
    """``sleeptime grade``: a run's answers graded by an LLM judge, against gold or (with
    ``reference``, e.g. ``none,b4,c``) against the answer of that allocation, into ``out``; the
    judge measured against gold where gold exists (measured). Judge USD apart from the policy's."""
    from sleeptime.live import Reference, grade_at, summarize_grades, write_graded
    from sleeptime.simulators import load_price_book, read_traces
    from sleeptime.workloads import load_workload

    records = read_traces(traces)
    w = load_workload(source, **workload)
    prompt = JudgePrompt.load(judge_prompt)
    ref = Reference.parse(reference) if reference else None
    pricing = Pricing(load_price_book(prices), price_model)
    path = Path(out)
    with open_endpoint(endpoint, model, api_key_env, litellm, model_file, concurrency, path.with_name(path.name + ".server.log")) as ep, Job("grade") as job:  # fmt: skip
        job.track({"traces": str(traces), "source": source, "reference": reference, "use_judge": use_judge, "judge_prompt": prompt.source,
                   **{f"endpoint.{k}": v for k, v in ep.describe().items()}}, uri=tracking_uri, kind="grade", enabled=track)  # fmt: skip

        graded = grade_at(ep, records, w, prompt, reference=ref, usd_of=lambda r: pricing.of(r, sleep=False), concurrency=concurrency,
                          cache=cache or path.with_name(path.name.removesuffix(".jsonl") + ".cache.sqlite"))  # fmt: skip
        result, written = summarize_grades(graded, use_judge=use_judge, reference=ref, out=path)
        write_graded(written, path)
        job.log({k: v for k, v in result.to_json().items() if isinstance(v, (int, float))}, json={"grade.json": result.to_json()})  # fmt: skip
    return result
