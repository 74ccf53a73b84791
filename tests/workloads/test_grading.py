"""Free-text grading: SQuAD's normalization, exact match and token F1, and multiple choice."""

from __future__ import annotations

import pytest

from sleeptime.workloads import (
    NO_ANSWER,
    extract_span,
    grade_choice,
    grade_span,
    normalize_span,
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
