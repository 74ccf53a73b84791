"""What an edit does to sleep-time work, measured: answers from a stale ``c'``.

For each built-in context: sleep-time work on the original, then the context is edited (one of
its numbers changes, :func:`~sleeptime.workloads.edit_context`), sleep-time work runs again on
the edited one, and each question of the edited context is answered three ways: with the fresh
``c'`` (``fresh``), with the original's ``c'`` beside the edited context (``stale``), and
without ``c'`` (``none``). :func:`fit_stale_effect` turns the verdicts into the simulator's two
stated effects: the share of the sleep-time gain a stale ``c'`` loses, and how often a stale
answer to a question whose answer the edit changed is wrong.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime._json import AsJson
from sleeptime.live._cache import ResponseCache
from sleeptime.live._client import ChatClient, Endpoint
from sleeptime.live._errors import LiveError
from sleeptime.live._jsonl import jsonl_objects
from sleeptime.live._protocol import Budget, Protocol, SleepLevel
from sleeptime.simulators import percentile_interval, poisson_weights
from sleeptime.workloads import Workload, grade_query

#: How each question of an edited context is answered.
CONDITIONS = ("fresh", "stale", "none")


async def _measure(workload: Workload, client: ChatClient, protocol: Protocol, budget: Budget, level: SleepLevel, questions: int | None, seed: int) -> list[dict[str, Any]]:  # fmt: skip
    from sleeptime.workloads import edit_context

    async def notes(text: str, label: str) -> str:
        rs = await asyncio.gather(
            *(client.complete(r) for r in protocol.sleep_requests(text, level, label))
        )
        return protocol.merge([r.content for r in rs])

    async def one(ctx: Any) -> list[dict[str, Any]]:
        edited, key = edit_context(ctx, seed=seed)
        old_cp, new_cp = await asyncio.gather(notes(ctx.context, f"context {ctx.context_id} (original)"), notes(edited.context, f"context {ctx.context_id} (edited)"))  # fmt: skip
        out = []
        for q in edited.queries[:questions]:
            for cond, cp, view in (
                ("fresh", new_cp, "both"),
                ("stale", old_cp, "both"),
                ("none", None, "c"),
            ):
                req = protocol.answer_request(edited.context, q.question, cp, budget, view, f"context {ctx.context_id} query {q.query_id} ({cond})")  # fmt: skip
                resp = await client.complete(req)
                grade = grade_query(resp.content, q)
                out.append({"context_id": ctx.context_id, "query_id": q.query_id, "condition": cond, "edited_key": key,
                            "answer_changed": bool(q.meta.get("answer_changed")), "correct": float(grade.correct),
                            "answer": grade.answer, "gold": q.answer, "budget": budget.name, "sleep_level": level.name,
                            "completion_tokens": resp.completion_tokens, "model": client.endpoint.model})  # fmt: skip
        return out

    async with client:
        rows = await asyncio.gather(*(one(c) for c in workload.contexts))
    return [r for rs in rows for r in rs]


def measure_stale(
    workload: Workload, endpoint: Endpoint, out: str | Path, *, protocol: Protocol, cache: str | Path | None = None,
    questions_per_context: int | None = 3, budget: int = 0, level: str = "k1", concurrency: int = ChatClient.concurrency, seed: int = 0,
) -> StaleEffect:  # fmt: skip
    """Measure answers from a stale ``c'`` on ``workload`` (built-in contexts) at ``endpoint``;
    write one record per answer to ``out`` (JSONL, atomically) and return the fitted effect.
    Answers are cached (``cache``, default beside ``out``): a rerun sends nothing."""
    from sleeptime._atomic import atomic_write_text

    path = Path(out)
    store = ResponseCache(cache if cache else path.with_name(path.name.removesuffix(".jsonl") + ".cache.sqlite"))  # fmt: skip
    try:
        client = ChatClient(endpoint, store, concurrency=concurrency, seed=protocol.seed)
        records = asyncio.run(_measure(workload, client, protocol, Budget.level(budget), SleepLevel.parse(level), questions_per_context, seed))  # fmt: skip
    finally:
        store.close()
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))
    return fit_stale_effect(records, source=str(path))


@dataclass(frozen=True)
class StaleEffect(AsJson):
    """Accuracy by condition (95% bootstrap over contexts), and the two stated effects fitted:
    ``loss`` (share of the sleep-time gain, fresh over none, that a stale ``c'`` loses) and
    ``wrong_when_changed`` (share of the questions whose answer the edit changed that a stale
    ``c'`` gets wrong among those the fresh one gets right); ``touched`` the share of questions
    whose answer changed."""

    contexts: int
    answers: int
    accuracy: Mapping[str, float]
    accuracy_ci95: Mapping[str, tuple[float, float]]
    loss: float
    loss_ci95: tuple[float, float]
    touched: float
    accuracy_changed: Mapping[str, float]
    accuracy_unchanged: Mapping[str, float]
    wrong_when_changed: float
    source: str = ""


def read_stale_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of :func:`measure_stale` (errors name the file and line)."""
    p = Path(path)
    if not p.is_file():
        raise LiveError(
            f"{p}: no such file of stale-effect records (sleeptime measure-stale writes one)"
        )
    rows = []
    for n, obj in jsonl_objects(p.read_text(encoding="utf-8"), p):
        if obj.get("condition") not in CONDITIONS or not isinstance(obj.get("correct"), (int, float)) or "context_id" not in obj or "query_id" not in obj:  # fmt: skip
            raise LiveError(f"{p}:{n}: not a stale-effect record (needs context_id, query_id, condition in {', '.join(CONDITIONS)}, correct)")  # fmt: skip
        rows.append(obj)
    if not rows:
        raise LiveError(f"{path}: no stale-effect records")
    return rows


def fit_stale_effect(records: Sequence[Mapping[str, Any]], *, source: str = "", n_boot: int = 1000, seed: int = 0) -> StaleEffect:  # fmt: skip
    """Fit the stated stale effects to measured verdicts (see :class:`StaleEffect`)."""
    ids = sorted({str(r["context_id"]) for r in records})
    index = {c: i for i, c in enumerate(ids)}
    sums = np.zeros((3, len(ids)))
    counts = np.zeros((3, len(ids)))
    for r in records:
        k = CONDITIONS.index(str(r["condition"]))
        sums[k, index[str(r["context_id"])]] += float(r["correct"])
        counts[k, index[str(r["context_id"])]] += 1
    acc = sums.sum(axis=1) / np.maximum(counts.sum(axis=1), 1)

    def loss_of(a: np.ndarray) -> float:
        gain = a[0] - a[2]
        return float(1 - (a[1] - a[2]) / gain) if gain > 0 else math.nan

    rng = np.random.default_rng(seed)
    W = poisson_weights(n_boot, len(ids), rng)  # a draw of no context is drawn again
    A = (W @ sums.T) / np.maximum(W @ counts.T, 1)  # (boot, 3)
    # no interval where there is no gain to lose in more than a tenth of the draws
    loss_ci = percentile_interval([loss_of(a) for a in A], min_finite=0.9)
    acc_ci = {c: percentile_interval(A[:, k]) for k, c in enumerate(CONDITIONS)}

    def by(changed: bool) -> dict[str, float]:
        out = {}
        for c in CONDITIONS:
            v = [
                float(r["correct"])
                for r in records
                if r["condition"] == c and bool(r.get("answer_changed")) == changed
            ]
            out[c] = float(np.mean(v)) if v else math.nan
        return out

    changed, unchanged = by(True), by(False)
    # among changed questions the fresh c' gets right: how often the stale one is wrong
    fresh_right = {(r["context_id"], r["query_id"]) for r in records if r["condition"] == "fresh" and r.get("answer_changed") and r["correct"]}  # fmt: skip
    stale = [float(r["correct"]) for r in records if r["condition"] == "stale" and (r["context_id"], r["query_id"]) in fresh_right]  # fmt: skip
    questions = {(r["context_id"], r["query_id"]): bool(r.get("answer_changed")) for r in records}
    return StaleEffect(len(ids), len(records), {c: float(acc[k]) for k, c in enumerate(CONDITIONS)}, acc_ci, loss_of(acc), loss_ci,
                       float(np.mean(list(questions.values()))) if questions else math.nan, changed, unchanged,
                       float(1 - np.mean(stale)) if stale else math.nan, source)  # fmt: skip
