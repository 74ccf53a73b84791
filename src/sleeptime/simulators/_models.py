"""Actions across models: one model writes the notes at sleep time, another answers.

A :class:`MultiModelOutcome` joins one outcome model per model (each its own calibrated or
fitted curves) into one joint action space: a sleep action is (model, level), ``none`` or e.g.
``k1@gpt-4o``; a test action is (model, budget), e.g. ``level-0@gpt-4o-mini``. Everything that
enumerates actions by index (replay, tables, oracles, the learned policy) then works over the
joint space unchanged, and the replay prices each action at its own model's prices.

Notes written by one model and read by another: no figure of the paper measures it, so it is
an **assumption**, stated and configurable. In probit units, where the paper's curves are
additive, a reader ``R`` answering from notes written by ``W`` (same level, same budget rank,
same query) scores

    z(W -> R) = z(R -> R) + transfer * (z(W -> W) - z(R -> R))

where ``z(M -> M)`` is model ``M`` answering from its own notes: ``transfer = 0`` says the
notes serve a reader as its own would, whoever wrote them; ``transfer = 1`` that the reader
does as well as the writer would with them (a strong writer lifts a small reader to the
writer's own accuracy with notes; a weak writer drags a strong reader down to its). Fitted
from traces where a run crosses writers and readers (:func:`fit_transfer`). Both models share
each query's latents (one difficulty per query). The answer's output tokens are the reader's
with notes; the sleep-time tokens and the size of ``c'`` are the writer's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sleeptime._types import IntArray
from sleeptime.simulators._outcomes import (
    Outcome,
    OutcomeError,
    OutcomeModel,
    ServedQueries,
    SleepLevel,
    _phi,
    _phi_inv,
    _phi_inv_array,
)

#: What joins an action's level or budget and its model: ``k1@gpt-4o``.
MODEL_SEP = "@"
#: The default transfer share (an assumption; see the module docstring).
DEFAULT_TRANSFER = 0.5


def split_action(name: str) -> tuple[str, str | None]:
    """``"k1@gpt-4o"`` -> ``("k1", "gpt-4o")``; a name without a model -> ``(name, None)``."""
    base, sep, model = name.rpartition(MODEL_SEP)
    return (base, model) if sep and base else (name, None)


@dataclass
class MultiModelOutcome(OutcomeModel):
    """One outcome model per model, joined into (model, level) and (model, budget) actions.

    ``members``: model name (a price book entry) -> its outcome model; all must have the same
    sleep level names and computes and the same number of budgets (each action keeps its
    model's own level or budget name, with the model). ``transfer``: the share of the gap between the
    writer's accuracy with its notes and the reader's with its own that the reader closes
    with the writer's notes (the module docstring); an assumption.
    Sleep action 0 is ``none``; then each model's levels above none, model by model; test
    actions are each model's budgets, model by model.
    """

    members: Mapping[str, OutcomeModel]
    transfer: float = DEFAULT_TRANSFER
    models: tuple[str, ...] = field(init=False)
    sleep_levels: tuple[SleepLevel, ...] = field(init=False)
    budgets: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if len(self.members) < 1:
            raise OutcomeError("a multi-model outcome needs at least one model")
        if not 0.0 <= self.transfer <= 1.0:
            raise OutcomeError(f"transfer must be a share in [0, 1], got {self.transfer}")
        self.models = tuple(self.members)
        first = self.members[self.models[0]]
        base_levels = tuple((lv.name, lv.compute) for lv in first.sleep_levels)
        for name, m in self.members.items():
            if MODEL_SEP in name:
                raise OutcomeError(f"a model name may not contain {MODEL_SEP!r}: {name!r}")
            if tuple((lv.name, lv.compute) for lv in m.sleep_levels) != base_levels:
                raise OutcomeError(f"{name}'s sleep levels {[lv.name for lv in m.sleep_levels]} differ from "
                                   f"{self.models[0]}'s {[lv.name for lv in first.sleep_levels]}; the models must share them")  # fmt: skip
            if len(m.budgets) != len(first.budgets):
                raise OutcomeError(f"{name} has {len(m.budgets)} budget levels, {self.models[0]} {len(first.budgets)}; the models must share them")  # fmt: skip
        levels: list[SleepLevel] = [first.sleep_levels[0]]
        s_model, s_level = [-1], [0]
        for i, name in enumerate(self.models):
            for j, lv in enumerate(first.sleep_levels[1:], start=1):
                levels.append(SleepLevel(f"{lv.name}{MODEL_SEP}{name}", lv.compute))
                s_model.append(i)
                s_level.append(j)
        n_b = len(first.budgets)
        self.sleep_levels = tuple(levels)
        self.budgets = tuple(f"{b}{MODEL_SEP}{name}" for name in self.models for b in first.budgets)
        self.sleep_models = ("", *(self.models[i] for i in s_model[1:]))
        self.test_models = tuple(name for name in self.models for _ in range(n_b))
        self._s_model = np.asarray(s_model, dtype=np.int64)
        self._s_level = np.asarray(s_level, dtype=np.int64)
        self._b_model = np.repeat(np.arange(len(self.models)), n_b)
        self._b_level = np.tile(np.arange(n_b), len(self.models))
        self.cprime_fraction = float(first.cprime_fraction)
        self.sleep_tokens_per_unit = first.sleep_tokens_per_unit
        if all(m.tokens_test_only is not None for m in self.members.values()):
            self.tokens_test_only = np.concatenate([np.asarray(m.tokens_test_only, dtype=np.float64) for m in self.members.values()])  # fmt: skip
        if any(m.budget_params for m in self.members.values()):  # a real run's own parameters
            self.budget_params = tuple(p for m in self.members.values() for p in (m.budget_params or ({},) * n_b))  # fmt: skip

    def action_models(self, sleep_action: int, test_action: int) -> tuple[str | None, str]:
        """(the model that writes the notes, or None for no sleep-time work; the model that
        answers) of an action pair."""
        s = int(self._s_model[sleep_action])
        return (self.models[s] if s >= 0 else None), self.models[int(self._b_model[test_action])]

    def is_single_model(self, sleep_action: int, test_action: int) -> bool:
        """Whether one model does both phases (or there is no sleep-time work)."""
        writer, reader = self.action_models(sleep_action, test_action)
        return writer is None or writer == reader

    def _member(self, i: int, q: ServedQueries, sleep_level: IntArray, served: Any) -> Outcome:
        m = self.members[self.models[i]]
        return m.outcome(difficulty=q.difficulty, predictability=q.predictability, sleep_action=sleep_level,
                         test_action=self._b_level[q.test_action], served_with_sleep=served,
                         context_sleep_action=np.zeros(0, dtype=np.int64), features=q.features,
                         cprime_only=q.cprime_only)  # fmt: skip

    def _outcome(self, q: ServedQueries) -> Outcome:
        """Per query: the reader's outcome with the writer's notes under the transfer
        assumption (module docstring); per context: the writer's sleep-time tokens and ``c'``."""
        n = q.sleep_action.shape[0]
        writer = self._s_model[q.sleep_action]
        reader = self._b_model[q.test_action]
        level = self._s_level[q.sleep_action]
        served = q.served_with_sleep & (level > 0)
        p = np.empty(n)
        tokens = np.empty(n)
        for r in range(len(self.models)):
            rows = reader == r
            if not rows.any():
                continue
            own = self._member(r, q, level, served)
            p[rows], tokens[rows] = own.p_correct[rows], own.test_output_tokens[rows]
            cross = rows & served & (writer != r)
            if not cross.any():
                continue
            z_own = _phi_inv_array(own.p_correct)
            for w in np.unique(writer[cross]):
                sel = cross & (writer == w)
                z_writer = _phi_inv_array(self._member(int(w), q, level, served).p_correct)
                p[sel] = _phi(z_own[sel] + self.transfer * (z_writer[sel] - z_own[sel]))
        ctx = q.context_sleep_action
        sleep_tokens = np.zeros(ctx.shape[0])
        cprime = np.zeros(ctx.shape[0])
        ctx_writer, ctx_level = self._s_model[ctx], self._s_level[ctx]
        for w in range(len(self.models)):
            rows = ctx_writer == w
            if rows.any():
                o = self.members[self.models[w]].outcome(
                    difficulty=np.zeros(0), predictability=np.zeros(0), sleep_action=np.zeros(0, np.int64),
                    test_action=np.zeros(0, np.int64), served_with_sleep=np.zeros(0, bool),
                    context_sleep_action=ctx_level[rows],
                )  # fmt: skip
                sleep_tokens[rows], cprime[rows] = o.sleep_output_tokens, o.cprime_tokens
        return Outcome(p, tokens, sleep_tokens, cprime)

    def describe(self) -> dict[str, Any]:
        """The models, the joint actions and the transfer assumption, as JSON-able data (what
        every report of a multi-model run states)."""
        return {
            "models": list(self.models),
            "sleep_actions": [lv.name for lv in self.sleep_levels],
            "test_actions": list(self.budgets),
            "transfer": self.transfer,
            "transfer_assumption": (
                "notes written by one model and read by another: the reader closes "
                f"{self.transfer:g} of the gap between its accuracy with its own notes and the "
                "writer's with the writer's (probit units, same query, level and budget rank); "
                "an assumption, not measured by the paper"
            ),
        }


def fit_transfer(records: Iterable[Mapping[str, Any]], *, grid: Sequence[float] | None = None) -> dict[str, Any]:  # fmt: skip
    """The transfer share that best explains a real run that crosses writers and readers.

    ``records``: trace records with ``sleep_model`` (the model that wrote the notes; absent or
    empty for none), ``model`` (the one that answered), ``sleep_level``, ``budget``, ``query_id``,
    ``context_id`` and ``correct``. Per crossed (writer, reader, level, budget) cell with both
    models' own cells at that level and budget measured, the accuracies (shrunk off 0 and 1)
    give the probits of the module docstring; the share minimizing the count-weighted squared
    error of the crossed cells' probits over ``grid`` (default 0 to 1 by 0.05) is returned with
    the cells it used. Raises OutcomeError when the run has no such crossed cell.
    """
    cells: dict[tuple[str, str, str, str], list[float]] = {}
    for r in records:
        writer = str(r.get("sleep_model") or "")
        level = str(r.get("sleep_level", "none"))
        key = (
            writer if level != "none" else "",
            str(r.get("model", "")),
            level,
            str(r.get("budget", "")),
        )
        cells.setdefault(key, []).append(float(r["correct"]))
    acc = {k: (sum(v) + 0.5) / (len(v) + 1.0) for k, v in cells.items()}  # shrunk off 0 and 1
    used: list[dict[str, Any]] = []
    for (w, rd, lv, b), a in acc.items():
        if not w or w == rd or lv == "none":
            continue
        own_r, own_w = acc.get((rd, rd, lv, b)), acc.get((w, w, lv, b))
        if own_r is None or own_w is None:
            continue
        used.append({"writer": w, "reader": rd, "sleep_level": lv, "budget": b, "accuracy": a,
                     "z": _phi_inv(a), "z_reader_own": _phi_inv(own_r), "z_writer_own": _phi_inv(own_w),
                     "n": len(cells[(w, rd, lv, b)])})  # fmt: skip
    if not used:
        raise OutcomeError("the records hold no crossed (writer != reader) cell with both models' own cells at its level and "
                           "budget measured; a transfer needs all three")  # fmt: skip
    shares = list(grid) if grid is not None else [i / 20 for i in range(21)]

    def loss(t: float) -> float:
        return float(sum(c["n"] * (c["z"] - c["z_reader_own"] - t * (c["z_writer_own"] - c["z_reader_own"])) ** 2 for c in used))  # fmt: skip

    best = min(shares, key=loss)
    return {"transfer": best, "loss": loss(best), "cells": used}


__all__ = ["DEFAULT_TRANSFER", "MODEL_SEP", "MultiModelOutcome", "fit_transfer", "split_action"]
