"""The decision log: every decision a router makes, with the probability it had of making it.

One row per decision, JSON Lines (standard library) or Parquet (``.parquet``; needs pyarrow),
appended as decisions are made and flushed per row (JSONL) or per ``batch_rows`` (Parquet).
The fields, schema ``sleeptime.decision/1``:

========================  ==========================================================================
``schema``                ``"sleeptime.decision/1"``
``request_id``            unique per decision; outcomes join on it
``time``                  seconds since the epoch
``kind``                  ``"sleep"`` (a context's sleep-time work) or ``"test"`` (a query's answer)
``context_id``            the context; the unit of every estimate
``query_id``              the query (test rows; empty for sleep rows)
``action``                the action taken: a sleep level or a budget (``NAME@MODEL`` across models)
``greedy``                the policy's own action (``action`` unless it explored)
``propensity``            the probability the router had of taking ``action``, in (0, 1]
``n_actions``             how many actions it chose among
``epsilon``               the exploration rate (0: none)
``model``                 the model the action runs on (empty: none)
``sleep_level``           test rows: the level decided for the context; sleep rows: ``action``
``c_prime_ready``         test rows: whether the context's ``c'`` existed when it was decided
``tokens``                prompt tokens (test rows) or context tokens (sleep rows) it priced
``expected_queries``      sleep rows: the queries the context was expected to get
``policy_id``             the artifact's digest (``sha256:...``, its first 16 hex digits)
``features``              the numeric features the router had, name to value (Parquet: ``f.NAME``)
========================  ==========================================================================

Outcomes come later, in any file of rows ``{"request_id", "reward", "usd"}`` (``reward`` in
[0, 1], e.g. a grader's verdict or a user's thumbs; ``usd`` the request's cost).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sleeptime.runtime._errors import DecisionError

#: the schema every row names
LOG_SCHEMA = "sleeptime.decision/1"
#: the columns of a row, in order
LOG_FIELDS = ("schema", "request_id", "time", "kind", "context_id", "query_id", "action", "greedy", "propensity",
              "n_actions", "epsilon", "model", "sleep_level", "c_prime_ready", "tokens", "expected_queries",
              "policy_id", "features")  # fmt: skip


def policy_id(artifact: Mapping[str, Any]) -> str:
    """A policy's version in a log: the digest of its artifact's canonical JSON."""
    text = json.dumps(artifact, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


class DecisionLog:
    """Append decisions to ``path`` (``.jsonl`` or ``.parquet``); close it (or use ``with``)
    to write the last Parquet batch. An existing JSONL file is appended to."""

    def __init__(self, path: str | Path, *, batch_rows: int = 10_000, features: Sequence[str] = ()) -> None:  # fmt: skip
        self.path = Path(path)
        #: Parquet's feature columns (``f.NAME``): these and those of the first batch written;
        #: a later row's other features are an error (pass ``RuntimePolicy.logged_features``)
        self.features = tuple(features)
        self.parquet = self.path.suffix == ".parquet"
        if not self.parquet and self.path.suffix not in (".jsonl", ".json"):
            raise DecisionError(f"{self.path}: a decision log is .jsonl or .parquet")
        self.batch_rows = batch_rows
        self.rows = 0
        self._pending: list[dict[str, Any]] = []
        self._writer: Any = None
        self._file = None if self.parquet else self.path.open("a", encoding="utf-8")

    def new_request_id(self) -> str:
        """A fresh request id (for callers that have none of their own)."""
        return uuid.uuid4().hex

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one decision (the fields above; ``schema`` and ``time`` filled in)."""
        full = {f: row.get(f) for f in LOG_FIELDS}
        full["schema"], full["time"] = LOG_SCHEMA, row.get("time", time.time())
        if not isinstance(full["request_id"], str) or not full["request_id"]:
            raise DecisionError(f"{self.path}: a logged decision needs a request_id (got {full['request_id']!r})")  # fmt: skip
        self.rows += 1
        if self._file is not None:
            self._file.write(json.dumps(full, allow_nan=False) + "\n")
            self._file.flush()
            return
        self._pending.append(full)
        if len(self._pending) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        import pyarrow as pa  # only Parquet needs it
        import pyarrow.parquet as pq

        rows, self._pending = self._pending, []
        names = {k for r in rows for k in (r["features"] or {})}
        if self._writer is None:
            self.features = tuple(sorted(names | set(self.features)))
        elif not names <= set(self.features):
            raise DecisionError(f"{self.path}: features {sorted(names - set(self.features))} were not among the log's columns; open the log with features= naming every feature")  # fmt: skip
        columns: dict[str, list[Any]] = {f: [r[f] for r in rows] for f in LOG_FIELDS if f != "features"}  # fmt: skip
        for n in self.features:
            columns[f"f.{n}"] = [(r["features"] or {}).get(n) for r in rows]
        table = pa.table(columns, schema=_parquet_schema(self.features))
        if self._writer is None:
            self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            self._writer = pq.ParquetWriter(self._tmp, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        """Write what is pending; a Parquet log appears at ``path`` only now (atomically)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            return
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._tmp.replace(self.path)
            self._writer = None

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parquet_schema(features: Sequence[str]) -> Any:
    """The Parquet columns: the fields, then one float64 column per feature."""
    import pyarrow as pa

    s, f, i, b = pa.string(), pa.float64(), pa.int64(), pa.bool_()
    types = {"time": f, "propensity": f, "n_actions": i, "epsilon": f, "c_prime_ready": b, "tokens": f, "expected_queries": f}  # fmt: skip
    return pa.schema([pa.field(n, types.get(n, s)) for n in LOG_FIELDS if n != "features"] + [pa.field(f"f.{n}", f) for n in features])  # fmt: skip


#: the types of a feature value a log keeps (a bool is not a number here)
_NUMBERS = ("int", "float", "float32", "float64", "int32", "int64")


def decision_row(kind: str, decision: Mapping[str, Any], *, request_id: str, context_id: str, query_id: str = "",
                 policy: Any, features: Mapping[str, Any], tokens: float, sleep_level: str | None = None,
                 c_prime_ready: bool | None = None, expected_queries: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The log row of one decision of ``policy`` (a :class:`RuntimePolicy`)."""
    action = decision["sleep_level"] if kind == "sleep" else decision["budget"]
    names = policy.sleep_levels if kind == "sleep" else policy.budgets
    explore = policy.exploration
    return {
        "request_id": request_id, "kind": kind, "context_id": context_id, "query_id": query_id,
        "action": action, "greedy": decision.get("greedy", action), "propensity": float(decision.get("propensity", 1.0)),
        "n_actions": len(names), "epsilon": 0.0 if explore is None else explore.epsilon,
        "model": decision.get("model") or "", "sleep_level": action if kind == "sleep" else sleep_level,
        "c_prime_ready": c_prime_ready, "tokens": float(tokens), "expected_queries": expected_queries,
        "policy_id": policy.policy_id, "features": {n: float(v) for n, v in features.items() if type(v).__name__ in _NUMBERS and math.isfinite(v)},
    }  # fmt: skip
