"""Answer extraction and checking: numbers compare as numbers, AIME answers as integers."""

from __future__ import annotations

import math
import re
from fractions import Fraction

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_BOXED = re.compile(r"\\boxed\s*\{")


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, braces balanced; None if there is none."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None


def parse_number(text: str) -> float | None:
    """Read one number written the way people write answers.

    ``45``, ``45.0``, ``$45``, ``1,000``, ``25%``, ``3/4`` and ``-2.5`` all parse; anything
    else gives None. A percent sign is dropped (``25%`` is 25), as GSM answers are written.
    """
    cleaned = text.strip().strip(".").replace("$", "").replace("%", "").replace(" ", "")
    cleaned = cleaned.replace("\\$", "").replace("\\%", "").replace("{,}", "")
    if not cleaned:
        return None
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        if re.fullmatch(r"-?\d+/\d+", cleaned):
            return float(Fraction(cleaned))
        value = float(cleaned)
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def extract_answer(text: str, kind: str = "numeric") -> str | None:
    """The final answer in a model's output, as a string; None if there is none.

    Order of preference: the text after the last ``####`` (GSM style), the last ``\\boxed{}``,
    then the last number in the text. For ``kind="integer"`` (AIME) only the last two apply.
    For ``kind="text"`` the stripped text itself is the answer.
    """
    if kind == "text":
        return text.strip() or None
    if kind == "numeric" and "####" in text:
        tail = text.rsplit("####", 1)[1].strip()
        if tail:
            return tail.splitlines()[0].strip()
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def check_answer(predicted: str, gold: str, kind: str = "numeric") -> bool:
    """True when ``predicted`` (a model's output or a bare answer) matches ``gold``.

    - ``numeric``: both are read as numbers (:func:`parse_number`) and compared with a relative
      tolerance of 1e-6, so ``45`` matches ``45.0``, ``$45`` and ``45.00``; ``1,000`` matches ``1000``.
    - ``integer``: the last ``\\boxed{}`` or else the last integer of ``predicted`` must equal
      ``gold`` as an integer (AIME).
    - ``text``: case- and whitespace-insensitive string equality.
    """
    if kind not in ("numeric", "integer", "text"):
        raise ValueError(f"answer kind must be 'numeric', 'integer' or 'text', not {kind!r} (spans and choices: grade_query)")  # fmt: skip
    if kind == "text":
        return " ".join(predicted.split()).lower() == " ".join(gold.split()).lower()
    answer = extract_answer(predicted, kind)
    if answer is None:
        return False
    got = parse_number(answer)
    if got is None:
        # e.g. "\boxed{x = 45}": fall back to the last number inside what was extracted
        numbers = _NUMBER.findall(answer)
        got = parse_number(numbers[-1]) if numbers else None
    want = parse_number(gold)
    if got is None or want is None:
        return False
    if kind == "integer":
        return float(got).is_integer() and float(want).is_integer() and int(got) == int(want)
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
