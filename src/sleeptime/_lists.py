"""Comma-separated lists, as options and spec keys write them: ``"none, k1,,k2"`` ->
``("none", "k1", "k2")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
def comma_list(text: str) -> tuple[str, ...]: ...
@overload
def comma_list(text: str, cast: Callable[[str], T]) -> tuple[T, ...]: ...
def comma_list(text: str, cast: Callable[[str], Any] = str) -> tuple[Any, ...]:
    """The non-empty items of ``text`` split at commas, stripped, each passed through ``cast``
    (whose ValueError propagates)."""
    return tuple(cast(x.strip()) for x in text.split(",") if x.strip())
