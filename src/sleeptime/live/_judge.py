"""An LLM grader for free-text answers, and how far to trust it.

A judge reads the question, a reference answer and the answer to grade (prompt:
``prompts/judge.toml``, or a user's file with the same keys) and replies with a verdict and a
one-line reason. The reference is the gold answer where there is one; in *reference mode* it is
the answer of an allocation the user names as the most thorough one (the convention under
which LLM judges agree best with people: a reference answer in the prompt). A reply that holds
no verdict is recorded as ``unparsable``: never a crash, never a silent zero.

The judge is measured, not trusted: :func:`agreement` holds its verdicts against the gold-based
ones (accuracy, Cohen's kappa), and :func:`verdict_bias` shows whether it favours longer
answers or answers written with notes.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from sleeptime._json import AsJson
from sleeptime.live._client import ChatRequest
from sleeptime.live._errors import LiveError

#: The verdicts a judge can give; ``unparsable`` where its reply holds none.
VERDICTS = ("correct", "incorrect", "unparsable")
_VERDICT = re.compile(r"verdict[\s:=\-*]*(correct|incorrect|right|wrong|yes|no)\b", re.IGNORECASE)
_REASON = re.compile(r"reason[\s*]*[:=\-][\s*]*(.+)", re.IGNORECASE)
_WORDS = {"correct": "correct", "right": "correct", "yes": "correct", "incorrect": "incorrect", "wrong": "incorrect", "no": "incorrect"}  # fmt: skip


@dataclass(frozen=True)
class JudgePrompt:
    """The judge's prompt: ``system`` and ``user`` (with ``{question}``, ``{reference}`` and
    ``{answer}``), and where it came from."""

    system: str
    user: str
    source: str

    @classmethod
    def load(cls, source: str | Path = "judge") -> JudgePrompt:
        """The built-in prompt (``judge``) or a TOML file with ``system`` and ``user``;
        LiveError naming the file and what is missing."""
        if str(source) == "judge":
            text, where = (files("sleeptime.live") / "prompts" / "judge.toml").read_text(encoding="utf-8"), "prompts/judge.toml"  # fmt: skip
        else:
            path = Path(source)
            if not path.is_file():
                raise LiveError(
                    f"{path}: no such judge prompt file (or pass judge, the built-in one)"
                )
            text, where = path.read_text(encoding="utf-8"), str(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LiveError(f"{where}: not valid TOML: {exc}") from None
        for key in ("system", "user"):
            if not isinstance(data.get(key), str):
                raise LiveError(
                    f"{where}: {key} must be a string (a judge prompt has system and user)"
                )
        absent = [f for f in ("{question}", "{reference}", "{answer}") if f not in data["user"]]
        if absent:
            raise LiveError(f"{where}: user must contain {', '.join(absent)}")
        return cls(data["system"], data["user"], where)

    def request(self, question: str, reference: str, answer: str, *, label: str = "", max_tokens: int = 64, seed: int = 0) -> ChatRequest:  # fmt: skip
        """The judge's request for one answer: greedy, a fixed seed, ``max_tokens`` for the
        verdict and its reason."""
        user = self.user.replace("{question}", question).replace("{reference}", reference).replace("{answer}", answer)  # fmt: skip
        return ChatRequest(({"role": "system", "content": self.system}, {"role": "user", "content": user}),
                           {"max_tokens": max_tokens, "temperature": 0.0, "seed": seed}, label)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """A judge's reply read: ``verdict`` (one of :data:`VERDICTS`), ``reason`` (its one line,
    or what it said where it gave no verdict) and ``correct`` (1.0, 0.0, or None where
    unparsable)."""

    verdict: str
    reason: str

    @property
    def correct(self) -> float | None:
        """1.0 for ``correct``, 0.0 for ``incorrect``, None for ``unparsable``."""
        return {"correct": 1.0, "incorrect": 0.0}.get(self.verdict)


def gold_reference(golds: Sequence[str]) -> str:
    """What the judge is given as the reference where gold exists: every gold answer, joined
    by "or" (an empty gold: the question is unanswerable)."""
    return " or ".join(golds) or "(no answer: the question is unanswerable)"


def parse_verdict(reply: str) -> Verdict:
    """Read a judge's reply: the first ``VERDICT: correct|incorrect`` (also right/wrong,
    yes/no; any case, markdown stars ignored), else a reply whose first word is one of those;
    the ``REASON:`` line, else the rest of the reply's first lines. ``unparsable`` otherwise."""
    text = reply.strip()
    m = _VERDICT.search(text)
    word = m.group(1).lower() if m else None
    if word is None:
        first = re.match(r"\W*(\w+)", text)
        candidate = first.group(1).lower() if first else ""
        word = candidate if candidate in _WORDS else None
    reason_m = _REASON.search(text)
    reason = reason_m.group(1).strip() if reason_m else " ".join(text.splitlines()[1:3]).strip()
    if word is None:
        return Verdict("unparsable", text[:200])
    return Verdict(_WORDS[word], reason[:300])


