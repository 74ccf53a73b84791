from __future__ import annotations

import pytest

from sleeptime.workloads import check_answer, extract_answer, parse_number


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("45", "45.0"),
        ("45.0", "45"),
        ("$45", "45"),
        ("1,000", "1000"),
        ("The answer is $1,250.50.", "1250.5"),
        ("#### 32.5", "32.5"),
        ("so she pays 12 dollars\n#### $12", "12"),
        ("25%", "25"),
        ("\\boxed{7}", "7"),
        ("-3.25", "-3.25"),
        ("3/4", "0.75"),
    ],
)
def test_numeric_answers_compare_as_numbers(predicted: str, gold: str) -> None:
    assert check_answer(predicted, gold)


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [("44", "45"), ("45.1", "45"), ("no number here", "45"), ("", "45"), ("1,00", "100")],
)
def test_numeric_mismatches(predicted: str, gold: str) -> None:
    assert not check_answer(predicted, gold)


def test_paper_string_match_case_is_fixed() -> None:
    # The paper's exact string match scores "45" against "45.0" as wrong (so does a string
    # match here, kind="text"); the numeric check scores it right, and still tells 45 from 45.1
    assert not check_answer("45", "45.0", kind="text")
    assert check_answer("45", "45.0") and check_answer("#### 45", "45.0")
    assert not check_answer("45", "45.1")


def test_integer_answers_take_last_boxed_else_last_integer() -> None:
    assert check_answer("first \\boxed{12} then \\boxed{204}", "204", kind="integer")
    assert not check_answer("first \\boxed{204} then \\boxed{12}", "204", kind="integer")
    assert check_answer("we get 17 and finally 33", "33", kind="integer")
    assert check_answer("\\boxed{\\frac{1}{2}} no; \\boxed{033}", "33", kind="integer")
    assert not check_answer("\\boxed{33.5}", "33", kind="integer")


def test_extract_prefers_hashes_then_boxed_then_last_number() -> None:
    assert extract_answer("5 then 6 #### 7") == "7"
    assert extract_answer("5 then \\boxed{6} and 9") == "6"
    assert extract_answer("5 then 6 and 9") == "9"
    assert extract_answer("nothing") is None


def test_parse_number_rejects_non_numbers() -> None:
    assert parse_number("abc") is None
    assert parse_number("nan") is None
    assert parse_number("inf") is None
    assert parse_number("1,000,000") == 1_000_000


def test_text_kind_and_bad_kind() -> None:
    assert check_answer("  Paris ", "paris", kind="text")
    with pytest.raises(ValueError, match="answer kind"):
        check_answer("1", "1", kind="float")
