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
