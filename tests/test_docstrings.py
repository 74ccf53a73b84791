"""Every public name has a docstring: each class and function in a part's ``__all__`` (the
``Name(field, ...)`` signature a dataclass gets when it has none does not count), and each public
method and property of the public classes defined in sleeptime.

``integrations`` has no ``__all__``: its public modules (one per router) are its interface, and
each is checked where the router package it needs is installed."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
import os
import pkgutil
from types import ModuleType

import pytest

PARTS = (
    "workloads",
    "estimators",
    "simulators",
    "policy",
    "runtime",
    "live",
    "integrations",
    "experiments",
    "tracking",
    "reporting",
)
#: The package each integration module needs (the others need nothing beyond sleeptime's own).
INTEGRATION_NEEDS = {"litellm_hook": "litellm", "mlflow_model": "mlflow"}


def _has_doc(obj: object) -> bool:
    doc = getattr(obj, "__doc__", None) or ""
    if inspect.isclass(obj) and doc.startswith(obj.__name__ + "("):
        return False  # the signature dataclasses write where a class has no docstring
    return bool(doc.strip())


def _undocumented(name: str, obj: object) -> list[str]:
    """``name`` and ``name.member`` for what lacks a docstring: the class or function itself,
    and the public methods and properties a sleeptime class defines (inherited ones are checked
    where they are defined)."""
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return []
    missing = [] if _has_doc(obj) else [name]
    if inspect.isclass(obj) and obj.__module__.startswith("sleeptime"):
        for member, value in vars(obj).items():
            if member.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                value = value.fget
            elif isinstance(value, functools.cached_property):
                value = value.func
            elif not inspect.isfunction(value):
                continue  # a field, a constant or a nested class
            if not _has_doc(value):
                missing.append(f"{name}.{member}")
    return missing


def _integration_modules() -> list[ModuleType]:
    """The public modules of ``sleeptime.integrations`` whose router package is installed."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of litellm's cost map
    package = importlib.import_module("sleeptime.integrations")
    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        needs = INTEGRATION_NEEDS.get(info.name)
        if info.name.startswith("_"):
            continue
        if needs and importlib.util.find_spec(needs) is None:
            message = f"{needs} is not installed: sleeptime.integrations.{info.name} needs it (pip install -e '.[dev]')"  # fmt: skip
            if os.environ.get("CI"):  # a required part, as elsewhere: missing under CI fails
                pytest.fail(message)
            continue
        modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules


def _public_names(part: str) -> dict[str, object]:
    """The names ``sleeptime.<part>`` offers: its ``__all__``, or for ``integrations`` the
    public classes and functions each of its modules defines."""
    module = importlib.import_module(f"sleeptime.{part}")
    if part == "integrations":
        return {
            f"{m.__name__.rpartition('.')[2]}.{n}": obj
            for m in _integration_modules()
            for n, obj in vars(m).items()
            if not n.startswith("_") and getattr(obj, "__module__", None) == m.__name__
        }
    return {n: getattr(module, n) for n in module.__all__}


@pytest.mark.parametrize("part", PARTS)
def test_every_public_name_has_a_docstring(part: str) -> None:
    names = _public_names(part)
    if not names:
        pytest.skip(f"sleeptime.{part}: nothing public here (its router packages are missing)")
    missing = [m for name, obj in names.items() for m in _undocumented(name, obj)]
    assert not missing, f"sleeptime.{part}: {len(missing)} without a docstring:\n" + "\n".join(
        missing
    )


def test_the_check_sees_what_is_missing() -> None:
    @dataclasses.dataclass
    class Bare:
        size: int

        @property
        def double(self) -> int:
            return 2 * self.size

        def grow(self) -> None:
            """Documented."""

    Bare.__module__ = "sleeptime.example"  # checked as a class of the package
    assert _undocumented("Bare", Bare) == ["Bare", "Bare.double"]
    assert _undocumented("len", len) == []  # a builtin is not ours to check
