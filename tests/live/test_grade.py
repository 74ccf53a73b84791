"""Grading a run with an LLM judge: against gold and in reference mode; the judge measured."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleeptime.live import (
    VERDICTS,
    Budget,
    ChatClient,
    Grid,
    JudgePrompt,
    LiveError,
    LocalServer,
    Pricing,
    Prompts,
    Protocol,
    Reference,
    ResponseCache,
    SleepLevel,
    collect,
    grade_records,
    read_records,
    summarize_grades,
    write_graded,
)
from sleeptime.simulators import load_price_book
from sleeptime.workloads import load_workload
from tests.live.test_collect import _require_server

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[2]


def test_a_reference_allocation_is_written_sleep_budget_view() -> None:
    ref = Reference.parse("none, b4, c")
    assert (ref.sleep_level, ref.budget, ref.view, str(ref)) == ("none", "b4", "c", "none,b4,c")
    assert ref.matches({"sleep_level": "none", "budget": "b4", "view": "c"})
    assert not ref.matches({"sleep_level": "k1", "budget": "b4", "view": "c"})
    for bad in ("none,b4", "none,4,c", ",b4,c"):
        with pytest.raises(LiveError, match="SLEEP,BUDGET,VIEW"):
            Reference.parse(bad)


def _rec(i: int, correct: float, verdict: str, answer: str, notes: bool) -> dict[str, Any]:
    return {"context_id": f"c{i}", "query_id": "q", "correct": correct, "judge_verdict": verdict, "judge_reason": "r",
            "judge_usd": 0.001, "answer": answer, "served_with_sleep": notes, "sleep_level": "k1" if notes else "none",
            "sleep_action": int(notes), "budget": "b0", "test_action": 0, "view": "both" if notes else "c"}  # fmt: skip


def test_the_summary_replaces_correct_keeps_gold_and_leaves_out_unparsable(tmp_path: Path) -> None:
    graded = [
        _rec(0, 1.0, "correct", "Denver Broncos", True),
        _rec(1, 0.0, "correct", "a long answer that names several teams at once", True),
        _rec(2, 0.0, "incorrect", "Panthers", False),
        _rec(3, 1.0, "unparsable", "Denver", False),
        _rec(4, 1.0, "correct", "the Denver Broncos of 2015", False),
    ]
    result, written = summarize_grades(
        graded, use_judge=True, reference=None, out=tmp_path / "g.jsonl"
    )
    assert (result.records, result.written, result.judged, result.unparsable, result.left_out) == (
        5,
        4,
        5,
        1,
        1,
    )
    assert [r["correct"] for r in written] == [1.0, 1.0, 0.0, 1.0]
    assert [r["correct_gold"] for r in written] == [1.0, 0.0, 0.0, 1.0]
    assert result.against_gold is not None and (
        result.against_gold.n,
        result.against_gold.accuracy,
    ) == (4, 0.75)
    assert result.judge_usd == pytest.approx(0.005) and result.mode == "gold"
    # per cell, the graded file's accuracy: the judge's verdicts (2 of 2 with notes; 1 of 2 without)
    assert [(c.sleep_level, c.answers, c.accuracy) for c in result.cells] == [
        ("none", 2, 0.5),
        ("k1", 2, 1.0),
    ]
    assert result.bias["view: with notes"]["excess"] == pytest.approx(
        0.5
    )  # the judge favours the noted answers here
    json.dumps(result.to_json(), allow_nan=False)
    kept, written_gold = summarize_grades(graded, use_judge=False, reference=Reference.parse("none,b4,c"), out=tmp_path / "g.jsonl")  # fmt: skip
    assert kept.left_out == 0 and [r["correct"] for r in written_gold] == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert kept.mode == "reference" and kept.reference == "none,b4,c"
    # in reference mode the reference cell's own answers are right by definition and are not
    # part of the judge's agreement with gold
    with_ref = [*graded, _rec(5, 0.0, "reference", "Denver", False)]
    ref_result, ref_written = summarize_grades(with_ref, use_judge=True, reference=Reference.parse("none,b4,c"), out=tmp_path / "g.jsonl")  # fmt: skip
    assert ref_written[-1]["correct"] == 1.0 and ref_written[-1]["correct_gold"] == 0.0
    assert ref_result.against_gold is not None and ref_result.against_gold.n == 4  # as without it
    assert ref_result.judged == 5 and ref_result.written == 5
    path = write_graded(written, tmp_path / "out" / "g.jsonl")
    assert [json.loads(x)["context_id"] for x in path.read_text().splitlines()] == [
        "c0",
        "c1",
        "c2",
        "c4",
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    _require_server()
    with LocalServer(log_file=tmp_path_factory.mktemp("server") / "server.log") as srv:
        yield srv


@pytest.mark.slow
def test_a_span_run_graded_by_the_local_judge_with_gold_and_by_reference(server: LocalServer, tmp_path: Path) -> None:  # fmt: skip
    w = load_workload(ROOT / "data" / "xquad" / "xquad.en.json", limit=2)
    pricing = Pricing(load_price_book("list-2025"), "gpt-4o-mini")
    grid = Grid(
        (SleepLevel.parse("none"), SleepLevel.parse("k1")), (Budget.level(0),), ("c", "both")
    )
    out = tmp_path / "spans.jsonl"
    _stats, client, _ = collect(w, server.endpoint(), out, design=grid, protocol=Protocol(Prompts.for_workload("auto", w)),
                               pricing=pricing, questions_per_context=2)  # fmt: skip
    records = read_records(out)
    assert len(records) == 2 * 2 * 2 and client.stats.sent > 0  # a real run, not a warm cache
    assert all(
        0.0 <= r["score"] <= 1.0 and r["correct"] in (0.0, 1.0) for r in records
    )  # F1 recorded
    prompt = JudgePrompt.load()

    async def judge(reference: Reference | None) -> tuple[list[dict[str, Any]], int]:
        async with ChatClient(
            server.endpoint(), cache=ResponseCache(tmp_path / "judge.sqlite")
        ) as c:
            graded = await grade_records(records, w, c, prompt, reference=reference, usd_of=lambda r: pricing.of(r, sleep=False))  # fmt: skip
            return graded, c.stats.sent

    graded, sent = asyncio.run(judge(None))
    assert sent == len(records)  # one judge request per answer
    assert all(g["judge_verdict"] in VERDICTS and g["judge_usd"] > 0 for g in graded)
    result, _written = summarize_grades(
        graded, use_judge=True, reference=None, out=tmp_path / "g.jsonl"
    )
    assert result.judged == len(records) and result.written + result.left_out == len(records)
    assert result.against_gold is None or result.against_gold.n == len(records) - result.unparsable
    ref = Reference.parse("k1,b0,both")
    graded_ref, sent_ref = asyncio.run(judge(ref))
    assert sent_ref > 0
    for g in graded_ref:  # the reference cell is the standard, not judged against itself
        assert (g["judge_verdict"] == "reference") == ref.matches(g)
        assert ("reference_answer" in g) != ref.matches(g)
    with pytest.raises(
        LiveError, match="no record was answered under the reference allocation none,b4,c"
    ):
        asyncio.run(judge(Reference.parse("none,b4,c")))


@pytest.mark.slow
def test_judge_answers_are_graded_inline_by_the_judge_apart_from_the_policys_usd(server: LocalServer, tmp_path: Path) -> None:  # fmt: skip
    # free-text questions whose gold is a reference for the judge, not a span to match
    data = tmp_path / "notes.jsonl"
    rows = [{"context_id": "c0", "context": "The team met on Monday. Ana decided to ship the release on Friday; the docs are still open.",
             "queries": [{"query_id": "q0", "question": "What did Ana decide?", "answer": "to ship the release on Friday", "answer_kind": "judge"},
                         {"query_id": "q1", "question": "What is still open?", "answer": "the docs", "answer_kind": "judge"}]}]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    w = load_workload(data)
    assert {q.answer_kind for c in w.contexts for q in c.queries} == {"judge"}
    pricing = Pricing(load_price_book("list-2025"), "gpt-4o-mini")
    grid = Grid((SleepLevel.parse("none"),), (Budget.level(0),), ("c",))
    out = tmp_path / "judged.jsonl"
    stats, client, _ = collect(w, server.endpoint(), out, design=grid, protocol=Protocol(Prompts.load("conversation")), pricing=pricing)  # fmt: skip
    records = read_records(out) if out.exists() else []
    # one answer and one judge request per question; an answer whose judge reply held no
    # verdict is not written and is named, never scored 0
    assert client.stats.sent == 4
    assert len(records) + stats.failed_records == 2
    assert all("held no verdict" in e for e in stats.errors)
    for r in records:
        assert r["judge_verdict"] in ("correct", "incorrect") and r["judge_reason"] is not None
        assert r["correct"] == r["score"] == (1.0 if r["judge_verdict"] == "correct" else 0.0)
        assert r["judge_usd"] > 0 and r["usd"] == pytest.approx(
            r["test_usd"]
        )  # the judge is not the policy's spend
        assert r["judge_model"] == server.endpoint().model
    # a rerun sends nothing: the answers and the judge's replies are cached
    stats2, client2, _ = collect(w, server.endpoint(), tmp_path / "again.jsonl", design=grid, protocol=Protocol(Prompts.load("conversation")),
                                 pricing=pricing, cache=out.with_name("judged.cache.sqlite"))  # fmt: skip
    assert client2.stats.sent == 0 and stats2.written == len(records)
