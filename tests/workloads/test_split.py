from __future__ import annotations

import json
import re
from pathlib import Path

from sleeptime.workloads import sentences, split_problem


def test_decimals_and_abbreviations_do_not_split() -> None:
    text = "Dr. Lee pays $0.75 for 2.5 kg. Mrs. Ito pays $1.20. How much more does Mrs. Ito pay?"
    assert sentences(text) == [
        "Dr. Lee pays $0.75 for 2.5 kg.",
        "Mrs. Ito pays $1.20.",
        "How much more does Mrs. Ito pay?",
    ]


def test_question_is_the_interrogative_sentence() -> None:
    split = split_problem("Ann has 3 apples. She buys 2 more. How many apples does she have now?")
    assert split.context == "Ann has 3 apples. She buys 2 more."
    assert split.question == "How many apples does she have now?"
    assert split.rule == "interrogative" and not split.is_fallback


def test_clause_after_the_question_stays_with_it() -> None:
    split = split_problem("Ann has 3 apples. How many does she have? She found 2 more on the way.")
    assert split.context == "Ann has 3 apples."
    assert "She found 2 more" in split.question and split.question.endswith("?")
    assert split.rule == "interrogative_with_trailing"


def test_fallbacks_are_named() -> None:
    split = split_problem("A room has 4 beds. Calculate the number of free beds after a day.")
    assert (split.rule, split.is_fallback) == ("asking_word", True)
    assert split.question.startswith("Calculate")
    split = split_problem("If Ann has 3 apples and eats one, how many are left?")
    assert split.rule == "comma"
    assert split.context == "If Ann has 3 apples and eats one,"
    assert split.question == "how many are left?"


def test_gsm_p2_split_quality(gsm_p2: Path) -> None:
    records = [json.loads(line) for line in gsm_p2.read_text().splitlines()]
    splits = [split_problem(r["question"]) for r in records]
    assert all(s.context for s in splits)
    ends_with_q = sum(s.question.endswith("?") for s in splits) / len(splits)
    assert ends_with_q >= 0.97
    for record, s in zip(records, splits, strict=True):
        # a decimal broken by the split would leave "0." at the end of one part
        assert not (re.search(r"\d\.$", s.context) and re.match(r"\d", s.question))
        for part in (s.context, s.question):
            assert not re.search(r"\d\. \d", part) or re.search(r"\d\. \d", record["question"])
        # nothing is lost: every word of the problem is in context or question
        assert sorted((s.context + " " + s.question).split()) == sorted(record["question"].split())
