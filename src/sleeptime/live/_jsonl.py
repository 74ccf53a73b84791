"""Reading the JSONL files of real runs: traces, sleep-time outputs, batch results."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleeptime._json import jsonl_objects as _objects
from sleeptime.live._errors import LiveError


def jsonl_objects(text: str, path: Path, *, hint: str = "") -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-empty line of ``text`` (the file at ``path``); a line
    that is not a JSON object is an error naming the file and line, then ``hint``."""
    return _objects(text, path, error=LiveError, hint=hint)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file written by :func:`collect`; a partial last line (a process
    killed while writing it) is cut off the file."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(keep)
        data = data[:keep]
    hint = "; this file was not written by sleeptime collect"
    return [rec for _, rec in jsonl_objects(data.decode("utf-8"), path, hint=hint)]


class _Appender:
    """Appends JSON lines, flushed one by one (the kernel keeps them if the process dies)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("a", encoding="utf-8")

    def write(self, record: Mapping[str, Any]) -> None:
        self.handle.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def sleep_outputs_path(traces: Path) -> Path:
    """Where the sleep-time outputs of a trace file go: ``NAME.sleep.jsonl`` beside it."""
    return traces.with_name(traces.name.removesuffix(".jsonl") + ".sleep.jsonl")
