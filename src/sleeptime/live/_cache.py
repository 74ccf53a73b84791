"""A response cache in SQLite: a rerun sends no request for an answer it already has.

The key is the SHA-256 of the canonical JSON (sorted keys, no spaces) of the endpoint (its base
URL, or the identity of the embedded server's model file), the model, the messages and every request parameter, the seed included; API keys are not
part of a request and never reach the cache. Each answer is committed when it arrives (WAL
journal), so a process killed at any moment, SIGKILL included, loses at most the answers in
flight.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def request_key(base_url: str, model: str, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> str:  # fmt: skip
    """The canonical hash of a request."""
    canonical = json.dumps({"base_url": base_url.rstrip("/"), "model": model, "messages": list(messages), "params": dict(params)},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Answers by request key, in a SQLite file (created with its folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response TEXT NOT NULL, created_s REAL NOT NULL)")  # fmt: skip

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached response of request ``key`` (:func:`request_key`), as stored; None if
        there is none."""
        row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: str, response: Mapping[str, Any]) -> None:
        """Store ``response`` (JSON-able) under request ``key``, replacing any earlier one;
        committed at once."""
        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", (key, json.dumps(dict(response)), time.time()))  # fmt: skip

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the SQLite connection; the cache cannot be used afterwards."""
        self._db.close()
