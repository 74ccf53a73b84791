"""The workload data model: contexts, each with one or more queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sleeptime._errors import DuplicateIdError, EmptyWorkloadError

#: How an answer is compared with its gold value (see :func:`sleeptime.workloads.grade_query`):
#: numbers, AIME integers, whole strings, SQuAD spans (exact match and token F1), multiple
#: choice (the options in the query's ``meta["options"]``) and ``judge``: free text graded by an
#: LLM judge against the gold answer(s) as a reference (``sleeptime collect`` asks the judge).
ANSWER_KINDS = ("numeric", "integer", "text", "span", "choice", "judge")


@dataclass(frozen=True)
class Query:
    """One question about a context, with its gold answer.

    ``meta`` holds what is known about the question, e.g. ``n_steps`` (reasoning steps),
    ``predictability`` (how expected the question is from the context, where known) and, for
    ``choice``, ``options`` (the options' texts, in letter order). ``alternatives`` are further
    acceptable gold answers (``span``: graded against the best of all); an empty ``answer`` of
    kind ``span`` marks an unanswerable question.
    """

    query_id: str
    question: str
    answer: str
    answer_kind: str = "numeric"
    meta: Mapping[str, Any] = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()

    @property
    def golds(self) -> tuple[str, ...]:
        """Every acceptable gold answer: ``answer`` first, then the ``alternatives``."""
        return (self.answer, *self.alternatives)

    def to_dict(self) -> dict[str, Any]:
        """The native JSON form of the query."""
        record: dict[str, Any] = {
            "query_id": self.query_id,
            "question": self.question,
            "answer": list(self.golds) if self.alternatives else self.answer,
        }
        if self.answer_kind != "numeric":
            record["answer_kind"] = self.answer_kind
        if self.meta:
            record["meta"] = dict(self.meta)
        return record


@dataclass(frozen=True)
class Context:
    """A persistent context (a document, a problem set-up) and the queries that arrive about it.

    ``meta`` holds e.g. ``benchmark``, ``template`` and ``domain``.
    """

    context_id: str
    context: str
    queries: tuple[Query, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The native JSON form: one line of a native/Multi-Query JSONL file."""
        return {
            "context_id": self.context_id,
            "context": self.context,
            "queries": [q.to_dict() for q in self.queries],
            "meta": dict(self.meta),
        }


@dataclass(frozen=True)
class Workload:
    """Contexts with their queries, plus where they came from.

    ``format`` names the loader that read it (``builtin`` for the generator); ``report`` holds
    what the loader has to say about the data (e.g. how many records a split fallback handled).
    Ids are unique: context ids across the workload, query ids within a context.
    """

    contexts: tuple[Context, ...]
    format: str
    source: str = ""
    report: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.contexts:
            raise EmptyWorkloadError(f"{self.source or 'workload'}: no contexts")
        seen: set[str] = set()
        for ctx in self.contexts:
            if ctx.context_id in seen:
                raise DuplicateIdError(
                    f"{self.source or 'workload'}: context_id {ctx.context_id!r} appears twice; "
                    "context ids must be unique"
                )
            seen.add(ctx.context_id)
            query_ids = [q.query_id for q in ctx.queries]
            if len(set(query_ids)) != len(query_ids):
                dup = next(q for q in query_ids if query_ids.count(q) > 1)
                raise DuplicateIdError(
                    f"{self.source or 'workload'}: query_id {dup!r} appears twice in context "
                    f"{ctx.context_id!r}; query ids must be unique within a context"
                )

    @property
    def n_contexts(self) -> int:
        """The number of contexts."""
        return len(self.contexts)

    @property
    def n_queries(self) -> int:
        """The number of queries over all contexts."""
        return sum(len(c.queries) for c in self.contexts)

    def queries_per_context(self) -> np.ndarray:
        """Number of queries of each context, shape ``(n_contexts,)``, int64."""
        return np.fromiter((len(c.queries) for c in self.contexts), dtype=np.int64)

    def summary(self) -> dict[str, Any]:
        """Counts a user checks first: format, contexts, queries, queries per context."""
        qpc = self.queries_per_context()
        return {
            "format": self.format,
            "source": self.source,
            "contexts": self.n_contexts,
            "queries": self.n_queries,
            "queries_per_context": {
                "mean": float(qpc.mean()),
                "min": int(qpc.min()),
                "max": int(qpc.max()),
            },
            **({"report": dict(self.report)} if self.report else {}),
        }
