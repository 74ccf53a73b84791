"""Hostile input: files the user did not write, mutated at random (property-based).

Every case must end in the project's own exception (a :class:`SleeptimeError` with a message)
or in a result that holds its invariants: never another exception, never silent nonsense. The
number of cases run per target is printed at the end of the test session.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sleeptime import SleeptimeError

#: Cases run per target (printed by the ``pytest_terminal_summary`` hook in conftest.py).
CASES: Counter[str] = Counter()

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.just(""), st.just("\u202e\u0000\ud7ff😀"), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip


def _mutate(obj: Any, data: st.DataObject) -> Any:
    """Replace, delete or retype one random leaf or key of a JSON-like object."""
    obj = copy.deepcopy(obj)
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node[:6]):
                walk(v, (*path, i))

    walk(obj, ())
    path = data.draw(st.sampled_from(paths[1:] or [()]))
    if not path:
        return data.draw(WEIRD)
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "delete" and isinstance(parent, list):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = data.draw(WEIRD)
    return obj


def _text_variants(text: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["truncate", "garbage", "unicode", "empty", "lines"]))
    if kind == "truncate":
        return text[: data.draw(st.integers(0, max(0, len(text) - 1)))]
    if kind == "garbage":
        return data.draw(st.text(max_size=200))
    if kind == "unicode":
        cut = data.draw(st.integers(0, len(text)))
        return text[:cut] + data.draw(st.text(min_size=1, max_size=20)) + text[cut:]
    if kind == "empty":
        return data.draw(st.sampled_from(["", "\n", "   \n\n", "\ufeff"]))
    lines = text.splitlines()
    return "\n".join(data.draw(st.permutations(lines))[: data.draw(st.integers(0, len(lines)))])


def _check(target: str, write: Callable[[Path], None], load: Callable[[Path], Any], valid: Callable[[Any], None]) -> None:  # fmt: skip
    CASES[target] += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        write(path)
        try:
            valid(load(path))
        except SleeptimeError as exc:  # loading or using what loaded: the project's own errors only
            assert str(exc).strip(), "an error without a message"


# ------------------------------------------------------------------ workloads
WORKLOAD = [
    {"context_id": "c1", "context": "A shop sells pens at $2 each.",
     "queries": [{"query_id": "q1", "question": "What do 3 pens cost?", "answer": "6"}], "meta": {"domain": "shopping"}},
    {"context_id": "c2", "context": "Ann has 4 apples. She eats 1.",
     "queries": [{"query_id": "q1", "question": "How many are left?", "answer": "3"}]},
]  # fmt: skip


def _valid_workload(w: Any) -> None:
    assert w.n_contexts >= 1
    for c in w.contexts:
        assert isinstance(c.context, str) and c.context.strip()
        assert c.queries and all(
            isinstance(q.question, str) and q.question.strip() for q in c.queries
        )
        ids = [q.query_id for q in c.queries]
        assert len(ids) == len(set(ids))
    assert len({c.context_id for c in w.contexts}) == w.n_contexts


@SETTINGS
@given(data=st.data())
def test_workload_loader_on_mutated_records(data: st.DataObject) -> None:
    from sleeptime.workloads import load_workload

    records = _mutate(WORKLOAD, data)
    lines = [json.dumps(r, allow_nan=True) for r in records] if isinstance(records, list) else [json.dumps(records)]  # fmt: skip
    _check("workload records", lambda p: p.with_suffix(".jsonl").write_text("\n".join(lines)),
           lambda p: load_workload(p.with_suffix(".jsonl")), _valid_workload)  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_workload_loader_on_broken_text(data: st.DataObject) -> None:
    from sleeptime.workloads import load_workload

    text = _text_variants("\n".join(json.dumps(r) for r in WORKLOAD), data)
    fmt = data.draw(st.sampled_from([None, "native", "gsm-symbolic", "stateful-gsm-symbolic"]))
    _check("workload text", lambda p: p.with_suffix(".jsonl").write_text(text, encoding="utf-8", errors="surrogatepass"),
           lambda p: load_workload(p.with_suffix(".jsonl"), format=fmt), _valid_workload)  # fmt: skip


# ------------------------------------------------------------------ price books
BOOK = {"version": "mine-1", "models": {"acme": {"input_usd_per_mtok": 1.0, "output_usd_per_mtok": 4.0, "batch_discount": 0.5}}}  # fmt: skip


def _valid_book(book: Any) -> None:
    for name, price in book.models.items():
        assert isinstance(name, str)
        for value in (price.input_usd_per_mtok, price.output_usd_per_mtok, price.batch_discount):
            assert math.isfinite(value) and value >= 0


@SETTINGS
@given(data=st.data())
def test_price_book_json_mutated(data: st.DataObject) -> None:
    from sleeptime.simulators import load_price_book

    book = _mutate(BOOK, data)
    text = json.dumps(book, allow_nan=True)
    if data.draw(st.booleans()):
        text = _text_variants(text, data)
    _check("price book", lambda p: p.with_suffix(".json").write_text(text, encoding="utf-8", errors="surrogatepass"),
           lambda p: load_price_book(p.with_suffix(".json")), _valid_book)  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_price_book_toml_broken(data: st.DataObject) -> None:
    from sleeptime.simulators import load_price_book

    text = _text_variants('version = "mine-1"\n[models.acme]\ninput_usd_per_mtok = 1.0\noutput_usd_per_mtok = 4.0\nbatch_discount = 0.5\n', data)  # fmt: skip
    _check("price book", lambda p: p.with_suffix(".toml").write_text(text, encoding="utf-8", errors="surrogatepass"),
           lambda p: load_price_book(p.with_suffix(".toml")), _valid_book)  # fmt: skip


# ------------------------------------------------------------------ calibration points
POINTS = "benchmark,model,condition,avg_test_tokens,accuracy\n" + "".join(
    f"b,m,{c},{t},{a}\n" for c, pts in (("test_only", ((25, 0.07), (119, 0.57), (484, 0.83))), ("sleep_time", ((27, 0.48), (117, 0.71), (461, 0.79)))) for t, a in pts
)  # fmt: skip


def _valid_calibration(cal: Any) -> None:
    for fit in cal.fits.values():
        assert math.isfinite(fit.rmse) and 0 <= fit.ceiling <= 1.0 + 1e-9


@SETTINGS
@given(data=st.data())
def test_calibration_csv(data: st.DataObject) -> None:
    from sleeptime.simulators import calibrate

    lines = POINTS.splitlines()
    if data.draw(st.booleans()):
        i = data.draw(st.integers(1, len(lines) - 1))
        cells = lines[i].split(",")
        j = data.draw(st.integers(0, len(cells) - 1))
        cells[j] = data.draw(
            st.sampled_from(["", "nan", "inf", "-1", "1e308", "abc", "0", "2.5", "😀", '"x,y"'])
        )
        lines[i] = ",".join(cells)
        text = "\n".join(lines)
    else:
        text = _text_variants(POINTS, data)
    _check("calibration csv", lambda p: p.with_suffix(".csv").write_text(text, encoding="utf-8", errors="surrogatepass"),
           lambda p: calibrate(p.with_suffix(".csv")), _valid_calibration)  # fmt: skip


# ------------------------------------------------------------------ traces
def _traces() -> list[dict[str, Any]]:
    out = []
    for i in range(24):
        out.append({"context_id": f"c{i // 2}", "query_id": f"q{i}", "model": "m", "sleep_action": i % 2, "test_action": i % 3,
                    "sleep_input_tokens": 100, "sleep_output_tokens": 50 * (i % 2), "test_input_tokens": 120,
                    "test_output_tokens": 30 + 10 * (i % 3), "correct": float(i % 4 != 0), "latency_s": 1.5,
                    "observed_predictability": -2.0 + 0.01 * i})  # fmt: skip
    return out


@SETTINGS
@given(data=st.data())
def test_traces(data: st.DataObject) -> None:
    from sleeptime.simulators import TraceOutcomeModel, read_traces
    from sleeptime.simulators._outcomes import GSM_SLEEP_LEVELS

    records = _mutate(_traces(), data)
    text = "\n".join(json.dumps(r, allow_nan=True) for r in records) if isinstance(records, list) else json.dumps(records)  # fmt: skip
    if data.draw(st.booleans()):
        text = _text_variants(text, data)

    def load(p: Path) -> Any:
        return TraceOutcomeModel.fit(read_traces(p.with_suffix(".jsonl")), sleep_levels=GSM_SLEEP_LEVELS[:2], budgets=("b0", "b1", "b2"))  # fmt: skip

    def valid(model: Any) -> None:
        import numpy as np

        from sleeptime.simulators import synthetic_items

        items = synthetic_items(5, seed=0)
        zeros = np.zeros(items.n_queries, dtype=np.int64)
        for s in range(2):
            out = model.outcome(difficulty=items.difficulty, predictability=items.predictability, sleep_action=zeros + s,
                                test_action=zeros, served_with_sleep=np.ones(items.n_queries, dtype=bool),
                                context_sleep_action=zeros + s, features={"observed_predictability": items.observed_predictability})  # fmt: skip
            assert np.all((out.p_correct >= 0) & (out.p_correct <= 1))
            assert np.all(np.isfinite(out.test_output_tokens)) and np.all(
                out.test_output_tokens >= 0
            )

    _check("traces", lambda p: p.with_suffix(".jsonl").write_text(text, encoding="utf-8", errors="surrogatepass"), load, valid)  # fmt: skip


# ------------------------------------------------------------------ policy artifacts
@pytest.fixture(scope="module")
def artifact_text(exported: dict[str, Any]) -> str:
    return Path(exported["cheap"]["path"]).read_text()


def test_policy_artifacts(artifact_text: str) -> None:
    from sleeptime.runtime import RuntimePolicy

    artifact = json.loads(artifact_text)

    @SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        if data.draw(st.booleans()):
            text = json.dumps(_mutate(artifact, data), allow_nan=True)
        else:
            text = _text_variants(artifact_text, data)

        def valid(policy: Any) -> None:
            feats = dict.fromkeys(policy.query_features, 1.0)
            d = policy.decide_test(feats, prompt_tokens=100.0)
            assert d["budget"] in policy.budgets

        def load(p: Path) -> Any:
            policy = RuntimePolicy.load(p)
            valid(policy)  # decisions on a loaded artifact raise nothing but the project's errors
            return policy

        _check("policy artifact", lambda p: p.write_text(text, encoding="utf-8", errors="surrogatepass"), load, valid)  # fmt: skip

    run()


# ------------------------------------------------------------------ batch result files
def _batch_lines() -> tuple[list[Any], list[dict[str, Any]]]:
    from sleeptime.live import ChatRequest

    requests = [ChatRequest(({"role": "user", "content": f"q{i}"},), {"max_tokens": 8, "seed": i}) for i in range(3)]  # fmt: skip
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "6"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1}}  # fmt: skip
    return requests, [{"id": f"r{i}", "custom_id": "", "response": {"status_code": 200, "body": body}, "error": None} for i in range(3)]  # fmt: skip


@SETTINGS
@given(data=st.data())
def test_batch_results(data: st.DataObject) -> None:
    from sleeptime.live import Endpoint, ResponseCache, import_batch_results

    endpoint = Endpoint("http://127.0.0.1:1/v1", "m")
    requests, lines = _batch_lines()
    for r, line in zip(requests, lines, strict=True):
        line["custom_id"] = r.key(endpoint)
    lines = _mutate(lines, data)
    text = "\n".join(json.dumps(x, allow_nan=True) for x in lines) if isinstance(lines, list) else json.dumps(lines)  # fmt: skip
    if data.draw(st.booleans()):
        text = _text_variants(text, data)

    def load(p: Path) -> Any:
        cache = ResponseCache(p.with_suffix(".sqlite"))
        try:
            report = import_batch_results(requests, endpoint, cache, p.with_suffix(".jsonl"))
            return report, [cache.get(r.key(endpoint)) for r in requests]
        finally:
            cache.close()

    def valid(result: Any) -> None:
        report, cached = result
        # every request is accounted for exactly once: answered, failed or missing
        assert report.imported + len(report.failed) + len(report.missing) == len(requests)
        for r in requests:  # a request whose id no line holds (dropped, cut, garbled) is missing
            if r.key(endpoint) not in text:
                assert r.key(endpoint) in report.missing
        assert report.imported == sum(c is not None for c in cached) and report.imported <= len(
            requests
        )
        for c in cached:
            if c is not None:
                assert isinstance(c["content"], str)
                assert c["prompt_tokens"] is None or isinstance(c["prompt_tokens"], int)

    _check("batch results", lambda p: p.with_suffix(".jsonl").write_text(text, encoding="utf-8", errors="surrogatepass"), load, valid)  # fmt: skip


def test_a_dropped_batch_request_is_counted_missing(tmp_path: Path) -> None:
    from sleeptime.live import Endpoint, ResponseCache, import_batch_results

    endpoint = Endpoint("http://127.0.0.1:1/v1", "m")
    requests, lines = _batch_lines()
    for r, line in zip(requests, lines, strict=True):
        line["custom_id"] = r.key(endpoint)
    lines[0]["response"]["status_code"] = 500  # one failed, one dropped, one answered
    out = tmp_path / "out.jsonl"
    out.write_text("\n".join(json.dumps(x) for x in (lines[0], lines[2])), encoding="utf-8")
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        report = import_batch_results(requests, endpoint, cache, out)
        assert report.imported == 1 and cache.get(requests[2].key(endpoint)) is not None
        assert [cid for cid, _ in report.failed] == [requests[0].key(endpoint)]
        assert report.missing == [requests[1].key(endpoint)]
        assert cache.get(requests[1].key(endpoint)) is None
        assert report.imported + len(report.failed) + len(report.missing) == len(requests)
    finally:
        cache.close()
