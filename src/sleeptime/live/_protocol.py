"""The protocol of a real run: prompts, sleep levels, budget levels, views, and the requests
they make.

- **Sleep time** (per context, question unknown): ``kN`` sends N rewrite requests (seeds
  ``seed``..``seed+N-1``; one request each, because an OpenAI-compatible server that returns
  ``n`` choices may count the tokens of one only, as llama.cpp's does); ``low``/``medium``/
  ``high`` send one request with that ``reasoning_effort``. The N notes are **merged** (joined,
  each marked), not filtered: before the question is known nothing can tell which note will
  hold the quantity it needs, and every note's computations may; the price is a longer ``c'``,
  which is capped at ``c_prime_max_chars`` (5,000 by default) that every later prompt carries.
- **Test time** (per query): the answer sees ``c``, ``c'`` or both (:data:`VIEWS`) and a budget
  level: a verbosity instruction 0-4 (chat models) or a ``reasoning_effort`` (reasoning models),
  capped by ``max_tokens``. Greedy (temperature 0) by default, with a fixed seed. The prompt
  puts what a context's requests share first (the system prompt, ``c``, ``c'``) and the question
  and the budget's instruction last, so that a prompt cache reads the shared prefix once.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.live._client import ChatRequest
from sleeptime.live._errors import LiveError

if TYPE_CHECKING:
    from sleeptime.workloads import Workload

VIEWS = ("c", "c_prime", "both")
#: The built-in prompt families (``sleeptime/live/prompts/NAME.toml``).
PROMPT_FAMILIES = ("gsm", "aime", "document", "code", "conversation")
PROMPT_KEYS = ("sleep_system", "sleep_user", "answer_system", "view_c", "view_c_prime", "view_both", "verbosity")  # fmt: skip
#: ``max_tokens`` of the answer at each verbosity level (chat models).
VERBOSITY_MAX_TOKENS = (32, 64, 128, 256, 512)
EFFORTS = ("low", "medium", "high")


@dataclass(frozen=True)
class Prompts:
    """The prompt texts of one family of contexts (``prompts/NAME.toml``, NAME one of
    :data:`PROMPT_FAMILIES`): word problems (``gsm``), competition problems (``aime``), and
    ``document``, ``code`` and ``conversation``, whose sleep-time notes anticipate what readers
    of that kind of context ask and whose answers end in "The answer is X." for span grading."""

    family: str
    sleep_system: str
    sleep_user: str
    answer_system: str
    view_c: str
    view_c_prime: str
    view_both: str
    verbosity: tuple[str, ...]
    source: str

    @classmethod
    def load(cls, source: str | Path = "gsm") -> Prompts:
        """A built-in family by name (:data:`PROMPT_FAMILIES`) or a TOML file with
        :data:`PROMPT_KEYS`."""
        name = str(source)
        if name in PROMPT_FAMILIES:
            text, where = (files("sleeptime.live") / "prompts" / f"{name}.toml").read_text(encoding="utf-8"), f"prompts/{name}.toml"  # fmt: skip
        else:
            path = Path(source)
            if not path.is_file():
                raise LiveError(f"{path}: no such prompts file (or pass a built-in family: {', '.join(PROMPT_FAMILIES)})")  # fmt: skip
            text, where = path.read_text(encoding="utf-8"), str(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise LiveError(f"{where}: not valid TOML: {exc}") from None
        missing = [k for k in PROMPT_KEYS if k not in data]
        if missing:
            raise LiveError(f"{where}: missing keys {missing} (a prompts file has {', '.join(PROMPT_KEYS)})")  # fmt: skip
        verbosity = data["verbosity"]
        if not isinstance(verbosity, list) or len(verbosity) != 5 or not all(isinstance(v, str) for v in verbosity):  # fmt: skip
            raise LiveError(f"{where}: verbosity must be a list of 5 instructions (levels 0-4)")
        for key in PROMPT_KEYS[:-1]:
            if not isinstance(data[key], str):
                raise LiveError(f"{where}: {key} must be a string")
        for key, fields in (("sleep_user", ("{context}",)), ("view_c", ("{context}", "{question}")),
                            ("view_c_prime", ("{c_prime}", "{question}")), ("view_both", ("{context}", "{c_prime}", "{question}"))):  # fmt: skip
            absent = [f for f in fields if f not in data[key]]
            if absent:
                raise LiveError(f"{where}: {key} must contain {', '.join(absent)}")
        return cls(str(data.get("family", name)), data["sleep_system"], data["sleep_user"], data["answer_system"],
                   data["view_c"], data["view_c_prime"], data["view_both"], tuple(verbosity), where)  # fmt: skip

    @classmethod
    def for_workload(cls, source: str | Path, workload: Workload) -> Prompts:
        """``source`` loaded (:meth:`load`), or with ``"auto"`` the workload's own family: the
        one its contexts name in ``meta["prompts"]`` (a family or a file), else ``document`` for
        SQuAD and DROP files, ``aime`` for Stateful AIME and ``gsm`` for the rest. LiveError
        where contexts name different families."""
        if str(source) != "auto":
            return cls.load(source)
        named = sorted({str(c.meta["prompts"]) for c in workload.contexts if c.meta.get("prompts")})
        if len(named) > 1:
            raise LiveError(f"{workload.source or 'the workload'}: its contexts name different prompt families ({', '.join(named)}); run them apart or pass --prompts")  # fmt: skip
        if named:
            return cls.load(named[0])
        return cls.load({"squad": "document", "drop": "document", "stateful-aime": "aime"}.get(workload.format, "gsm"))  # fmt: skip


@dataclass(frozen=True)
class SleepLevel:
    """``none``, ``kN`` (N rewrites) or an effort (``low``, ``medium``, ``high``: one rewrite
    with that ``reasoning_effort``)."""

    name: str
    rewrites: int
    reasoning_effort: str | None = None

    @classmethod
    def parse(cls, name: str) -> SleepLevel:
        """The level named ``none``, ``kN`` (N parallel rewrites, 1 to 32) or ``low``,
        ``medium``, ``high`` (one rewrite at that reasoning effort); LiveError otherwise."""
        if name == "none":
            return cls("none", 0)
        if name in EFFORTS:
            return cls(name, 1, name)
        m = re.fullmatch(r"k(\d+)", name)
        if m and 1 <= int(m.group(1)) <= 32:
            return cls(name, int(m.group(1)))
        raise LiveError(f"unknown sleep level {name!r}: use none, k1..k32 (parallel rewrites) or low, medium, high (reasoning effort)")  # fmt: skip


@dataclass(frozen=True)
class Budget:
    """A test-time budget level: a verbosity instruction (0-4) or a reasoning effort, and a
    ``max_tokens`` cap."""

    index: int
    verbosity: int | None
    max_tokens: int
    reasoning_effort: str | None = None

    @property
    def name(self) -> str:
        """The budget's name: ``b`` and its index (``b0``, ``b1``, ...)."""
        return f"b{self.index}"

    @classmethod
    def level(cls, index: int, *, reasoning: bool = False) -> Budget:
        """Budget level ``index``: verbosity 0-4 (chat models) or low/medium/high effort."""
        if reasoning:
            if not 0 <= index < len(EFFORTS):
                raise LiveError(f"budget {index}: a reasoning model has budgets 0-2 (low, medium, high effort)")  # fmt: skip
            return cls(index, None, 1024 * 2**index, EFFORTS[index])
        if not 0 <= index < len(VERBOSITY_MAX_TOKENS):
            raise LiveError(f"budget {index}: budgets are 0-4 (the verbosity levels)")
        return cls(index, index, VERBOSITY_MAX_TOKENS[index])


