"""Reading-comprehension files as workloads: SQuAD v1.1/v2.0 and DROP, in their published JSON.

Both publish several questions per paragraph: a multi-query workload as it stands. A paragraph
(SQuAD) or passage (DROP) is a context; its questions are its queries. SQuAD answers are spans
(kind ``span``: exact match and token F1 over every gold answer; an unanswerable v2.0 question
has the empty gold). DROP answers are a number (kind ``numeric``), a date or one or more spans
(kind ``span``; a multi-span answer is graded as its spans joined by ", ", an approximation of
DROP's own bag-of-spans metric that the workload's ``report`` counts). Errors name the file and
the article, paragraph or passage, and question at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sleeptime._errors import MalformedRecordError, MissingFieldError
from sleeptime.workloads._grading import NO_ANSWER
from sleeptime.workloads._types import Context, Query, Workload

#: The reading-comprehension formats (whole JSON documents, not JSONL).
READING_FORMATS = ("squad", "drop")


def detect_reading_format(doc: Any) -> str | None:
    """``squad`` for ``{"data": [{"paragraphs": ...}]}``, ``drop`` for ``{ID: {"passage": ...,
    "qa_pairs": ...}}``, else None."""
    if isinstance(doc, dict):
        data = doc.get("data")
        if (
            isinstance(data, list)
            and data
            and isinstance(data[0], dict)
            and "paragraphs" in data[0]
        ):
            return "squad"
        first = next(iter(doc.values()), None)
        if isinstance(first, dict) and "passage" in first and "qa_pairs" in first:
            return "drop"
    return None


def _need(where: str, record: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(record, dict):
        raise MalformedRecordError(f"{where}: must be an object, not {type(record).__name__}")
    if key not in record:
        raise MissingFieldError(f"{where}: missing field {key!r} (fields present: {', '.join(sorted(map(str, record))) or 'none'})")  # fmt: skip
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MalformedRecordError(f"{where}: field {key!r} must be a {names}, not {type(value).__name__}")  # fmt: skip
    if isinstance(value, str) and not value.strip() and key != "text":
        raise MalformedRecordError(f"{where}: field {key!r} is empty")
    return value


def load_squad(path: Path, doc: Mapping[str, Any], limit: int | None = None) -> Workload:
    """SQuAD v1.1 or v2.0 (``is_impossible``): one context per paragraph, its ``qas`` the
    queries, the article's title as ``meta["template"]`` (a template split keeps an article's
    paragraphs on one side). ``limit`` keeps the first ``limit`` paragraphs."""
    contexts: list[Context] = []
    mismatched = unanswerable = 0
    articles = _need(f"{path}", doc, "data", list)
    for ai, article in enumerate(articles):
        title = str(_need(f"{path}: data[{ai}]", article, "title", str))
        for pi, para in enumerate(_need(f"{path}: article {title!r} (data[{ai}])", article, "paragraphs", list)):  # fmt: skip
            at = f"{path}: article {title!r} (data[{ai}]), paragraph {pi}"
            text = _need(at, para, "context", str)
            queries = []
            for qi, qa in enumerate(_need(at, para, "qas", list)):
                qid = str(_need(f"{at}, qas[{qi}]", qa, "id", (str, int)))
                where = f"{at}, question {qid!r}"
                question = _need(where, qa, "question", str)
                answers = _need(where, qa, "answers", list)
                impossible = bool(qa.get("is_impossible", False))
                golds: list[str] = []
                for j, ans in enumerate(answers):
                    gold = _need(f"{where}, answers[{j}]", ans, "text", str)
                    start = ans.get("answer_start") if isinstance(ans, dict) else None
                    if start is not None:
                        if not isinstance(start, int) or isinstance(start, bool) or start < 0 or start + len(gold) > len(text):  # fmt: skip
                            raise MalformedRecordError(f"{where}, answers[{j}]: answer_start {start!r} with {len(gold)} characters lies outside the paragraph ({len(text)} characters)")  # fmt: skip
                        mismatched += text[start : start + len(gold)] != gold
                    if gold.strip() and gold not in golds:
                        golds.append(gold)
                if impossible:
                    unanswerable += 1
                    golds = [NO_ANSWER]
                elif not golds:
                    raise MalformedRecordError(f"{where}: an empty answer list; an answerable question needs at least one gold answer (an unanswerable one: \"is_impossible\": true)")  # fmt: skip
                queries.append(Query(qid, question, golds[0], "span", {}, tuple(golds[1:])))
            if not queries:
                raise MalformedRecordError(f"{at}: no questions (qas is empty)")
            contexts.append(Context(f"{title}#{pi}", text, tuple(queries), {"benchmark": "squad", "title": title, "template": title}))  # fmt: skip
            if limit is not None and len(contexts) >= limit:
                break
        if limit is not None and len(contexts) >= limit:
            break
    report = {"unanswerable": unanswerable, "answer_start_mismatches": mismatched}
    return Workload(tuple(contexts), "squad", str(path), report)


def _drop_gold(where: str, answer: Any) -> tuple[str, str] | None:
    """(kind, gold text) of one DROP answer object, or None where it is empty."""
    if not isinstance(answer, dict):
        raise MalformedRecordError(f"{where}: must be an object with number, date and spans")
    number = str(answer.get("number") or "").strip()
    if number:
        return "numeric", number
    spans = [str(s).strip() for s in answer.get("spans") or [] if str(s).strip()]
    if spans:
        return "span", ", ".join(spans)
    date = answer.get("date") or {}
    if isinstance(date, dict):
        parts = [str(date.get(k) or "").strip() for k in ("month", "day", "year")]
        if any(parts):
            return "span", " ".join(p for p in parts if p)
    return None


def load_drop(path: Path, doc: Mapping[str, Any], limit: int | None = None) -> Workload:
    """DROP: one context per passage, its ``qa_pairs`` the queries. A number answer is graded
    as a number (the validated answers are not used there); a date or spans as a span over the
    answer and its ``validated_answers``. ``limit`` keeps the first ``limit`` passages."""
    contexts: list[Context] = []
    multi_span = 0
    for pid, passage in doc.items():
        at = f"{path}: passage {pid!r}"
        text = _need(at, passage, "passage", str)
        queries = []
        for qi, qa in enumerate(_need(at, passage, "qa_pairs", list)):
            qid = str(qa.get("query_id", f"q{qi}")) if isinstance(qa, dict) else f"q{qi}"
            where = f"{at}, question {qid!r}"
            question = _need(where, qa, "question", str)
            main = _drop_gold(f"{where}, answer", _need(where, qa, "answer", dict))
            if main is None:
                raise MalformedRecordError(f"{where}: the answer has no number, date or span")
            kind, gold = main
            multi_span += kind == "span" and len(qa["answer"].get("spans") or []) > 1
            others = [_drop_gold(f"{where}, validated_answers[{j}]", a) for j, a in enumerate(qa.get("validated_answers") or [])]  # fmt: skip
            alternatives = tuple(dict.fromkeys(g for k, g in filter(None, others) if k == kind and g != gold)) if kind == "span" else ()  # fmt: skip
            queries.append(Query(qid, question, gold, kind, {}, alternatives))
        if not queries:
            raise MalformedRecordError(f"{at}: no questions (qa_pairs is empty)")
        contexts.append(Context(str(pid), text, tuple(queries), {"benchmark": "drop", "domain": str(pid).split("_")[0], "template": str(pid)}))  # fmt: skip
        if limit is not None and len(contexts) >= limit:
            break
    return Workload(tuple(contexts), "drop", str(path), {"multi_span_answers": multi_span})
