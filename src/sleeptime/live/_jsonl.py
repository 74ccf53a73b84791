"""Reading the JSONL files of real runs: traces, sleep-time outputs, batch results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sleeptime._json import jsonl_objects as _objects
from sleeptime.live._errors import LiveError


def jsonl_objects(text: str, path: Path, *, hint: str = "") -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-empty line of ``text`` (the file at ``path``); a line
    that is not a JSON object is an error naming the file and line, then ``hint``."""
    return _objects(text, path, error=LiveError, hint=hint)
