"""The kinds of experiment a spec can name (``kind = "..."``), registered by their runners.

A runner registers itself with :func:`experiment_kind`; this module imports no runner, so the
spec validator and the run read :data:`KINDS` without importing what runs. The package imports
every runner once, which fills the registry in the order the kinds are listed to users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

Runner = TypeVar("Runner", bound=Callable[..., Any])


@dataclass(frozen=True)
class ExperimentKind:
    """A kind of experiment: its runner (``RunContext -> RunOutput``), its steps (the progress
    bar's, ``ExperimentSpec -> tuple[str, ...]``) and a one-line summary."""

    name: str
    run: Callable[[Any], Any]
    steps: Callable[[Any], tuple[str, ...]]
    summary: str


_KINDS: dict[str, ExperimentKind] = {}

#: Every registered kind, by name, in registration order.
KINDS: Mapping[str, ExperimentKind] = MappingProxyType(_KINDS)


def experiment_kind(
    name: str, *, steps: Callable[[Any], tuple[str, ...]], summary: str
) -> Callable[[Runner], Runner]:
    """Register the decorated runner as the experiment kind ``name``."""

    def register(run: Runner) -> Runner:
        if name in _KINDS:
            raise ValueError(f"the experiment kind {name!r} is registered twice")
        _KINDS[name] = ExperimentKind(name, run, steps, summary)
        return run

    return register
