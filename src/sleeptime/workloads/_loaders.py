"""Read workloads from the published formats, and write the native JSONL format."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sleeptime._atomic import atomic_open
from sleeptime._errors import (
    EmptyWorkloadError,
    MalformedRecordError,
    MissingFieldError,
    UnknownFormatError,
    WorkloadError,
)
from sleeptime.workloads._reading import (
    READING_FORMATS,
    detect_reading_format,
    load_drop,
    load_squad,
)
from sleeptime.workloads._split import RULES, split_problem
from sleeptime.workloads._types import ANSWER_KINDS, Context, Query, Workload

#: Formats a file can be read as (``--format``); ``builtin`` is the generator.
FORMATS = (
    "native",
    "stateful-gsm-symbolic",
    "gsm-symbolic",
    "stateful-aime",
    "fields",
    "squad",
    "drop",
)


@dataclass(frozen=True)
class FieldMap:
    """Which columns of a user's JSONL or CSV file hold what (the ``fields`` format).

    Rows that share a ``context_id`` (or, without that column, the same context text) become
    one context with several queries.
    """

    context: str = "context"
    question: str = "question"
    answer: str = "answer"
    context_id: str | None = None
    query_id: str | None = None
    answer_kind: str = "numeric"


Record = tuple[int, dict[str, Any]]  # (line number, record)


def _read_records(path: Path) -> list[Record]:
    """Records of a JSONL or CSV file with their line numbers; raises on malformed lines."""
    if not path.exists():
        raise WorkloadError(
            f"{path}: no such file; pass a path to a .jsonl or .csv file, or 'builtin'"
        )
    if path.is_dir():
        raise WorkloadError(f"{path}: is a directory; pass a .jsonl or .csv file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRecordError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    if not text.strip():
        raise EmptyWorkloadError(f"{path}: the file is empty; a workload needs at least one record")
    if path.suffix.lower() == ".csv":
        return _read_csv(path, text)
    records: list[Record] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise MalformedRecordError(
                f"{path}:{lineno}: not valid JSON ({detail}); each line must be one JSON object"
            ) from exc
        if not isinstance(record, dict):
            raise MalformedRecordError(
                f"{path}:{lineno}: a JSON {type(record).__name__} where an object "
                "({...}) was expected; each line must be one JSON object"
            )
        records.append((lineno, record))
    return records


def _read_document(path: Path) -> Any:
    """A whole JSON document (SQuAD, DROP); a JSONL file's first line read alone, where the
    whole is not one document."""
    if not path.is_file():
        raise WorkloadError(f"{path}: no such file; pass a path to a .json, .jsonl or .csv file, or 'builtin'")  # fmt: skip
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise MalformedRecordError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc  # fmt: skip
    except json.JSONDecodeError as exc:
        if "Extra data" in exc.msg:  # JSONL named .json
            return None
        raise MalformedRecordError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from exc  # fmt: skip
    except ValueError as exc:
        raise MalformedRecordError(f"{path}: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid value")


def _read_csv(path: Path, text: str) -> list[Record]:
    reader = csv.DictReader(text.splitlines())
    records: list[Record] = []
    try:
        for row in reader:
            if None in row:
                raise MalformedRecordError(
                    f"{path}:{reader.line_num}: more values than the {len(reader.fieldnames or [])} "
                    "columns of the header; quote values that contain commas"
                )
            if any(v is None for v in row.values()):
                raise MalformedRecordError(
                    f"{path}:{reader.line_num}: fewer values than the header's columns"
                )
            records.append((reader.line_num, dict(row)))
    except csv.Error as exc:
        raise MalformedRecordError(f"{path}:{reader.line_num}: {exc}") from exc
    if not records:
        raise EmptyWorkloadError(f"{path}: a header but no rows; a workload needs at least one row")
    return records


def detect_format(record: Mapping[str, Any]) -> str | None:
    """The format whose fields ``record`` has, or None."""
    if "stateful_gsm_symbolic_context" in record:
        return "stateful-gsm-symbolic"
    if "stateful_aime_context" in record:
        return "stateful-aime"
    if "context" in record and "queries" in record:
        return "native"
    if "question" in record and "answer" in record:
        return "gsm-symbolic"
    return None


class _Reader:
    """Field access with errors that name the file, line, record and field."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def where(self, lineno: int, record: Mapping[str, Any] | None = None) -> str:
        rid = ""
        if record is not None:
            for key in ("context_id", "id", "ID", "problem_id"):
                if key in record:
                    rid = f" (record {key}={record[key]!r})"
                    break
        return f"{self.path}:{lineno}{rid}"

    def fields(
        self, lineno: int, record: Mapping[str, Any], *keys: str | tuple[str, type]
    ) -> list[Any]:
        """Several fields at once, in order: a key is read as a string, ``(key, kind)`` as ``kind``."""
        return [self.get(lineno, record, *((k,) if isinstance(k, str) else k)) for k in keys]

    def get(self, lineno: int, record: Mapping[str, Any], key: str, kind: type = str) -> Any:
        if key not in record:
            raise MissingFieldError(
                f"{self.where(lineno, record)}: missing field {key!r}, which the {self.fmt!r} "
                f"format requires (fields present: {', '.join(sorted(map(str, record))) or 'none'})"
            )
        value = record[key]
        if kind is str:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise MalformedRecordError(
                    f"{self.where(lineno, record)}: field {key!r} must be a string, "
                    f"not {type(value).__name__}"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise MalformedRecordError(
                    f"{self.where(lineno, record)}: field {key!r} is {value}"
                )
            value = str(value)
            if not value.strip():
                raise MalformedRecordError(f"{self.where(lineno, record)}: field {key!r} is empty")
        elif not isinstance(value, kind):
            raise MalformedRecordError(
                f"{self.where(lineno, record)}: field {key!r} must be a {kind.__name__}, "
                f"not {type(value).__name__}"
            )
        return value


def _gsm_answer(reader: _Reader, lineno: int, record: Mapping[str, Any]) -> tuple[str, int]:
    """Gold answer after '####' and the number of solution steps (non-empty lines before it)."""
    text = reader.get(lineno, record, "answer")
    if "####" not in text:
        raise MalformedRecordError(
            f"{reader.where(lineno, record)}: field 'answer' has no '#### <number>' line; "
            "GSM answers end with '#### <answer>'"
        )
    solution, gold = text.rsplit("####", 1)
    gold = gold.strip()
    if not gold:
        raise MalformedRecordError(
            f"{reader.where(lineno, record)}: nothing after '####' in 'answer'"
        )
    steps = sum(1 for line in solution.splitlines() if line.strip())
    return gold, steps


def _record_id(record: Mapping[str, Any], lineno: int) -> str:
    if "id" in record and "instance" in record:
        return f"{record['id']}-{record['instance']}"
    for key in ("context_id", "id", "ID", "problem_id"):
        if (
            key in record
            and isinstance(record[key], (str, int))
            and not isinstance(record[key], bool)
        ):
            return str(record[key])
    return f"line-{lineno}"


def _benchmark_name(path: Path, default: str) -> str:
    match = re.search(r"gsm_(p1|p2|symbolic)", path.name, re.IGNORECASE)
    if match and match.group(1).lower() in ("p1", "p2"):
        return f"{default}-{match.group(1).lower()}"
    return default


def _template_meta(record: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if "id" in record:
        meta["template"] = record["id"]
    if "instance" in record:
        meta["instance"] = record["instance"]
    return meta


def _load_stateful_gsm(path: Path, records: list[Record]) -> Workload:
    reader = _Reader(path, "stateful-gsm-symbolic")
    contexts = []
    benchmark = _benchmark_name(path, "stateful-gsm-symbolic")
    for lineno, rec in records:
        context, question = reader.fields(
            lineno, rec, "stateful_gsm_symbolic_context", "stateful_gsm_symbolic_question"
        )
        gold, steps = _gsm_answer(reader, lineno, rec)
        query = Query("q0", question, gold, "numeric", {"n_steps": steps})
        meta = {"benchmark": benchmark, **_template_meta(rec)}
        contexts.append(Context(_record_id(rec, lineno), context, (query,), meta))
    return Workload(tuple(contexts), "stateful-gsm-symbolic", str(path))


def _load_gsm_symbolic(path: Path, records: list[Record]) -> Workload:
    reader = _Reader(path, "gsm-symbolic")
    contexts = []
    rules: Counter[str] = Counter()
    benchmark = _benchmark_name(path, "gsm-symbolic")
    for lineno, rec in records:
        problem = reader.get(lineno, rec, "question")
        gold, steps = _gsm_answer(reader, lineno, rec)
        split = split_problem(problem)
        if not split.context or not split.question:
            raise MalformedRecordError(
                f"{reader.where(lineno, rec)}: field 'question' has no sentence before the "
                "question, so it cannot be split into context and question; "
                "give it as native JSONL with an explicit context"
            )
        rules[split.rule] += 1
        query = Query(
            "q0", split.question, gold, "numeric", {"n_steps": steps, "split": split.rule}
        )
        meta = {"benchmark": benchmark, **_template_meta(rec)}
        contexts.append(Context(_record_id(rec, lineno), split.context, (query,), meta))
    fallback = sum(n for rule, n in rules.items() if rule not in RULES[:2])
    report = {"split_rules": {r: rules[r] for r in RULES}, "split_fallbacks": fallback}
    return Workload(tuple(contexts), "gsm-symbolic", str(path), report)


def _load_stateful_aime(path: Path, records: list[Record]) -> Workload:
    reader = _Reader(path, "stateful-aime")
    contexts = []
    for lineno, rec in records:
        context, question, raw = reader.fields(
            lineno, rec, "stateful_aime_context", "stateful_aime_question", "answer"
        )
        try:
            gold = int(str(raw).strip())
        except ValueError as exc:
            raise MalformedRecordError(
                f"{reader.where(lineno, rec)}: field 'answer' must be an integer, not {raw!r}"
            ) from exc
        query = Query("q0", question, str(gold), "integer")
        meta = {"benchmark": "stateful-aime", **_template_meta(rec)}
        contexts.append(Context(_record_id(rec, lineno), context, (query,), meta))
    return Workload(tuple(contexts), "stateful-aime", str(path))


def _answer_kind(reader: _Reader, lineno: int, rec: Mapping[str, Any], default: str) -> str:
    kind = rec.get("answer_kind", default)
    if kind not in ANSWER_KINDS:
        raise MalformedRecordError(
            f"{reader.where(lineno, rec)}: answer_kind {kind!r} is not one of {ANSWER_KINDS}"
        )
    return str(kind)


def _golds(reader: _Reader, lineno: int, rec: Mapping[str, Any], key: str, kind: str) -> tuple[str, ...]:  # fmt: skip
    """The gold answers in ``rec[key]``: a string, or a non-empty list of strings (in a CSV
    cell, a JSON list: ``["Denver Broncos", "Broncos"]``; a cell in brackets is read as one);
    the first is the main one. Only a
    ``span`` gold may be empty (an unanswerable question)."""
    if key not in rec:
        reader.get(lineno, rec, key)  # raises MissingFieldError naming the fields present
    value = rec[key]
    csv_list = reader.path.suffix.lower() == ".csv" and isinstance(value, str) and value.strip()[:1] == "[" and value.strip()[-1:] == "]"  # fmt: skip
    if csv_list:
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise MalformedRecordError(f"{reader.where(lineno, rec)}: field {key!r} looks like a JSON list but is not one ({exc.msg}); write a bracketed answer inside one: [\"[sic]\"]") from exc  # fmt: skip
    if isinstance(value, list):
        if not value:
            raise MalformedRecordError(f"{reader.where(lineno, rec)}: field {key!r} is an empty list; give at least one gold answer (an unanswerable span question: \"\")")  # fmt: skip
        golds = tuple(reader.get(lineno, {key: v}, key) if not (kind == "span" and v == "") else "" for v in value)  # fmt: skip
    elif kind == "span" and value == "":
        golds = ("",)
    else:
        golds = (reader.get(lineno, rec, key),)
    return golds


def _load_native(path: Path, records: list[Record]) -> Workload:
    reader = _Reader(path, "native")
    contexts = []
    for lineno, rec in records:
        cid, context, raw_queries = reader.fields(
            lineno, rec, "context_id", "context", ("queries", list)
        )
        if not raw_queries:
            raise MalformedRecordError(
                f"{reader.where(lineno, rec)}: field 'queries' is empty; a context needs a query"
            )
        queries = []
        for j, raw in enumerate(raw_queries):
            if not isinstance(raw, dict):
                raise MalformedRecordError(
                    f"{reader.where(lineno, rec)}: queries[{j}] must be an object with "
                    "query_id, question and answer"
                )
            qreader = _Reader(path, f"native (queries[{j}] of context {cid!r})")
            meta = raw.get("meta", {})
            if not isinstance(meta, dict):
                raise MalformedRecordError(
                    f"{reader.where(lineno, rec)}: queries[{j}].meta must be an object"
                )
            kind = _answer_kind(reader, lineno, raw, "numeric")
            golds = _golds(qreader, lineno, raw, "answer", kind)
            qid = qreader.get(lineno, raw, "query_id")
            question = qreader.get(lineno, raw, "question")
            queries.append(Query(qid, question, golds[0], kind, meta, golds[1:]))
        meta = rec.get("meta", {})
        if not isinstance(meta, dict):
            raise MalformedRecordError(
                f"{reader.where(lineno, rec)}: field 'meta' must be an object"
            )
        contexts.append(Context(cid, context, tuple(queries), meta))
    return Workload(tuple(contexts), "native", str(path))


def _load_fields(path: Path, records: list[Record], fields: FieldMap) -> Workload:
    reader = _Reader(path, "fields")
    if fields.answer_kind not in ANSWER_KINDS:
        raise WorkloadError(f"answer kind {fields.answer_kind!r} is not one of {ANSWER_KINDS}")
    groups: dict[str, tuple[str, list[Query]]] = {}
    by_text: dict[str, str] = {}
    for lineno, rec in records:
        context = reader.get(lineno, rec, fields.context)
        question = reader.get(lineno, rec, fields.question)
        golds = _golds(reader, lineno, rec, fields.answer, fields.answer_kind)
        if fields.context_id is not None:
            cid = reader.get(lineno, rec, fields.context_id)
            if cid in groups and groups[cid][0] != context:
                raise MalformedRecordError(
                    f"{reader.where(lineno, rec)}: context_id {cid!r} was used earlier with a "
                    f"different {fields.context!r}; rows of one context must repeat the same text"
                )
        else:
            cid = by_text.setdefault(context, f"c{len(by_text)}")
        _, queries = groups.setdefault(cid, (context, []))
        qid = reader.get(lineno, rec, fields.query_id) if fields.query_id else f"q{len(queries)}"
        queries.append(
            Query(qid, question, golds[0], fields.answer_kind, {"line": lineno}, golds[1:])
        )
    contexts = tuple(Context(cid, text, tuple(qs), {}) for cid, (text, qs) in groups.items())
    return Workload(contexts, "fields", str(path))


def load_workload(
    source: str | os.PathLike[str],
    *,
    format: str | None = None,
    fields: FieldMap | None = None,
    limit: int | None = None,
) -> Workload:
    """Read a workload from a JSONL or CSV file, or ``"builtin"`` for the generator's default
    (the quickstart's 1,400 contexts, or ``limit`` of them; their question pools, of which the
    policy scenarios draw a geometric number per context, see ``report``).

    ``format`` is one of :data:`FORMATS`; without it the format is detected from the fields of
    the first record (``fields`` implies the ``fields`` format). ``limit`` keeps the first
    ``limit`` records. Bad input raises a :class:`~sleeptime.WorkloadError` subclass whose
    message names the file, line and field at fault.
    """
    if str(source) == "builtin":
        import dataclasses

        from sleeptime.workloads._generator import (
            BUILTIN_CONTEXTS,
            BUILTIN_QUERY_MEANS,
            generate_workload,
        )

        workload = generate_workload(n_contexts=limit or BUILTIN_CONTEXTS, seed=0)
        note = {"distribution": "geometric per context, drawn from its question pool", "mean_by_domain": dict(BUILTIN_QUERY_MEANS)}  # fmt: skip
        return dataclasses.replace(workload, report={"scenario_queries_per_context": note})
    path = Path(source)
    if format is not None and format not in FORMATS:
        raise UnknownFormatError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    if format in READING_FORMATS or (format is None and fields is None and path.suffix.lower() == ".json"):  # fmt: skip
        doc = _read_document(path)
        fmt = format if isinstance(doc, dict) else None
        fmt = fmt or detect_reading_format(doc)
        if fmt == "squad":
            return load_squad(path, doc, limit)
        if fmt == "drop":
            return load_drop(path, doc, limit)
        if format is not None:
            raise UnknownFormatError(f"{path}: not a {format} file (SQuAD: {{\"data\": [{{\"title\", \"paragraphs\"}}]}}; DROP: {{ID: {{\"passage\", \"qa_pairs\"}}}})")  # fmt: skip
    records = _read_records(path)
    if limit is not None:
        records = records[:limit]
    if fields is not None and format in (None, "fields"):
        return _load_fields(path, records, fields)
    fmt = format or detect_format(records[0][1])
    if fmt is None:
        keys = ", ".join(sorted(map(str, records[0][1]))) or "none"
        raise UnknownFormatError(
            f"{path}:{records[0][0]}: cannot tell the format from the fields ({keys}); pass "
            f"--format (one of {', '.join(FORMATS)}), and for your own columns --format fields "
            "with --context-field, --question-field and --answer-field"
        )
    if fmt == "native":
        return _load_native(path, records)
    if fmt == "stateful-gsm-symbolic":
        return _load_stateful_gsm(path, records)
    if fmt == "gsm-symbolic":
        return _load_gsm_symbolic(path, records)
    if fmt == "stateful-aime":
        return _load_stateful_aime(path, records)
    return _load_fields(path, records, fields or FieldMap())


def save_workload(workload: Workload, path: str | os.PathLike[str]) -> Path:
    """Write ``workload`` as native JSONL (one context per line), atomically; returns the path."""
    target = Path(path)
    with atomic_open(target) as handle:
        for ctx in workload.contexts:
            handle.write(json.dumps(ctx.to_dict(), ensure_ascii=False) + "\n")
    return target


def spread_over_templates(contexts: Sequence[Any]) -> tuple[Any, ...]:
    """The contexts in an order that takes one of each template in turn (a file that lists
    every instance of one template before the next gives a sample of many templates)."""
    by: dict[str, list[Any]] = {}
    for c in contexts:
        by.setdefault(str(c.meta.get("template", c.context_id)), []).append(c)
    out: list[Any] = []
    rank = 0
    while len(out) < len(contexts):
        out += [group[rank] for group in by.values() if rank < len(group)]
        rank += 1
    return tuple(out)


def sample_workload(workload: Workload, *, contexts: int | None = None, min_questions: int = 0, sample: str = "first") -> Workload:  # fmt: skip
    """The contexts a run takes: those with at least ``min_questions`` questions, then the
    first ``contexts`` of them (all where None) in file order (``sample="first"``) or one of
    each template in turn (``"templates"``, :func:`spread_over_templates`). WorkloadError for a
    bad option or a filter that keeps nothing, naming the option."""
    if sample not in ("first", "templates"):
        raise WorkloadError(f"--sample must be 'first' or 'templates', got {sample!r}")
    kept = tuple(c for c in workload.contexts if len(c.queries) >= min_questions)
    if min_questions > 0 and not kept:
        raise WorkloadError(f"--min-questions {min_questions}: no context of {workload.source} has that many questions (the most is {max((len(c.queries) for c in workload.contexts), default=0)})")  # fmt: skip
    if contexts is not None and contexts < 1:
        raise WorkloadError(f"--contexts must be at least 1, got {contexts}")
    picked = spread_over_templates(kept) if sample == "templates" else kept
    return Workload(tuple(picked[:contexts]), workload.format, workload.source, workload.report)


def template_split(workload: Workload, test_share: float, seed: int) -> tuple[set[str], set[str]]:
    """Templates for training and for testing, stratified by domain."""
    by_domain: dict[str, list[str]] = {}
    for ctx in workload.contexts:
        names = by_domain.setdefault(str(ctx.meta.get("domain", "")), [])
        if ctx.meta["template"] not in names:
            names.append(str(ctx.meta["template"]))
    rng = random.Random(seed)
    test: set[str] = set()
    for names in by_domain.values():
        k = max(1, round(len(names) * test_share)) if len(names) > 1 else 0
        test.update(rng.sample(sorted(names), k))
    train = {t for names in by_domain.values() for t in names} - test
    return train, test


#: How contexts are split into training and held-out ones: at random, or by template.
SPLITS = ("context", "template")


def split_contexts(workload: Workload, *, by: str, test_share: float, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # fmt: skip
    """Indices of the training and the held-out contexts, each sorted. ``by="context"``: a
    random ``test_share`` of the contexts (at least one on each side); ``by="template"``:
    every context of the held-out templates (:func:`template_split`, stratified by domain), so
    no template is on both sides."""
    n = workload.n_contexts
    if by == "context":
        order = np.random.default_rng(seed).permutation(n)
        k = min(max(1, round(n * test_share)), n - 1)
        return np.sort(order[k:]), np.sort(order[:k])
    if by != "template":
        raise WorkloadError(f"split must be one of {SPLITS}, got {by!r}")
    train_t, test_t = template_split(workload, test_share, seed)
    templates = np.array([str(c.meta.get("template", c.context_id)) for c in workload.contexts])
    return np.flatnonzero(np.isin(templates, sorted(train_t))), np.flatnonzero(
        np.isin(templates, sorted(test_t))
    )
