from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeptime import (
    DuplicateIdError,
    EmptyWorkloadError,
    MalformedRecordError,
    MissingFieldError,
    UnknownFormatError,
    WorkloadError,
)
from sleeptime.workloads import FieldMap, check_answer, load_workload, save_workload


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_stateful_gsm_symbolic(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "stateful.jsonl",
        [
            {
                "id": 3, "instance": 7, "question": "full text",
                "answer": "Step one.\nStep two.\n#### 1,250",
                "stateful_gsm_symbolic_context": "Ann has 3 apples.",
                "stateful_gsm_symbolic_question": "How many apples?",
            }
        ],
    )  # fmt: skip
    w = load_workload(path)
    assert w.format == "stateful-gsm-symbolic"
    ctx = w.contexts[0]
    assert (ctx.context_id, ctx.context, ctx.meta["template"]) == ("3-7", "Ann has 3 apples.", 3)
    q = ctx.queries[0]
    assert (q.question, q.answer, q.meta["n_steps"]) == ("How many apples?", "1,250", 2)
    assert check_answer("1250", q.answer)


def test_apple_gsm_symbolic_real_file(gsm_p2: Path) -> None:
    w = load_workload(gsm_p2)
    assert w.format == "gsm-symbolic"
    assert (w.n_contexts, w.n_queries) == (2500, 2500)
    assert w.report["split_fallbacks"] == 50
    assert w.contexts[0].meta["benchmark"] == "gsm-symbolic-p2"
    assert all(c.context.strip() for c in w.contexts)


def test_stateful_aime(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "aime.jsonl",
        [
            {
                "id": "2024-I-1",
                "stateful_aime_context": "Let x be...",
                "stateful_aime_question": "Find x.",
                "answer": 204,
            }
        ],
    )
    w = load_workload(path)
    assert w.format == "stateful-aime"
    q = w.contexts[0].queries[0]
    assert (q.answer, q.answer_kind) == ("204", "integer")
    assert check_answer("so \\boxed{204}", q.answer, q.answer_kind)
    bad = _jsonl(
        tmp_path / "bad.jsonl",
        [{"stateful_aime_context": "c", "stateful_aime_question": "q", "answer": "x1"}],
    )
    with pytest.raises(MalformedRecordError, match=r"bad.jsonl:1.*'answer' must be an integer"):
        load_workload(bad)


def test_native_round_trip(tmp_path: Path) -> None:
    records = [
        {
            "context_id": "doc-1", "context": "A shop sells pens at $2.",
            "queries": [
                {"query_id": "a", "question": "Cost of 3 pens?", "answer": "6"},
                {"query_id": "b", "question": "Cost of 5 pens?", "answer": 10, "meta": {"n_steps": 1}},
            ],
            "meta": {"domain": "shopping"},
        }
    ]  # fmt: skip
    w = load_workload(_jsonl(tmp_path / "native.jsonl", records))
    assert w.format == "native" and w.n_queries == 2
    assert w.contexts[0].queries[1].answer == "10"
    out = save_workload(w, tmp_path / "out" / "again.jsonl")
    again = load_workload(out)
    assert again.contexts == w.contexts


def test_fields_csv_groups_rows_into_contexts(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "doc,text,ask,gold\n"
        'd1,"Pens cost $2, pads $3.",Cost of 2 pens?,4\n'
        'd1,"Pens cost $2, pads $3.",Cost of 2 pads?,6\n'
        "d2,Bus takes 10 min.,Two rides?,20\n"
    )
    fields = FieldMap(context="text", question="ask", answer="gold", context_id="doc")
    w = load_workload(path, fields=fields)
    assert w.format == "fields"
    assert [len(c.queries) for c in w.contexts] == [2, 1]
    assert [q.query_id for q in w.contexts[0].queries] == ["q0", "q1"]


