"""Reading the JSONL files of real runs: traces, sleep-time outputs, batch results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sleeptime.live._errors import LiveError


def jsonl_objects(text: str, path: Path, *, hint: str = "") -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-empty line of ``text`` (the file at ``path``); a line
    that is not a JSON object is an error naming the file and line, then ``hint``."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LiveError(f"{path}:{n}: not valid JSON ({exc.msg}){hint}") from None
        if not isinstance(rec, dict):
            raise LiveError(f"{path}:{n}: a record must be a JSON object{hint}")
        out.append((n, rec))
    return out