@dataclass(frozen=True)
class Agreement(AsJson):
    """A judge against the gold-based verdicts on the same answers: ``n`` answers with both
    verdicts, ``accuracy`` (share of agreement), Cohen's ``kappa`` (agreement beyond chance;
    None where either side gave one verdict only), the judge's and the gold's rates of
    ``correct``, and ``unparsable`` (replies left out)."""

    n: int
    accuracy: float | None
    kappa: float | None
    judge_rate: float | None
    gold_rate: float | None
    unparsable: int


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa of two raters' binary labels (0/1) on the same items: ``(p_o - p_e) /
    (1 - p_e)``; None where it is undefined (no items, or chance agreement is 1)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    p_e = pa * pb + (1 - pa) * (1 - pb)
    return None if p_e >= 1 else (p_o - p_e) / (1 - p_e)


def agreement(judge: Sequence[float | None], gold: Sequence[float]) -> Agreement:
    """:class:`Agreement` of the judge's verdicts (``None``: unparsable, left out) with the
    gold-based ones on the same answers."""
    if len(judge) != len(gold):
        raise ValueError(f"{len(judge)} judge verdicts against {len(gold)} gold verdicts")
    pairs = [(int(j), int(g)) for j, g in zip(judge, gold, strict=True) if j is not None]
    n = len(pairs)
    if n == 0:
        return Agreement(0, None, None, None, None, len(judge))
    js, gs = [p[0] for p in pairs], [p[1] for p in pairs]
    return Agreement(n, sum(x == y for x, y in pairs) / n, cohen_kappa(js, gs), sum(js) / n, sum(gs) / n, len(judge) - n)  # fmt: skip


def verdict_bias(judge: Sequence[float | None], gold: Sequence[float], groups: Sequence[str]) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per group (e.g. tercile of answer length, or answers written with notes or without),
    the judge's rate of ``correct`` beside the gold's on the same answers, and its excess
    (judge minus gold): a judge that favours a group gives it more than the gold does."""
    out: dict[str, dict[str, Any]] = {}
    for g in dict.fromkeys(groups):
        idx = [i for i, x in enumerate(groups) if x == g and judge[i] is not None]
        if not idx:
            continue
        j = sum(float(judge[i] or 0.0) for i in idx) / len(idx)
        r = sum(gold[i] for i in idx) / len(idx)
        out[g] = {"n": len(idx), "judge_rate": j, "gold_rate": r, "excess": j - r}
    return out


def judge_usd(records: Sequence[Mapping[str, Any]]) -> float | None:
    """The LLM judge's USD over the records it graded (apart from the policy's); None where it
    graded none or a reply's usage was not reported."""
    usd = [r.get("judge_usd") for r in records if "judge_verdict" in r]
    return None if not usd or None in usd else float(sum(u for u in usd if u is not None))