def test_fields_jsonl_without_ids_groups_by_text(tmp_path: Path) -> None:
    rows = [
        {"c": "X", "q": "1?", "a": 1},
        {"c": "Y", "q": "2?", "a": 2},
        {"c": "X", "q": "3?", "a": 3},
    ]
    w = load_workload(_jsonl(tmp_path / "f.jsonl", rows), fields=FieldMap("c", "q", "a"))
    assert [(c.context, len(c.queries)) for c in w.contexts] == [("X", 2), ("Y", 1)]


def test_builtin_source() -> None:
    # the quickstart's workload: 1,400 contexts, and how the scenarios draw their queries
    w = load_workload("builtin")
    assert w.format == "builtin" and w.n_contexts == 1400
    note = w.summary()["report"]["scenario_queries_per_context"]
    assert note["mean_by_domain"]["home and health"] == 8.0 and len(note["mean_by_domain"]) == 7
    assert load_workload("builtin", limit=30).n_contexts == 30


# ------------------------------------------------------------------ bad input
def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"question": "a?", "answer": "#### 1"}\n\n{"question": "b?", "answer": \n')
    with pytest.raises(MalformedRecordError, match=r"broken.jsonl:3: not valid JSON"):
        load_workload(path)


def test_non_object_line(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(MalformedRecordError, match=r"list.jsonl:1: a JSON list"):
        load_workload(path)


def test_nan_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.jsonl"
    path.write_text('{"question": "q?", "answer": NaN}\n')
    with pytest.raises(MalformedRecordError, match="NaN"):
        load_workload(path)


def test_missing_field_names_field_and_record(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "m.jsonl", [{"context_id": "c9", "context": "text"}])
    with pytest.raises(
        MissingFieldError, match=r"m.jsonl:1 \(record context_id='c9'\): missing field 'queries'"
    ):
        load_workload(path, format="native")


def test_wrong_type_names_field(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "t.jsonl", [{"context_id": "c", "context": ["x"], "queries": []}])
    with pytest.raises(MalformedRecordError, match="field 'context' must be a string"):
        load_workload(path)


def test_gsm_answer_without_hashes(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "g.jsonl", [{"question": "A has 1. How many?", "answer": "one"}])
    with pytest.raises(MalformedRecordError, match="'#### <number>'"):
        load_workload(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(EmptyWorkloadError, match=r"empty\.jsonl: the file is empty"):
        load_workload(path)
    csv_path = tmp_path / "header.csv"
    csv_path.write_text("context,question,answer\n")
    with pytest.raises(EmptyWorkloadError, match="no rows"):
        load_workload(csv_path, fields=FieldMap())


def test_duplicate_ids(tmp_path: Path) -> None:
    rec = {
        "context_id": "same",
        "context": "c",
        "queries": [{"query_id": "q", "question": "?", "answer": "1"}],
    }
    with pytest.raises(DuplicateIdError, match="context_id 'same' appears twice"):
        load_workload(_jsonl(tmp_path / "d.jsonl", [rec, rec]))
    rec2 = {**rec, "queries": rec["queries"] * 2}  # type: ignore[operator]
    with pytest.raises(DuplicateIdError, match="query_id 'q' appears twice"):
        load_workload(_jsonl(tmp_path / "d2.jsonl", [rec2]))


def test_unknown_format(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "u.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(
        UnknownFormatError, match=r"cannot tell the format from the fields \(bar, foo\)"
    ):
        load_workload(path)
    with pytest.raises(UnknownFormatError, match="unknown format 'xml'"):
        load_workload(path, format="xml")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="no such file"):
        load_workload(tmp_path / "nope.jsonl")
    with pytest.raises(WorkloadError, match="is a directory"):
        load_workload(tmp_path)


def test_csv_with_extra_values(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("context,question,answer\nc,q?,1,extra\n")
    with pytest.raises(MalformedRecordError, match=r"x.csv:2: more values"):
        load_workload(path, fields=FieldMap())


def test_save_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = load_workload("builtin", limit=3)
    target = tmp_path / "w.jsonl"
    target.write_text("previous\n")

    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("sleeptime.workloads._loaders.json.dumps", boom)
    with pytest.raises(RuntimeError):
        save_workload(w, target)
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["w.jsonl"]
