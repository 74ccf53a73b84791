"""The judge's prompt, its verdicts read from free text, and its agreement with gold."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from sleeptime.live import (
    JudgePrompt,
    LiveError,
    Verdict,
    agreement,
    cohen_kappa,
    parse_verdict,
    verdict_bias,
)


@pytest.mark.parametrize(
    ("reply", "verdict", "reason"),
    [
        ("VERDICT: correct\nREASON: same team.", "correct", "same team."),
        ("verdict: Incorrect\nreason: it names the loser", "incorrect", "it names the loser"),
        ("**Verdict:** **correct**\n**Reason:** matches", "correct", "matches"),
        ("Correct. The answer names the Broncos.", "correct", ""),
        ("No, it gives 1998 instead of 1999.", "incorrect", ""),
        ("VERDICT - wrong\nREASON - off by one", "incorrect", "off by one"),
    ],
)
def test_verdicts_are_read_from_free_text(reply: str, verdict: str, reason: str) -> None:
    v = parse_verdict(reply)
    assert v.verdict == verdict and v.reason == reason
    assert v.correct == (1.0 if verdict == "correct" else 0.0)


@pytest.mark.parametrize(
    "reply",
    ["", "I think the answer might be fine?", "Maybe.\nHard to say", "The correct answer is 5"],
)
def test_a_reply_without_a_verdict_is_unparsable_not_zero(reply: str) -> None:
    v = parse_verdict(reply)
    assert v == Verdict("unparsable", reply.strip()[:200]) and v.correct is None


def test_kappa_matches_scikit_learn_and_its_edge_cases() -> None:
    a = [1, 1, 0, 0, 1, 0, 1, 1, 0, 1]
    b = [1, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert cohen_kappa([1, 1], [1, 1]) is None  # chance agreement is 1: undefined
    assert cohen_kappa([], []) is None


def test_agreement_leaves_unparsable_replies_out_and_counts_them() -> None:
    judge = [1.0, 0.0, None, 1.0, 1.0]
    gold = [1.0, 0.0, 1.0, 0.0, 1.0]
    ag = agreement(judge, gold)
    assert (ag.n, ag.unparsable, ag.accuracy) == (4, 1, 0.75)
    assert ag.kappa == pytest.approx(cohen_kappa_score([1, 0, 1, 1], [1, 0, 0, 1]))
    assert (ag.judge_rate, ag.gold_rate) == (0.75, 0.5)
    assert agreement([None], [1.0]).n == 0
    with pytest.raises(ValueError, match="2 judge verdicts against 1"):
        agreement([1.0, 0.0], [1.0])


def test_bias_shows_a_judge_that_favours_long_answers() -> None:
    judge = [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    gold = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    groups = ["long", "long", "long", "short", "short", "short"]
    bias = verdict_bias(judge, gold, groups)
    assert bias["long"]["excess"] == pytest.approx(1 / 3) and bias["short"]["excess"] == 0.0


def test_the_judge_prompt_loads_and_fills_its_request(tmp_path: Path) -> None:
    p = JudgePrompt.load()
    req = p.request("Who won?", "Denver Broncos", "the Broncos", label="q1")
    assert req.messages[0]["content"] == p.system and "VERDICT: correct" in p.system
    assert (
        req.messages[1]["content"]
        == "Question: Who won?\n\nReference answer: Denver Broncos\n\nAnswer to grade: the Broncos"
    )
    assert req.params == {"max_tokens": 64, "temperature": 0.0, "seed": 0} and req.label == "q1"
    bad = tmp_path / "judge.toml"
    bad.write_text('system = "s"\nuser = "{question} {answer}"\n')
    with pytest.raises(LiveError, match=r"judge.toml: user must contain \{reference\}"):
        JudgePrompt.load(bad)
    bad.write_text('system = "s"\n')
    with pytest.raises(LiveError, match="user must be a string"):
        JudgePrompt.load(bad)
    with pytest.raises(LiveError, match="no such judge prompt file"):
        JudgePrompt.load(tmp_path / "absent.toml")
