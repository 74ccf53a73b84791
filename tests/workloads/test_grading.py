"""Free-text grading: SQuAD's normalization, exact match and token F1, and multiple choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeptime import MalformedRecordError
from sleeptime.workloads import (
    NO_ANSWER,
    FieldMap,
    Grade,
    Query,
    check_answer,
    extract_span,
    grade_choice,
    grade_query,
    grade_span,
    load_workload,
    normalize_span,
    save_workload,
    span_exact,
    span_f1,
)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The  Denver Broncos.", "denver broncos"),
        ("an Apple, a day!", "apple day"),
        ("Theory of the atom", "theory of atom"),  # "the" inside a word stays: "theory"
        ("  U.S. Army ", "us army"),
        ("A", ""),
    ],
)
def test_squad_normalization(text: str, normalized: str) -> None:
    assert normalize_span(text) == normalized


def test_exact_match_and_f1_on_known_cases() -> None:
    assert span_exact("Denver Broncos.", "Denver Broncos")
    assert span_f1("Denver Broncos.", "the Denver Broncos") == 1.0
    # one token of two: precision 1, recall 1/2
    assert not span_exact("the Broncos", "Denver Broncos")
    assert span_f1("the Broncos", "Denver Broncos") == pytest.approx(2 / 3)
    # "in 1998 and 1999" vs "1998": precision 1/4, recall 1
    assert span_f1("in 1998 and 1999", "1998") == pytest.approx(0.4)
    assert span_f1("Paris", "Berlin") == 0.0
    # repeated tokens count once each (a multiset intersection)
    assert span_f1("the the cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_the_best_over_several_gold_answers() -> None:
    g = grade_span("The answer is the Broncos.", ["Denver Broncos", "Broncos", "the Denver team"])
    assert g.correct and g.score == 1.0 and g.answer == "the Broncos"
    g = grade_span("Denver", ["Denver Broncos", "the Broncos"])
    assert not g.correct and g.score == pytest.approx(2 / 3)


def test_unanswerable_questions() -> None:
    assert grade_span("The text does not say. The answer is unanswerable.", [NO_ANSWER]).correct
    assert grade_span("Answer: no answer", [NO_ANSWER]).score == 1.0
    wrong = grade_span("The answer is 1998.", [NO_ANSWER])
    assert not wrong.correct and wrong.score == 0.0
    # saying "no answer" to an answerable question scores nothing
    g = grade_span("The answer is unanswerable.", ["1998"])
    assert not g.correct and g.score == 0.0
    with pytest.raises(ValueError, match="at least one gold"):
        grade_span("x", [])


def test_extraction_takes_the_last_stated_answer() -> None:
    assert extract_span("First I think A. The answer is Paris.\n") == "Paris"
    assert extract_span('The answer is Rome. Wait: the answer is "Paris".') == "Paris"
    assert extract_span("Reasoning...\nAnswer: the 1998 season") == "the 1998 season"
    assert extract_span("Some reasoning\n\nParis\n") == "Paris"
    assert extract_span("   \n") is None
    assert grade_span("", ["Paris"]).answer is None
    # "The answer is X." ends at X's full stop, not at the end of the line; initials, titles
    # and decimals are not full stops
    assert extract_span('The answer is 4. The passage states: "Josh Norman had four."') == "4"
    assert extract_span("The answer is New England Patriots. It says so.") == "New England Patriots"
    assert extract_span("The answer is J. K. Rowling. She wrote it.") == "J. K. Rowling"
    assert extract_span("The answer is the U.S. Army. It says so.") == "the U.S. Army"
    assert extract_span("The answer is Dr. Smith.") == "Dr. Smith"
    assert extract_span("The answer is 3.5 million. That is all.") == "3.5 million"


OPTIONS = ["Paris", "Berlin", "the Rome of old", "Madrid"]


@pytest.mark.parametrize(
    "output",
    [
        "B",
        "(b)",
        "The answer is B.",
        "The answer is (B) Berlin.",
        "B) Berlin",
        "Answer: berlin",
        "B: Berlin",
    ],
)
def test_a_choice_by_letter_or_by_text(output: str) -> None:
    for gold in ("B", "Berlin"):
        g = grade_choice(output, gold, OPTIONS)
        assert g.correct and g.answer == "B" and g.score is None


@pytest.mark.parametrize("output", ["A", "The answer is Paris", "E", "Bonn", "", "A city"])
def test_a_wrong_or_unreadable_choice(output: str) -> None:
    g = grade_choice(output, "B", OPTIONS)
    assert not g.correct
    assert g.answer in {"A", None}


def test_a_choice_gold_must_name_an_option() -> None:
    assert grade_choice("Answer: Rome of old", "C", OPTIONS).correct  # text after normalization
    with pytest.raises(ValueError, match="neither an option's letter nor its text"):
        grade_choice("B", "Lisbon", OPTIONS)
    with pytest.raises(ValueError, match="0 options"):
        grade_choice("B", "B", [])


def test_native_spans_with_several_golds_and_unanswerable_round_trip(tmp_path: Path) -> None:
    records = [
        {
            "context_id": "p1", "context": "The Denver Broncos won Super Bowl 50 in 2016.",
            "queries": [
                {"query_id": "a", "question": "Who won?", "answer": ["Denver Broncos", "the Broncos"], "answer_kind": "span"},
                {"query_id": "b", "question": "Who lost?", "answer": "", "answer_kind": "span"},
                {"query_id": "c", "question": "Which year?", "answer": "B", "answer_kind": "choice",
                 "meta": {"options": ["2015", "2016", "2017"]}},
            ],
        }
    ]  # fmt: skip
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    w = load_workload(path)
    a, b, c = w.contexts[0].queries
    assert a.golds == ("Denver Broncos", "the Broncos") and b.golds == (NO_ANSWER,)
    assert grade_query("The answer is Broncos.", a) == Grade(True, 1.0, "Broncos")
    assert grade_query("Answer: unanswerable", b).correct
    assert not grade_query("The answer is the Panthers.", b).correct
    assert grade_query("The answer is (B).", c) == Grade(True, None, "B")
    assert grade_query("2016", c).correct and not grade_query("2015", c).correct
    again = load_workload(save_workload(w, tmp_path / "again.jsonl"))
    assert again.contexts == w.contexts


def test_a_csv_answer_cell_may_hold_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        'text,ask,gold\nThe Broncos won.,Who won?,"[""Denver Broncos"", ""Broncos""]"\n'
    )
    w = load_workload(path, fields=FieldMap(context="text", question="ask", answer="gold", answer_kind="span"))  # fmt: skip
    assert w.contexts[0].queries[0].golds == ("Denver Broncos", "Broncos")
    path.write_text("text,ask,gold\nThe Broncos won.,Who won?,[Denver Broncos]\n")
    with pytest.raises(
        MalformedRecordError, match=r"mine.csv:2.*looks like a JSON list but is not one"
    ):
        load_workload(path, fields=FieldMap(context="text", question="ask", answer="gold", answer_kind="span"))  # fmt: skip
    # in JSONL a string in brackets is a string
    (tmp_path / "mine.jsonl").write_text(
        json.dumps({"text": "T.", "ask": "Q?", "gold": "[sic]"}) + "\n"
    )
    w = load_workload(tmp_path / "mine.jsonl", fields=FieldMap(context="text", question="ask", answer="gold", answer_kind="span"))  # fmt: skip
    assert w.contexts[0].queries[0].golds == ("[sic]",)


@pytest.mark.parametrize(
    ("answer", "kind", "message"),
    [
        ([], "span", "is an empty list; give at least one gold answer"),
        ("", "numeric", "field 'answer' is empty"),
        ([""], "text", "field 'answer' is empty"),
        ([{"text": "x"}], "span", "must be a string, not dict"),
    ],
)
def test_bad_gold_answers_are_named(
    tmp_path: Path, answer: object, kind: str, message: str
) -> None:
    rec = {"context_id": "p1", "context": "Text.", "queries": [{"query_id": "a", "question": "Q?", "answer": answer, "answer_kind": kind}]}  # fmt: skip
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    with pytest.raises(MalformedRecordError, match=message) as err:
        load_workload(path)
    assert f"{path}:1" in str(err.value)


def test_a_choice_without_options_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="0 options"):
        grade_query("B", Query("q", "Which?", "B", "choice"))
    with pytest.raises(ValueError, match="grade_query"):
        check_answer("x", "x", "span")


def test_a_judge_query_is_not_graded_by_a_rule() -> None:
    q = Query("q", "What did Ana decide?", "to ship on Friday", "judge")
    with pytest.raises(ValueError, match="graded by an LLM judge"):
        grade_query("She decided to ship on Friday.", q)
