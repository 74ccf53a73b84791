"""Strict JSON: what sleeptime prints with ``--json`` and writes as results.

JSON has no NaN or infinity (``json.dumps`` would write the tokens ``NaN`` and ``Infinity``,
which strict parsers such as ``jq`` and browsers reject): a value that does not exist, such as
the cost at an accuracy a policy never reaches, is ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def jsonable(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None, numpy scalars and arrays as Python values,
    tuples as lists and objects with a ``to_json()`` method as its result."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return jsonable(to_json())
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return jsonable(tolist())
    return str(obj)


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (see :func:`jsonable`)."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def jsonl_objects(text: str, path: Any, *, error: type[Exception] = ValueError, hint: str = "", what: str = "a record") -> list[tuple[int, dict[str, Any]]]:  # fmt: skip
    """(line number, object) of every non-empty line of ``text`` (the file at ``path``); a line
    that is not a JSON object raises ``error`` naming the file and line, then ``hint``."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{n}: not valid JSON ({exc.msg}){hint}") from None
        if not isinstance(rec, dict):
            raise error(f"{path}:{n}: {what} must be a JSON object{hint}")
        out.append((n, rec))
    return out


class AsJson:
    """A dataclass whose JSON is its fields (``dataclasses.asdict``, a path as its string): mix
    it in, and ``to_json()`` is there."""

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the fields, as ``--json`` prints them."""
        import dataclasses
        from pathlib import PurePath

        fields: dict[str, Any] = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: str(v) if isinstance(v, PurePath) else v for k, v in fields.items()}
