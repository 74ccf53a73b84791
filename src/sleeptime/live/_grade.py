"""Grade a real run's answers with an LLM judge: against gold, or without gold against the answer
of a reference allocation (reference mode), and measure the judge against gold where gold exists.

Reads a trace file and the workload it was collected on; writes a graded copy (atomically) in
which every record keeps its gold-based verdict as ``correct_gold`` and gains ``judge_verdict``,
``judge_reason``, ``judge_usd`` and, in reference mode, ``reference_answer``; ``correct`` becomes
the judge's verdict (1 or 0) where ``use_judge`` is set. In reference mode the reference
allocation's own records are not judged (``judge_verdict: "reference"``; right by definition,
and left out of the judge's agreement with gold). A record whose judge reply holds no
verdict keeps ``judge_verdict: "unparsable"`` and, where it has no gold either, is left out of
the graded file (counted, never scored 0). Judge requests go through the response cache like
every request; their USD is reported apart from the policy's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime._atomic import atomic_open
from sleeptime._json import AsJson
from sleeptime.live._client import ChatClient, Endpoint
from sleeptime.live._errors import LiveError
from sleeptime.live._judge import (
    Agreement,
    JudgePrompt,
    agreement,
    gold_reference,
    parse_verdict,
    verdict_bias,
)
from sleeptime.live._summary import CellSummary, summarize_cells
from sleeptime.workloads import Workload


@dataclass(frozen=True)
class Reference:
    """The allocation whose answers stand in for gold in reference mode: a sleep level, a budget
    and a view, written ``none,b4,c``."""

    sleep_level: str
    budget: str
    view: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        """``SLEEP,BUDGET,VIEW`` (e.g. ``none,b4,c`` or ``k1,b2,both``); LiveError otherwise."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3 or not all(parts) or not parts[1].startswith("b"):
            raise LiveError(f"--reference {text!r}: write the reference allocation as SLEEP,BUDGET,VIEW, e.g. none,b4,c")  # fmt: skip
        return cls(*parts)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` was answered under this allocation."""
        return (record.get("sleep_level"), record.get("budget"), record.get("view")) == (self.sleep_level, self.budget, self.view)  # fmt: skip

    def __str__(self) -> str:
        return f"{self.sleep_level},{self.budget},{self.view}"


@dataclass(frozen=True)
class GradeResult(AsJson):
    """What grading did: the records read and written, the judge's requests and USD (apart from
    the policy's), unparsable replies, and the judge measured against gold: ``against_gold``
    (the judge given the gold answer or, in reference mode, the reference answer, against the
    gold-based verdict), with its ``bias`` by answer length and by whether the answer saw notes;
    ``cells``: the graded file's accuracy (the judge's verdicts where it replaces ``correct``)
    per sleep level, budget and view."""

    out: Path
    mode: str
    reference: str | None
    records: int
    written: int
    judged: int
    unparsable: int
    left_out: int
    judge_usd: float | None
    against_gold: Agreement | None
    bias: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cells: tuple[CellSummary, ...] = ()


def _length_group(answer: str, cuts: Sequence[int]) -> str:
    n = len(answer.split())
    return "short" if n <= cuts[0] else ("medium" if n <= cuts[1] else "long")


async def grade_records(
    records: Sequence[dict[str, Any]],
    workload: Workload,
    client: ChatClient,
    prompt: JudgePrompt,
    *,
    reference: Reference | None = None,
    usd_of: Any = None,
) -> list[dict[str, Any]]:
    """The records with the judge's verdicts added (see the module docstring); ``usd_of``: a
    function of a :class:`~sleeptime.live.ChatResponse` giving its USD (None: not priced)."""
    questions = {(c.context_id, q.query_id): q for c in workload.contexts for q in c.queries}
    refs: dict[tuple[str, str], str] = {}
    if reference is not None:
        for r in records:
            if reference.matches(r):
                refs[(r["context_id"], r["query_id"])] = str(
                    r.get("answer") or r.get("response") or ""
                )
        if not refs:
            raise LiveError(f"no record was answered under the reference allocation {reference}; choose one of the run's cells (sleep level, budget, view)")  # fmt: skip

    async def one(r: dict[str, Any]) -> dict[str, Any]:
        key = (r["context_id"], r["query_id"])
        query = questions.get(key)
        if query is None:
            raise LiveError(f"the record of context {key[0]!r} query {key[1]!r} is not in the workload {workload.source or ''}; pass the workload the run was collected on")  # fmt: skip
        answer = str(r.get("answer") or r.get("response") or "")
        ref = refs.get(key) if reference is not None else gold_reference(query.golds)
        out = dict(r)
        if reference is not None and reference.matches(r):
            # the reference allocation's own answer is the standard, not graded against itself
            out.update(judge_verdict="reference", judge_reason=f"the answer of the reference allocation {reference}", judge_usd=0.0)  # fmt: skip
            return out
        if ref is None:
            out.update(judge_verdict="no reference", judge_reason=f"no answer under {reference} for this query", judge_usd=0.0)  # fmt: skip
            return out
        resp = await client.complete(prompt.request(query.question, ref, answer or "(empty)", label=f"judge {key[0]} {key[1]} {r.get('sleep_level')},{r.get('budget')},{r.get('view')}"))  # fmt: skip
        v = parse_verdict(resp.content)
        out.update(
            judge_verdict=v.verdict,
            judge_reason=v.reason,
            judge_usd=usd_of(resp) if usd_of else None,
        )
        if reference is not None:
            out["reference_answer"] = ref
        return out

    return list(await asyncio.gather(*(one(r) for r in records)))


def grade_at(endpoint: Endpoint, records: Sequence[dict[str, Any]], workload: Workload, prompt: JudgePrompt, *,
             reference: Reference | None, usd_of: Any, cache: str | Path, concurrency: int = ChatClient.concurrency) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`grade_records` through a client of ``endpoint`` whose answers are cached in
    ``cache`` (a rerun sends no request it has), ``concurrency`` requests at once."""
    from sleeptime.live._cache import ResponseCache

    async def run() -> list[dict[str, Any]]:
        async with ChatClient(
            endpoint, cache=ResponseCache(cache), concurrency=concurrency
        ) as client:
            return await grade_records(
                records, workload, client, prompt, reference=reference, usd_of=usd_of
            )

    return asyncio.run(run())


def summarize_grades(graded: Sequence[Mapping[str, Any]], *, use_judge: bool, reference: Reference | None, out: Path) -> tuple[GradeResult, list[dict[str, Any]]]:  # fmt: skip
    """The graded file's records (``correct`` the judge's where ``use_judge``; records with
    neither a verdict nor gold left out) and the :class:`GradeResult`."""
    written, judge, gold, groups_len, groups_view = [], [], [], [], []
    lengths = sorted(len(str(r.get("answer") or "").split()) for r in graded)
    cuts = (lengths[len(lengths) // 3], lengths[2 * len(lengths) // 3]) if lengths else (0, 0)
    left_out = 0
    for r in graded:
        verdict = r.get("judge_verdict")
        j = {"correct": 1.0, "incorrect": 0.0}.get(str(verdict))
        rec = dict(r)
        rec["correct_gold"] = r.get("correct")
        if j is not None and r.get("correct") is not None:
            judge.append(j)
            gold.append(float(r["correct"]))
            groups_len.append(_length_group(str(r.get("answer") or ""), cuts))
            groups_view.append("with notes" if r.get("served_with_sleep") else "without notes")
        if use_judge:
            if verdict == "reference":
                j = 1.0  # the standard of reference mode, right by definition (not in the agreement)
            if j is None:
                left_out += 1
                continue
            rec["correct"] = j
        written.append(rec)
    judged = sum(
        1 for r in graded if r.get("judge_verdict") in ("correct", "incorrect", "unparsable")
    )
    unparsable = sum(1 for r in graded if r.get("judge_verdict") == "unparsable")
    usd = [r.get("judge_usd") for r in graded if r.get("judge_verdict") in ("correct", "incorrect", "unparsable")]  # fmt: skip
    bias = {**{f"length: {k}": v for k, v in verdict_bias(judge, gold, groups_len).items()},
            **{f"view: {k}": v for k, v in verdict_bias(judge, gold, groups_view).items()}}  # fmt: skip
    result = GradeResult(
        out, "reference" if reference else "gold", str(reference) if reference else None, len(graded), len(written), judged, unparsable, left_out,
        None if any(u is None for u in usd) else float(sum(usd)),  # type: ignore[arg-type]
        agreement(judge, gold) if judge else None, bias, tuple(summarize_cells(written)),
    )  # fmt: skip
    return result, written


def write_graded(records: Sequence[Mapping[str, Any]], out: str | Path) -> Path:
    """Write graded records as JSONL, atomically."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        for r in records:
            f.write(json.dumps(r, allow_nan=False) + "\n")
    return path
