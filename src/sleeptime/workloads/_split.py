"""Split a word problem into a context (what is known) and a question (what is asked).

The paper split GSM-Symbolic problems on '.', taking the last sentence as the question; that
breaks decimals (``$0.7`` became ``$0. 7``) and sometimes picks a statement instead of the
question. This splitter segments sentences without breaking decimals or abbreviations, takes
the interrogative sentence as the question, and keeps any sentence that follows the question
with it (placed before the interrogative sentence, so that the question text ends with its
question mark and the facts it adds are still read first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Tokens that end with a period without ending a sentence (compared case-insensitively).
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "mt", "vs", "etc", "e.g", "i.e",
        "approx", "no", "inc", "ltd", "co", "corp", "a.m", "p.m", "u.s", "fig", "ave",
    }
)  # fmt: skip

#: Words that open a question or an instruction to compute (for problems with no '?').
ASKING_WORDS = (
    "how", "what", "which", "who", "whom", "whose", "when", "where", "why", "is", "are",
    "do", "does", "did", "can", "will", "calculate", "find", "determine", "compute",
    "estimate", "work out", "figure out", "give", "express", "round",
)  # fmt: skip

#: Split rules, in the order they are tried. All but the first two are fallbacks.
RULES = ("interrogative", "interrogative_with_trailing", "asking_word", "comma", "last_sentence")

_BOUNDARY = re.compile(r"([.!?])([\"')\]]*)(\s+)(?=[\"'(\[$A-Z0-9])")
_ASKING = re.compile(
    r"^[\"'(]*(" + "|".join(re.escape(w) for w in ASKING_WORDS) + r")\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Split:
    """The result of splitting one problem. ``rule`` is one of :data:`RULES`."""

    context: str
    question: str
    rule: str

    @property
    def is_fallback(self) -> bool:
        """Whether a fallback rule split it (not one of the two interrogative rules)."""
        return self.rule not in ("interrogative", "interrogative_with_trailing")


def sentences(text: str) -> list[str]:
    """Segment ``text`` into sentences; decimals and abbreviations never end a sentence."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(1) == ".":
            word = re.search(r"(\S+)$", text[start : m.start()])
            token = word.group(1).lower().lstrip("\"'(") if word else ""
            if token in ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
                continue  # "Dr. Smith", "e.g. 5", a middle initial "J. Smith"
        end = m.end(2)
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _is_question(sentence: str) -> bool:
    return sentence.rstrip("\"')] ").endswith("?")


def split_problem(text: str) -> Split:
    """Split ``text`` into context and question; both are non-empty when ``text`` has two parts.

    Rules, in order: the last sentence ending in '?' (``interrogative``; sentences after it
    go with the question, ``interrogative_with_trailing``); else the last sentence opening with
    an asking word such as *Calculate* or *Find* (``asking_word``); where the question is the
    whole text, a cut before its asking clause (``comma``); else the last sentence
    (``last_sentence``).
    """
    parts = sentences(text)
    if not parts:
        return Split("", "", "last_sentence")
    asked = [i for i, s in enumerate(parts) if _is_question(s)]
    if asked:
        i = asked[-1]
        rule = "interrogative" if i == len(parts) - 1 else "interrogative_with_trailing"
    else:
        opening = [i for i, s in enumerate(parts) if _ASKING.match(s)]
        i, rule = (opening[-1], "asking_word") if opening else (len(parts) - 1, "last_sentence")
    context = " ".join(parts[:i])
    question = " ".join([*parts[i + 1 :], parts[i]])
    if not context:
        cut = _comma_cut(parts[i])
        if cut is not None:
            context, head = cut
            question = " ".join([*parts[i + 1 :], head])
            rule = "comma"
    return Split(context, question, rule)


def _comma_cut(sentence: str) -> tuple[str, str] | None:
    """``"If X, how many ...?"`` -> (``"If X,"``, ``"how many ...?"``); None if no such cut."""
    for m in reversed(list(re.finditer(r",\s+", sentence))):
        head = sentence[m.end() :]
        if _ASKING.match(head):
            return sentence[: m.start() + 1], head
    return None
