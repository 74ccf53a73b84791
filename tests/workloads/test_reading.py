"""SQuAD and DROP files as workloads: the published JSON, several questions per paragraph."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sleeptime import MalformedRecordError, MissingFieldError, UnknownFormatError
from sleeptime.workloads import NO_ANSWER, grade_query, load_workload

ROOT = Path(__file__).resolve().parents[2]
PARA = "The Denver Broncos defeated the Carolina Panthers 24-10 to win Super Bowl 50 in 2016."
SQUAD: dict[str, Any] = {
    "version": "v2.0",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": PARA,
                    "qas": [
                        {"id": "a1", "question": "Who won Super Bowl 50?", "is_impossible": False,
                         "answers": [{"text": "Denver Broncos", "answer_start": 4}, {"text": "The Denver Broncos", "answer_start": 0},
                                     {"text": "Denver Broncos", "answer_start": 4}]},
                        {"id": "a2", "question": "Who lost Super Bowl 51?", "is_impossible": True, "answers": [],
                         "plausible_answers": [{"text": "Carolina Panthers", "answer_start": 32}]},
                    ],
                },
                {"context": "Levi's Stadium hosted it.", "qas": [{"id": "a3", "question": "Where?", "answers": [{"text": "Levi's Stadium", "answer_start": 0}]}]},
            ],
        }
    ],
}  # fmt: skip


def _write(tmp_path: Path, doc: object, name: str = "squad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_squad_paragraphs_become_contexts_with_several_golds_and_unanswerable(
    tmp_path: Path,
) -> None:
    w = load_workload(_write(tmp_path, SQUAD))
    assert w.format == "squad" and w.n_contexts == 2 and w.n_queries == 3
    ctx = w.contexts[0]
    assert ctx.context_id == "Super_Bowl_50#0" and ctx.context == PARA
    assert ctx.meta == {"benchmark": "squad", "title": "Super_Bowl_50", "template": "Super_Bowl_50"}
    won, lost = ctx.queries
    assert won.answer_kind == "span" and won.golds == (
        "Denver Broncos",
        "The Denver Broncos",
    )  # duplicates once
    assert lost.golds == (NO_ANSWER,)
    assert w.report == {"unanswerable": 1, "answer_start_mismatches": 0}
    assert grade_query("The answer is the Denver Broncos.", won).correct
    assert grade_query("Answer: unanswerable", lost).correct
    assert not grade_query("The answer is the Carolina Panthers.", lost).correct
    assert load_workload(_write(tmp_path, SQUAD), limit=1).n_contexts == 1


def _broken(edit: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SQUAD)
    edit(doc["data"][0]["paragraphs"][0]["qas"][0])
    return doc


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda q: q.pop("question"), MissingFieldError, r"question 'a1': missing field 'question'"),
        (lambda q: q.update(answers=[{"text": "Denver Broncos", "answer_start": 80}]), MalformedRecordError,
         r"question 'a1', answers\[0\]: answer_start 80 with 14 characters lies outside the paragraph \(85 characters\)"),
        (lambda q: q.update(answers=[]), MalformedRecordError, r"question 'a1': an empty answer list"),
        (lambda q: q.update(answers=[{"text": 7}]), MalformedRecordError, r"answers\[0\]: field 'text' must be a str"),
        (lambda q: q.update(answers="Denver"), MalformedRecordError, r"field 'answers' must be a list, not str"),
    ],
)  # fmt: skip
def test_a_bad_squad_record_is_named_by_article_paragraph_and_question(tmp_path: Path, edit: Any, error: type, message: str) -> None:  # fmt: skip
    path = _write(tmp_path, _broken(edit))
    with pytest.raises(error, match=message) as err:
        load_workload(path)
    assert str(err.value).startswith(f"{path}: article 'Super_Bowl_50' (data[0]), paragraph 0")


def test_a_mismatched_answer_start_is_counted_not_fatal(tmp_path: Path) -> None:
    w = load_workload(
        _write(
            tmp_path,
            _broken(lambda q: q.update(answers=[{"text": "Denver Broncos", "answer_start": 5}])),
        )
    )
    assert w.report["answer_start_mismatches"] == 1


DROP = {
    "nfl_1": {
        "passage": "The Bears scored 3 touchdowns. Smith ran 12 yards and Jones 30 yards. It was 5 May 2010.",
        "qa_pairs": [
            {"query_id": "d1", "question": "How many touchdowns?", "answer": {"number": "3", "date": {"day": "", "month": "", "year": ""}, "spans": []},
             "validated_answers": [{"number": "3", "date": {}, "spans": []}]},
            {"query_id": "d2", "question": "Who ran?", "answer": {"number": "", "date": {}, "spans": ["Smith", "Jones"]},
             "validated_answers": [{"number": "", "date": {}, "spans": ["Jones", "Smith"]}]},
            {"query_id": "d3", "question": "When?", "answer": {"number": "", "date": {"day": "5", "month": "May", "year": "2010"}, "spans": []}},
        ],
        "wiki_url": "https://en.wikipedia.org/wiki/x",
    }
}  # fmt: skip


def test_drop_passages_numbers_dates_and_spans(tmp_path: Path) -> None:
    w = load_workload(_write(tmp_path, DROP, "drop.json"))
    assert w.format == "drop" and w.n_contexts == 1 and w.report == {"multi_span_answers": 1}
    n, spans, date = w.contexts[0].queries
    assert (n.answer_kind, n.answer) == ("numeric", "3")
    assert (spans.answer_kind, spans.golds) == ("span", ("Smith, Jones", "Jones, Smith"))
    assert (date.answer_kind, date.answer) == ("span", "May 5 2010")
    assert grade_query("The answer is 3.0", n).correct
    assert grade_query("The answer is Jones, Smith.", spans).correct
    bad = copy.deepcopy(DROP)
    bad["nfl_1"]["qa_pairs"][0]["answer"] = {"number": "", "date": {}, "spans": []}
    with pytest.raises(
        MalformedRecordError,
        match=r"passage 'nfl_1', question 'd1': the answer has no number, date or span",
    ):
        load_workload(_write(tmp_path, bad, "bad.json"))


def test_a_json_file_of_another_shape_says_what_the_formats_look_like(tmp_path: Path) -> None:
    path = _write(tmp_path, {"rows": []}, "other.json")
    with pytest.raises(
        MissingFieldError, match=r"other.json: missing field 'data' \(fields present: rows\)"
    ):
        load_workload(path, format="squad")
    with pytest.raises(UnknownFormatError, match="cannot tell the format from the fields"):
        load_workload(path)
    with pytest.raises(UnknownFormatError, match="not a drop file"):
        load_workload(_write(tmp_path, [1, 2], "list.json"), format="drop")
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [')
    with pytest.raises(MalformedRecordError, match=r"broken.json:1:\d+: not valid JSON"):
        load_workload(broken)


def test_the_shipped_xquad_english_file() -> None:
    # data/xquad: 240 SQuAD v1.1 dev paragraphs, CC BY-SA 4.0 (its licence file beside it)
    folder = ROOT / "data" / "xquad"
    assert (
        (folder / "LICENSE")
        .read_text()
        .startswith("Creative Commons Attribution-ShareAlike 4.0 International")
    )
    w = load_workload(folder / "xquad.en.json")
    assert (w.n_contexts, w.n_queries) == (240, 1190)
    assert int((w.queries_per_context() >= 4).sum()) == 212
    assert w.report == {"unanswerable": 0, "answer_start_mismatches": 0}
