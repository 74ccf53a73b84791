"""Real runs against the real local server (llama.cpp serving SmolLM2-135M on loopback): no mock
of the model or of HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sleeptime.live import (
    LIVE_TRACE_FIELDS,
    Budget,
    Endpoint,
    Grid,
    LocalServer,
    Pricing,
    Prompts,
    Protocol,
    ResponseCache,
    SleepLevel,
    collect,
    read_records,
    sleep_outputs_path,
)
from sleeptime.simulators import load_price_book
from sleeptime.workloads import check_answer, load_workload
from tests._required import LITELLM, require_module

#: A stuck server fails the test instead of hanging the run: 900 s (pytest-timeout; it covers
#: the module's fixtures' setup too). The longest test here took 133 s with the exported
#: policy's fixture, on 2 cores that another job kept busy.
pytestmark = pytest.mark.timeout(900)

GRID = Grid((SleepLevel.parse("none"), SleepLevel.parse("k1")), (Budget.level(0), Budget.level(1)))
QUESTIONS = 2
PRICING = Pricing(load_price_book("list-2025"), "gpt-4o-mini")


def _require_server() -> None:
    """The local server must be installed (make test installs it): under CI a missing one fails."""
    from sleeptime.live import LiveError, server_executable

    try:
        server_executable()
    except LiveError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    _require_server()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with LocalServer(log_file=log) as srv:
        yield srv
    assert srv.pid is None


def _endpoint(server: LocalServer) -> Endpoint:
    return server.endpoint()  # its per-run key included


def _headers(server: LocalServer) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {server.api_key}"}


def _collect(server: LocalServer, out: Path, contexts: int = 3, **kwargs: Any) -> Any:
    workload = load_workload("builtin", limit=contexts)
    return collect(workload, _endpoint(server), out, design=GRID, protocol=Protocol(Prompts.load("gsm")), pricing=PRICING,
                   questions_per_context=QUESTIONS, **kwargs)  # fmt: skip


def _design_size(contexts: int) -> int:
    return contexts * QUESTIONS * len(GRID.cells())


def _keys(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"]) for r in records
    ]


@pytest.mark.slow
def test_an_exploration_run_writes_every_record_with_what_the_server_reported(server: LocalServer, tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "traces.jsonl"
    stats, client, _ = _collect(server, out)
    records = read_records(out)
    assert len(records) == _design_size(3) == stats.written == 36
    assert len(set(_keys(records))) == len(records)  # every cell once
    assert (
        client.stats.sent == len(records) + 3 and client.stats.failed == 0
    )  # 3 sleep-time rewrites
    # sleep levels and views as the grid says: test-only sees c, k1 sees c' or both
    assert {(r["sleep_level"], r["view"]) for r in records} == {
        ("none", "c"),
        ("k1", "c_prime"),
        ("k1", "both"),
    }
    cache = ResponseCache(out.with_name("traces.cache.sqlite"))
    protocol = Protocol(Prompts.load("gsm"))
    workload = {c.context_id: c for c in load_workload("builtin", limit=3).contexts}
    sleeps = {(r["context_id"], r["sleep_level"]): r for r in read_records(sleep_outputs_path(out))}
    assert len(sleeps) == 3 and all(
        s["c_prime"] and s["output_tokens"] > 0 for s in sleeps.values()
    )
    for r in records:
        assert set(LIVE_TRACE_FIELDS) <= set(r)
        assert r["latency_s"] > 0 and r["usage_reported"] and r["test_output_tokens"] > 0
        ctx = workload[r["context_id"]]
        query = next(q for q in ctx.queries if q.query_id == r["query_id"])
        assert r["correct"] == float(check_answer(r["response"], query.answer, query.answer_kind))
        # the tokens are the server's own: the cached answer holds its usage as it came
        sleep = sleeps.get((r["context_id"], "k1")) if r["sleep_level"] == "k1" else None
        request = protocol.answer_request(ctx.context, query.question, sleep["c_prime"] if sleep else None,
                                          Budget.level(r["test_action"]), r["view"], "")  # fmt: skip
        raw = cache.get(request.key(_endpoint(server)))
        assert raw is not None and (raw["prompt_tokens"], raw["completion_tokens"]) == (r["test_input_tokens"], r["test_output_tokens"])  # fmt: skip
        assert r["usd"] == pytest.approx(r["test_usd"] + r["sleep_usd"] / QUESTIONS)
        assert r["sleep_output_id"] == (sleep["sleep_output_id"] if sleep else None)
    # one request sent again by hand: the server counts its prompt as the record does
    r = records[0]
    ctx = workload[r["context_id"]]
    query = next(q for q in ctx.queries if q.query_id == r["query_id"])
    sleep = sleeps.get((r["context_id"], "k1")) if r["sleep_level"] == "k1" else None
    request = protocol.answer_request(ctx.context, query.question, sleep["c_prime"] if sleep else None, Budget.level(r["test_action"]), r["view"], "")  # fmt: skip
    body = json.dumps(
        {"model": server.name, "messages": list(request.messages), **request.params}
    ).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{server.base_url}/chat/completions", body, _headers(server)), timeout=120) as resp:  # fmt: skip
        usage = json.loads(resp.read())["usage"]
    assert usage["prompt_tokens"] == r["test_input_tokens"]

    # a rerun sends nothing and writes the same records
    again = tmp_path / "again.jsonl"
    _stats2, client2, _ = _collect(server, again, cache=out.with_name("traces.cache.sqlite"))
    assert client2.stats.sent == 0 and client2.stats.cache_hits == len(records) + 3

    def strip(rs):
        return sorted(
            json.dumps({k: v for k, v in x.items() if k != "latency_s"}, sort_keys=True) for x in rs
        )

    assert strip(read_records(again)) == strip(records)
    # and the same file again: nothing to do at all
    stats3, client3, _ = _collect(server, out)
    assert stats3.written == 0 and stats3.skipped_done == len(records) and client3.stats.sent == 0


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_with_every_record_once(server: LocalServer, tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "killed.jsonl"
    cmd = [sys.executable, "-m", "sleeptime", "collect", "--endpoint", server.base_url, "--model", server.name,
           "--contexts", "3", "--questions-per-context", str(QUESTIONS), "--sleep-levels", "none,k1", "--budgets", "0,1",
           "--out", str(out), "--no-track", "--json", "--api-key-env", "SLEEPTIME_TEST_LOCAL_KEY"]  # fmt: skip
    env = {**os.environ, "SLEEPTIME_TEST_LOCAL_KEY": str(server.api_key)}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    last, last_change = -1, time.monotonic()
    while True:  # kill once a few records are out: wait on progress, not on the clock
        n = len(out.read_text().splitlines()) if out.is_file() else 0
        if n >= 6:
            break
        if n != last:
            last, last_change = n, time.monotonic()
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() - last_change < 900, "no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = read_records(out)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    records = read_records(out)
    assert len(records) == _design_size(3) == result["traces"]
    assert len(set(_keys(records))) == len(records)  # exactly once each
    assert _keys(records)[: len(before)] == _keys(before)  # nothing written before was lost
    assert 0 < result["requests_sent"] <= _design_size(3) + 3 - len(before)  # nothing done twice


@pytest.mark.slow
def test_the_spending_cap_stops_the_run_before_it_would_pass(
    server: LocalServer, tmp_path: Path
) -> None:
    out = tmp_path / "capped.jsonl"
    cap = 0.0004
    stats, client, _ = _collect(server, out, max_usd=cap)
    records = read_records(out)
    assert stats.stopped_at_cap and 0 < len(records) < _design_size(3) and client.stats.sent > 0
    assert stats.usd_new <= cap
    spent = sum(r["test_usd"] for r in records) + sum(
        s["usd"] for s in read_records(sleep_outputs_path(out))
    )
    assert spent <= cap + 1e-12
    stats2, _, _ = _collect(server, out, max_usd=1.0)  # a higher cap goes on from there
    assert not stats2.stopped_at_cap and len(read_records(out)) == _design_size(3)


@pytest.mark.slow
def test_the_api_key_never_reaches_a_file(server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from sleeptime.experiments import collect_live

    secret = str(server.api_key)  # the server refuses a request without it
    monkeypatch.setenv("SLEEPTIME_TEST_API_KEY", secret)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    result = collect_live(out=tmp_path / "keyed.jsonl", endpoint=server.base_url, model=server.name, api_key_env="SLEEPTIME_TEST_API_KEY",
                          contexts=1, questions_per_context=1, budgets=(0,), progress=False)  # fmt: skip
    assert result.records == 3 and result.mlflow_run_id and result.requests_sent > 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in files) and any(p.name == "mlflow.db" for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_sleep_time_work_through_batch_files(server: LocalServer, tmp_path: Path) -> None:
    """The requests written as a Batch API file, answered (here by the local server, since no
    provider is reachable), returned in another order with one failure, and read back."""
    out = tmp_path / "batched.jsonl"
    batch = tmp_path / "batch_input.jsonl"
    stats, client, _ = _collect(server, out, batch_file=batch)
    lines = [json.loads(x) for x in batch.read_text().splitlines()]
    assert len(lines) == 3 and client.stats.sent == 0 and not out.exists()
    assert all(x["method"] == "POST" and x["url"] == "/v1/chat/completions" and x["body"]["model"] == server.name for x in lines)  # fmt: skip
    results, errors = [], []
    for i, line in enumerate(lines):
        if i == 1:
            errors.append({"id": f"r{i}", "custom_id": line["custom_id"], "response": None, "error": {"code": "server_error", "message": "the batch worker failed"}})  # fmt: skip
            continue
        body = json.dumps(line["body"]).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{server.base_url}/chat/completions", body, _headers(server)), timeout=300) as resp:  # fmt: skip
            results.append({"id": f"r{i}", "custom_id": line["custom_id"], "response": {"status_code": 200, "body": json.loads(resp.read())}, "error": None})  # fmt: skip
    results.reverse()  # any order
    (tmp_path / "out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    (tmp_path / "err.jsonl").write_text("".join(json.dumps(r) + "\n" for r in errors))
    stats, client, imported = _collect(server, out, batch_results=(tmp_path / "out.jsonl", tmp_path / "err.jsonl"))  # fmt: skip
    assert (
        imported is not None
        and imported.imported == 2
        and len(imported.failed) == 1
        and imported.missing == []
    )
    assert any("the batch worker failed" in e for e in stats.errors)
    sleeps = read_records(sleep_outputs_path(out))
    assert len(sleeps) == 3 and sum(s["as_batch"] for s in sleeps) == 2
    # the failed one was sent live (at the live price); the two from the batch were not
    assert client.stats.sent == _design_size(3) + 1
    price = PRICING.price
    for s in sleeps:
        factor = price.batch_discount if s["as_batch"] else price.live_sleep_discount
        prompt = s["input_tokens"] - (1 - price.cache_read_multiplier) * s["cached_input_tokens"]
        assert s["usd"] == pytest.approx(factor * (price.input_usd_per_mtok * prompt + price.output_usd_per_mtok * s["output_tokens"]) / 1e6)  # fmt: skip
    assert len(read_records(out)) == _design_size(3)


@pytest.mark.slow
def test_a_litellm_model_string_reaches_the_same_server(
    server: LocalServer, tmp_path: Path
) -> None:
    require_module("litellm", LITELLM)
    endpoint = Endpoint(
        server.base_url, f"openai/{server.name}", litellm=True, api_key_value=server.api_key
    )
    workload = load_workload("builtin", limit=1)
    grid = Grid((SleepLevel.parse("none"),), (Budget.level(0),))
    _stats, client, _ = collect(workload, endpoint, tmp_path / "litellm.jsonl", design=grid, protocol=Protocol(Prompts.load("gsm")),
                               pricing=PRICING, questions_per_context=2)  # fmt: skip
    records = read_records(tmp_path / "litellm.jsonl")
    assert len(records) == 2 and client.stats.sent == 2 and client.stats.failed == 0
    assert all(r["usage_reported"] and r["test_input_tokens"] > 0 for r in records)


@pytest.mark.slow
def test_the_server_does_not_outlive_a_run_killed_with_sigkill(tmp_path: Path) -> None:
    _require_server()
    proc = subprocess.Popen([sys.executable, "-m", "sleeptime", "serve-local", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        pid = json.loads(proc.stdout.readline())["pid"]
        os.kill(pid, 0)  # serving
        proc.kill()  # no handler runs: the kernel tells the server its parent died
        proc.wait(timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_prompts_file_without_a_key_names_it(tmp_path: Path) -> None:
    from sleeptime.live import LiveError

    bad = tmp_path / "prompts.toml"
    bad.write_text('sleep_system = "x"\n')
    with pytest.raises(LiveError, match=r"prompts\.toml: missing keys \['sleep_user'"):
        Prompts.load(bad)
    assert Prompts.load("aime").family == "aime" and len(Prompts.load("gsm").verbosity) == 5


@pytest.mark.slow
def test_the_policy_design_answers_as_the_exported_policy_decides(server: LocalServer, tmp_path: Path, exported: dict[str, Any]) -> None:  # fmt: skip
    from sleeptime.live import PolicyDesign
    from sleeptime.runtime import RuntimePolicy, cheap_features

    artifact = exported["cheap"]["path"]
    workload = load_workload("builtin", limit=3)
    out = tmp_path / "served.jsonl"
    _stats, client, _ = collect(workload, _endpoint(server), out, design=PolicyDesign(artifact), protocol=Protocol(Prompts.load("gsm")),
                               pricing=PRICING, questions_per_context=2)  # fmt: skip
    records = read_records(out)
    assert (
        len(records) == 6
        and {r["design"] for r in records} == {"policy"}
        and client.stats.failed == 0
        and client.stats.sent > 0
    )
    policy = RuntimePolicy.load(artifact)
    for ctx in workload.contexts:
        feats = {**cheap_features(ctx.context), "expected_queries": 2.0}
        tokens = len(ctx.context) / policy.chars_per_token
        plan = policy.decide_sleep(feats, context_tokens=tokens)
        for r in (r for r in records if r["context_id"] == ctx.context_id):
            q = next(q for q in ctx.queries if q.query_id == r["query_id"])
            d = policy.decide_test({**feats, "question_chars": float(len(q.question))}, sleep_level=plan["sleep_level"], c_prime_ready=True,
                                   prompt_tokens=tokens + len(q.question) / policy.chars_per_token)  # fmt: skip
            # a simulated policy's levels spread over verbosity 0-4; the record names what it served
            v = round(policy.budgets.index(d["budget"]) * 4 / max(1, len(policy.budgets) - 1))
            assert r["sleep_level"] == plan["sleep_level"] and r["budget"] == f"b{v}" and r["verbosity"] == v  # fmt: skip
            assert r["max_tokens"] == d["max_tokens"]
            assert r["view"] == (
                "both" if plan["sleep_level"] != "none" and d["send_c_prime"] else "c"
            )
    # the rerun of the same design sends nothing
    stats2, client2, _ = collect(workload, _endpoint(server), out, design=PolicyDesign(artifact), protocol=Protocol(Prompts.load("gsm")),
                                 pricing=PRICING, questions_per_context=2)  # fmt: skip
    assert stats2.written == 0 and client2.stats.sent == 0


@pytest.mark.slow
def test_streamed_answers_measure_the_time_to_the_first_token(
    server: LocalServer, tmp_path: Path
) -> None:
    workload = load_workload("builtin", limit=1)
    grid = Grid((SleepLevel.parse("none"),), (Budget.level(1),))
    out = tmp_path / "streamed.jsonl"
    _, client, _ = collect(workload, _endpoint(server), out, design=grid, protocol=Protocol(Prompts.load("gsm")), pricing=PRICING,
                           questions_per_context=2, stream=True)  # fmt: skip
    records = read_records(out)
    assert len(records) == 2 and client.stats.sent == 2
    for r in records:
        assert r["usage_reported"] and r["test_output_tokens"] > 0 and r["response"]
        assert 0 < r["ttft_s"] < r["latency_s"]


def _assert_fit_matches_records(effect: Any, records: list[dict[str, Any]]) -> None:
    """The fitted stale effect against what the records show, counted here from the verdicts."""
    import math

    def mean(rows: list[dict[str, Any]]) -> float:
        return sum(float(r["correct"]) for r in rows) / len(rows) if rows else math.nan

    raw = {c: mean([r for r in records if r["condition"] == c]) for c in ("fresh", "stale", "none")}  # fmt: skip
    for c, a in raw.items():
        assert effect.accuracy[c] == pytest.approx(a, abs=1e-12)
        lo, hi = effect.accuracy_ci95[c]
        assert lo - 1e-12 <= a <= hi + 1e-12
        for changed, fitted in ((True, effect.accuracy_changed), (False, effect.accuracy_unchanged)):  # fmt: skip
            sub = mean([r for r in records if r["condition"] == c and bool(r["answer_changed"]) == changed])  # fmt: skip
            assert fitted[c] == pytest.approx(sub, nan_ok=True, abs=1e-12)
    gain = raw["fresh"] - raw["none"]
    if gain > 0:  # the share of the gain lost is the raw stale-fresh difference over the gain
        assert effect.loss == pytest.approx((raw["fresh"] - raw["stale"]) / gain, abs=1e-12)
        assert (effect.loss > 0) == (raw["stale"] < raw["fresh"])
        if math.isfinite(effect.loss_ci95[0]):
            assert effect.loss_ci95[0] - 1e-12 <= effect.loss <= effect.loss_ci95[1] + 1e-12
    else:  # no sleep-time gain in these answers: no share of it can be lost
        assert math.isnan(effect.loss)
    questions = {(r["context_id"], r["query_id"]): bool(r["answer_changed"]) for r in records}
    assert effect.touched == pytest.approx(sum(questions.values()) / len(questions))


def test_the_stale_fit_on_hand_counted_verdicts() -> None:
    from sleeptime.live._stale import fit_stale_effect

    verdicts = {  # (context, query, answer changed): fresh, stale, none
        ("a", "q1", True): (1, 0, 0), ("a", "q2", False): (1, 1, 0),
        ("b", "q1", True): (1, 0, 0), ("b", "q2", False): (0, 0, 0),
    }  # fmt: skip
    records = [
        {"context_id": c, "query_id": q, "answer_changed": ch, "condition": cond, "correct": float(v)}
        for (c, q, ch), vs in verdicts.items()
        for cond, v in zip(("fresh", "stale", "none"), vs, strict=True)
    ]  # fmt: skip
    effect = fit_stale_effect(records, n_boot=200)
    # fresh 3/4, stale 1/4, none 0: a stale c' keeps (1/4 - 0) / (3/4 - 0) of the gain, loses 2/3
    assert effect.accuracy == pytest.approx({"fresh": 0.75, "stale": 0.25, "none": 0.0})
    assert effect.loss == pytest.approx(2 / 3) and effect.touched == 0.5
    assert effect.accuracy_changed == {"fresh": 1.0, "stale": 0.0, "none": 0.0}
    assert effect.accuracy_unchanged == {"fresh": 0.5, "stale": 0.5, "none": 0.0}
    assert effect.wrong_when_changed == 1.0  # both changed answers the fresh c' got right
    # every resample's loss, 1 - w_a / (2 w_a + w_b), lies between context a's (1/2) and b's (1)
    assert 0.5 <= effect.loss_ci95[0] <= effect.loss <= effect.loss_ci95[1] <= 1.0
    _assert_fit_matches_records(effect, records)


def test_answers_from_a_stale_c_prime_are_measured_and_fitted(
    server: LocalServer, tmp_path: Path
) -> None:
    from sleeptime.live._stale import CONDITIONS, measure_stale, read_stale_records
    from sleeptime.workloads._generator import edit_context

    workload = load_workload("builtin", limit=1)
    out = tmp_path / "stale.jsonl"
    effect = measure_stale(workload, _endpoint(server), out, protocol=Protocol(Prompts.load("gsm")), questions_per_context=2)  # fmt: skip
    records = read_stale_records(out)
    assert len(records) == 2 * len(CONDITIONS) and {r["condition"] for r in records} == set(
        CONDITIONS
    )
    edited, key = edit_context(workload.contexts[0])
    gold = {q.query_id: q.answer for q in edited.queries}
    for r in records:  # graded against the edited context's answers
        assert r["gold"] == gold[r["query_id"]] and r["edited_key"] == key
        assert r["correct"] in (0.0, 1.0) and r["model"] == server.name
    assert effect.answers == 6 and effect.contexts == 1
    _assert_fit_matches_records(effect, records)
    before = out.read_text()
    cache = ResponseCache(tmp_path / "stale.cache.sqlite")
    try:
        assert len(cache) == 2 + 6  # two rewrites (original, edited) and six answers
    finally:
        cache.close()
    measure_stale(workload, _endpoint(server), out, protocol=Protocol(Prompts.load("gsm")), questions_per_context=2)  # fmt: skip
    assert out.read_text() == before  # from the cache: the same answers


def test_measure_stale_command(server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from sleeptime._cli.main import main

    out = tmp_path / "cli.jsonl"
    argv = ["measure-stale", "--out", str(out), "--contexts", "1", "--questions-per-context", "1", "--endpoint", server.base_url,
            "--model", server.name, "--budget", "1", "--sleep-level", "k1", "--concurrency", "2", "--seed", "0", "--json",
            "--api-key-env", "SLEEPTIME_TEST_LOCAL_KEY"]  # fmt: skip
    monkeypatch.setenv("SLEEPTIME_TEST_LOCAL_KEY", str(server.api_key))
    assert main(argv) == 0
    data = json.loads(
        capsys.readouterr().out, parse_constant=lambda t: (_ for _ in ()).throw(AssertionError(t))
    )
    assert (
        data["answers"] == 3
        and data["contexts"] == 1
        and set(data["accuracy"]) == {"fresh", "stale", "none"}
    )
    assert {json.loads(line)["budget"] for line in out.read_text().splitlines()} == {"b1"}
    assert main(["measure-stale", "--out", str(out), "--contexts", "0"]) == 1
    assert "--contexts must be at least 1" in capsys.readouterr().err


def test_min_questions_keeps_only_contexts_with_that_many_and_names_the_most(
    tmp_path: Path,
) -> None:
    from sleeptime import WorkloadError
    from sleeptime.experiments import collect_live

    xquad = Path(__file__).resolve().parents[2] / "data" / "xquad" / "xquad.en.json"
    with pytest.raises(
        WorkloadError, match=r"--min-questions 99: no context .* \(the most is 17\)"
    ):
        collect_live(
            str(xquad), tmp_path / "t.jsonl", min_questions=99, track=False, progress=False
        )