@dataclass(frozen=True)
class Protocol:
    """The requests of a real run."""

    prompts: Prompts
    temperature: float = 0.0
    seed: int = 0
    sleep_max_tokens: int = 384
    c_prime_max_chars: int = 5000

    def sleep_requests(self, context: str, level: SleepLevel, label: str) -> list[ChatRequest]:
        """The sleep-time requests of ``context`` at ``level``: one rewrite request per
        rewrite (none at level ``none``), seeds ``seed``, ``seed + 1``, ... so the rewrites
        differ, each capped at ``sleep_max_tokens`` output tokens."""
        p = self.prompts
        messages = ({"role": "system", "content": p.sleep_system}, {"role": "user", "content": p.sleep_user.format(context=context)})  # fmt: skip
        out = []
        for i in range(level.rewrites):
            params: dict[str, Any] = {"max_tokens": self.sleep_max_tokens, "temperature": self.temperature, "seed": self.seed + i}  # fmt: skip
            if level.reasoning_effort:
                params["reasoning_effort"] = level.reasoning_effort
            out.append(ChatRequest(messages, params, f"{label} sleep {level.name} rewrite {i + 1}/{level.rewrites}"))  # fmt: skip
        return out

    def merge(self, notes: Sequence[str]) -> str:
        """One ``c'`` from the notes of k rewrites (joined, each marked), at most
        ``c_prime_max_chars`` characters."""
        notes = [n.strip() for n in notes]
        text = notes[0] if len(notes) == 1 else "\n\n".join(f"Notes {i + 1}:\n{n}" for i, n in enumerate(notes))  # fmt: skip
        return text[: self.c_prime_max_chars]

    def answer_request(self, context: str, question: str, c_prime: str | None, budget: Budget, view: str, label: str) -> ChatRequest:  # fmt: skip
        """The test-time request of ``question`` on ``context`` under ``budget`` and ``view``
        (``c``, ``c_prime`` or ``both``; ``c_prime`` the merged notes, needed unless the view is
        ``c``): what every request of the context and view shares (``c``, ``c'``) first, its
        length in characters as ``shared_chars``, then the question and the budget's verbosity
        instruction; ``max_tokens`` and any reasoning effort from the budget. Raises
        LiveError for an unknown view or a missing ``c_prime``."""
        p = self.prompts
        if view not in VIEWS:
            raise LiveError(f"unknown view {view!r}: use {', '.join(VIEWS)}")
        if view != "c" and c_prime is None:
            raise LiveError(f"{label}: view {view} needs a sleep-time output")
        template = {"c": p.view_c, "c_prime": p.view_c_prime, "both": p.view_both}[view]
        user = template.format(context=context, c_prime=c_prime or "", question=question)
        # what every request of this context and view shares comes first (system prompt, c, c'),
        # what varies last (the question, then the budget's instruction): a prompt cache, the
        # server's or a provider's, then reads the shared prefix once
        shared = len(
            template.split("{question}", 1)[0].format(context=context, c_prime=c_prime or "")
        )
        params: dict[str, Any] = {"max_tokens": budget.max_tokens, "temperature": self.temperature, "seed": self.seed}  # fmt: skip
        if budget.reasoning_effort:
            params["reasoning_effort"] = budget.reasoning_effort
        if budget.verbosity is not None:
            user = f"{user}\n\n{p.verbosity[budget.verbosity]}"
        return ChatRequest(({"role": "system", "content": p.answer_system}, {"role": "user", "content": user}), params, label, shared)  # fmt: skip


def sleep_output_id(context_id: str, level: str, text: str) -> str:
    """A stable id of a sleep-time output: its context, level and a hash of its text."""
    return f"{context_id}:{level}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"
