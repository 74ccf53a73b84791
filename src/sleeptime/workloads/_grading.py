"""Grading free-text answers: spans the way SQuAD scores them, and multiple choice.

``span``: the official SQuAD normalization (lower case; punctuation removed; the articles a, an
and the removed; whitespace collapsed), then exact match and token F1, each the best over all
gold answers. An empty gold (:data:`NO_ANSWER`) marks an unanswerable question (SQuAD 2.0): an
answer that says there is none ("unanswerable", "no answer", ...) scores 1 on it, anything else
0. ``choice``: the gold is an option's letter (``A``, ``B``, ...) or its text; the answer may
give either.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sleeptime.workloads._answers import check_answer, extract_answer
from sleeptime.workloads._types import Query

#: The gold answer of an unanswerable question.
NO_ANSWER = ""

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)
#: What a model writes when the text does not say (normalized); graded as :data:`NO_ANSWER`.
_NO_ANSWER_PHRASES = frozenset(
    {"", "unanswerable", "no answer", "none", "not stated", "not given", "not mentioned",
     "unknown", "cannot be answered", "cannot answer", "text does not say", "not in text"}
)  # fmt: skip
_FINAL = re.compile(r"(?:the\s+(?:final\s+)?answer\s+is|answer\s*:)\s*", re.IGNORECASE)
#: A full stop that ends a sentence: followed by a space and a capital letter or a quote, and
#: not after an initial (``J. K.``, ``U.S.``) or a title (``Dr.``, ``St.``).
_SENTENCE_END = re.compile(
    r"(?<!\b[A-Za-z])(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bSt)(?<!\bJr)(?<!\bSr)(?<!\bNo)(?<!\bvs)(?<!\bMrs)\.\s+(?=[A-Z\"“'(])"
)
_PAREN_LETTER = re.compile(r"^\(([A-Za-z])\)")
_LETTER = re.compile(r"^([A-Z])(?:[.):]|$)")


def normalize_span(text: str) -> str:
    """SQuAD's answer normalization: lower case, punctuation removed, articles removed,
    whitespace collapsed (in that order, as the official script does)."""
    lowered = text.lower()
    no_punct = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punct).split())


def _is_no_answer(normalized: str) -> bool:
    return normalized in _NO_ANSWER_PHRASES


def span_f1(predicted: str, gold: str) -> float:
    """Token F1 of two answers after :func:`normalize_span` (SQuAD 2.0's rule: where either is
    empty, 1 if both are, else 0). An answer saying there is none counts as empty."""
    pred = normalize_span(predicted)
    want = normalize_span(gold)
    p_tokens = [] if _is_no_answer(pred) else pred.split()
    g_tokens = [] if _is_no_answer(want) else want.split()
    if not p_tokens or not g_tokens:
        return float(p_tokens == g_tokens)
    same = sum((Counter(p_tokens) & Counter(g_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(p_tokens)
    recall = same / len(g_tokens)
    return 2 * precision * recall / (precision + recall)


def span_exact(predicted: str, gold: str) -> bool:
    """Exact match after :func:`normalize_span` (an answer saying there is none matches an
    empty gold)."""
    pred, want = normalize_span(predicted), normalize_span(gold)
    if _is_no_answer(want) or _is_no_answer(pred):
        return _is_no_answer(want) and _is_no_answer(pred)
    return pred == want


def extract_span(text: str) -> str | None:
    """The final answer in a model's free-text output: what follows the last "The answer is"
    or "Answer:" up to the end of its sentence, else the last non-empty line; trailing period
    and quotes dropped. None for an empty output."""
    matches = list(_FINAL.finditer(text))
    if matches:
        tail = text[matches[-1].end() :].strip()
        answer = tail.splitlines()[0] if tail else ""
        # "The answer is X." ends at X's full stop: what follows is an explanation, not X
        answer = _SENTENCE_END.split(answer, maxsplit=1)[0]
    else:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return None
        answer = lines[-1]
    return answer.strip().rstrip(".").strip("\"'“”*").rstrip(".").strip()


def choice_letter(answer: str, options: Sequence[str]) -> str | None:
    """The option ``answer`` picks, as an upper-case letter: a leading letter in parentheses
    (``(b)``, ``(B) Paris``), or a capital letter alone or before ``.``, ``)`` or ``:`` (``B``,
    ``B. Paris``), within the options; else an option's whole text (after
    :func:`normalize_span`). None if it picks none."""
    text = answer.strip()
    m = _PAREN_LETTER.match(text) or _LETTER.match(text)
    if m:
        letter = m.group(1).upper()
        if ord(letter) - ord("A") < len(options):
            return letter
    wanted = normalize_span(text)
    for i, option in enumerate(options):
        if wanted and normalize_span(option) == wanted:
            return chr(ord("A") + i)
    return None


@dataclass(frozen=True)
class Grade:
    """One answer graded: ``correct`` (the 0/1 verdict), ``score`` (token F1 for spans, else
    None) and ``answer`` (what was read from the output; None where nothing was)."""

    correct: bool
    score: float | None
    answer: str | None


def grade_span(output: str, golds: Sequence[str]) -> Grade:
    """Exact match and token F1 of the answer in ``output`` against ``golds``, each the best
    over the golds (an empty gold: unanswerable). ValueError if ``golds`` is empty."""
    if not golds:
        raise ValueError("a span answer needs at least one gold answer (an empty string: unanswerable)")  # fmt: skip
    answer = extract_span(output)
    if answer is None:
        return Grade(False, 0.0, None)
    return Grade(any(span_exact(answer, g) for g in golds), max(span_f1(answer, g) for g in golds), answer)  # fmt: skip


def grade_choice(output: str, gold: str, options: Sequence[str]) -> Grade:
    """Whether the answer in ``output`` picks the gold option (``gold`` a letter or an
    option's text). ValueError if the gold is neither."""
    want = choice_letter(gold, options)
    if want is None:
        raise ValueError(f"the gold answer {gold!r} is neither an option's letter nor its text ({len(options)} options)")  # fmt: skip
    answer = extract_span(output)
    got = choice_letter(answer, options) if answer is not None else None
    return Grade(got == want, None, got)


def grade_query(output: str, query: Query) -> Grade:
    """Grade a model's ``output`` against ``query``'s gold by its ``answer_kind``: numbers,
    AIME integers and whole strings with :func:`check_answer` (no score); spans with
    :func:`grade_span` over all its gold answers; choices with :func:`grade_choice` over its
    ``meta["options"]``. ValueError for an unknown kind, a choice without options, or a
    ``judge`` query (an LLM judge grades it: :func:`sleeptime.live.collect` asks one)."""
    kind = query.answer_kind
    if kind == "judge":
        raise ValueError(f"query {query.query_id!r} is graded by an LLM judge (answer kind 'judge'), not by a rule: collect it with sleeptime collect, which asks the judge")  # fmt: skip
    if kind == "span":
        return grade_span(output, query.golds)
    if kind == "choice":
        return grade_choice(output, query.answer, tuple(query.meta.get("options") or ()))
    return Grade(check_answer(output, query.answer, kind), None, extract_answer(output, kind))
