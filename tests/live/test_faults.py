"""The client and ``sleeptime collect`` against a real HTTP server on loopback that answers badly
on purpose: retries, Retry-After (good and bad), the error after the last retry, answers without
usage, empty or cut, streams that end early, a server that never answers, the number of
requests in flight, a key given in memory, and a collection run with failed requests."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sleeptime.live import (
    ChatClient,
    ChatRequest,
    Endpoint,
    LiveError,
    RequestFailed,
    ResponseCache,
    preflight,
)
from sleeptime.live._client import _retry_after
from tests._required import LITELLM, require_module
from tests._servers import free_port

#: A stuck (scripted) server fails the test instead of hanging the run: 900 s (pytest-timeout),
#: far above the few seconds a test here takes.
pytestmark = pytest.mark.timeout(900)

OK_BODY = {"id": "x1", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The answer is 6."}}],
           "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}  # fmt: skip

Answer = tuple[int, dict[str, str], Any]

#: An answer that never comes: the server reads the request, then holds the connection open
#: (until the test ends) without a byte.
HANG = object()


@dataclass(frozen=True)
class SSE:
    """A streamed answer: each event (a JSON object, or the string ``[DONE]``) as a ``data:``
    line, then the connection closes (the response has no length: its end is the close)."""

    events: tuple[Any, ...]


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"id": "s1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}]}  # fmt: skip


USAGE_EVENT = {"id": "s1", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}  # fmt: skip
FULL_STREAM = SSE((chunk("The answer"), chunk(" is 6."), chunk(finish="stop"), USAGE_EVENT, "[DONE]"))  # fmt: skip


class Script:
    """What the server answers to each POST, in order (the last answer repeats), unless
    ``route`` answers it from its body; what it saw (times, headers, bodies), and the requests
    in flight (from when a request is read until its answer starts) with their maximum.
    ``delay_s``: every answer waits that long first."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers
        self.route: Callable[[dict[str, Any]], Answer | None] | None = None
        self.delay_s = 0.0
        self.posts = 0
        self.scripted = 0
        self.times: list[float] = []
        self.headers: list[dict[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.released = threading.Event()  # set when the test ends: hung answers give up
        self.lock = threading.Lock()

    def arrive(self, headers: dict[str, str], body: dict[str, Any]) -> Answer:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.times.append(time.monotonic())
            self.headers.append(headers)
            self.bodies.append(body)
            self.posts += 1
            routed = self.route(body) if self.route is not None else None
            if routed is not None:
                return routed
            i = min(self.scripted, len(self.answers) - 1)
            self.scripted += 1
            return self.answers[i]

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([(200, {}, OK_BODY)])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, status: int, headers: dict[str, str], sse: SSE) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in sse.events:
                text = event if isinstance(event, str) else json.dumps(event)
                self.wfile.write(f"data: {text}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

        def do_GET(self) -> None:
            self._send(200, {}, {"data": []})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            status, headers, answer = script.arrive({k.lower(): v for k, v in self.headers.items()}, body)  # fmt: skip
            try:
                if script.delay_s:
                    time.sleep(script.delay_s)
                if answer is HANG:
                    script.released.wait(60)
                    self.close_connection = True
                    return
            finally:
                script.leave()
            if isinstance(answer, SSE):
                self._stream(status, headers, answer)
            else:
                self._send(status, headers, answer)

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1", script
    finally:
        script.released.set()
        httpd.shutdown()
        httpd.server_close()


REQUEST = ChatRequest(({"role": "user", "content": "3 pens at $2?"},), {"max_tokens": 8, "seed": 0}, "context c1 query q0 (none, b0, c)")  # fmt: skip


def _ask(url: str, *, retries: int = 3, cache: ResponseCache | None = None, stream: bool = False,
         timeout_s: float = 300.0, endpoint: Endpoint | None = None) -> Any:  # fmt: skip
    async def go() -> Any:
        async with ChatClient(endpoint or Endpoint(url, "m"), cache, retries=retries, backoff_s=0.05, max_backoff_s=0.2,
                              timeout_s=timeout_s, stream=stream) as client:  # fmt: skip
            return await client.complete(REQUEST), client.stats

    return asyncio.run(go())


def test_500_and_429_are_retried_and_retry_after_is_honoured(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(500, {}, {"error": "boom"}), (429, {"Retry-After": "1"}, {"error": "slow down"}), (200, {}, OK_BODY)]  # fmt: skip
    response, stats = _ask(url)
    assert response.content == "The answer is 6." and response.completion_tokens == 5
    assert script.posts == 3 and stats.retries == 2 and stats.sent == 3 and stats.failed == 0
    assert script.times[2] - script.times[1] >= 0.95  # waited what Retry-After asked


@pytest.mark.parametrize("value", ["soon", "inf", "nan", "Fri, 99 Foo 2024 25:61:00 GMT", "-"])
def test_a_bad_retry_after_is_ignored_and_the_usual_backoff_applies(server: tuple[str, Script], value: str) -> None:  # fmt: skip
    url, script = server
    script.answers = [(503, {"Retry-After": value}, {"error": "busy"}), (200, {}, OK_BODY)]
    response, stats = _ask(url)
    assert response.content == "The answer is 6."
    assert script.posts == 2 and stats.retries == 1 and stats.failed == 0
    assert script.times[1] - script.times[0] < 2.0  # the usual backoff (<= 0.2 s) only


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime, timedelta

    future = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert _retry_after({"retry-after": "1.5"}) == 1.5
    assert _retry_after({"retry-after": "-3"}) == 0.0
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert 55 < (_retry_after({"retry-after": future}) or 0) <= 60
    for bad in ("", "soon", "inf", "-inf", "nan", "Wed, 21 Foo 2015 07:28:00 GMT"):
        assert _retry_after({"retry-after": bad}) is None, bad
    assert _retry_after({}) is None


def test_the_last_retry_ends_in_an_error_naming_the_request(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(503, {}, {"error": "down"})]
    with pytest.raises(RequestFailed, match=r"context c1 query q0 \(none, b0, c\): HTTP 503 after 3 attempts") as info:  # fmt: skip
        _ask(url, retries=2)
    assert info.value.status == 503 and script.posts == 3


def test_other_client_errors_are_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(400, {}, {"error": "bad request"})]
    with pytest.raises(RequestFailed, match="HTTP 400"):
        _ask(url)
    assert script.posts == 1


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ({**OK_BODY, "usage": None}, lambda r: r.prompt_tokens is None and r.completion_tokens is None and not r.usage_reported),
        ({**OK_BODY, "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ""}}]}, lambda r: r.content == "" and r.usage_reported),
        ({**OK_BODY, "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "The answer"}}]}, lambda r: r.finish_reason == "length"),
    ],
    ids=["no usage", "empty message", "cut by max_tokens"],
)  # fmt: skip
def test_odd_answers_are_recorded_as_they_are(server: tuple[str, Script], body: dict[str, Any], check: Any) -> None:  # fmt: skip
    url, script = server
    script.answers = [(200, {}, body)]
    response, _ = _ask(url)
    assert check(response)


def test_the_cache_answers_a_repeated_request_without_sending_it(server: tuple[str, Script], tmp_path: Path) -> None:  # fmt: skip
    url, script = server
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first, _ = _ask(url, cache=cache)
    again, stats = _ask(url, cache=cache)
    assert script.posts == 1 and stats.sent == 0 and stats.cache_hits == 1
    assert (
        again.cached
        and again.content == first.content
        and again.completion_tokens == first.completion_tokens
    )


# ---------------------------------------------------------------------- streamed answers
def test_a_full_stream_is_read_with_its_usage_and_time_to_first_token(server: tuple[str, Script]) -> None:  # fmt: skip
    url, script = server
    script.answers = [(200, {}, FULL_STREAM)]
    response, stats = _ask(url, stream=True)
    assert response.content == "The answer is 6." and response.finish_reason == "stop"
    assert (response.prompt_tokens, response.completion_tokens) == (11, 5) and response.response_id == "s1"  # fmt: skip
    assert response.ttft_s is not None and 0 < response.ttft_s <= (response.latency_s or 0)
    assert script.posts == 1 and stats.retries == 0
    assert script.bodies[0]["stream"] is True and script.bodies[0]["stream_options"] == {"include_usage": True}  # fmt: skip


CUT_STREAMS = [
    (SSE((chunk("The answer"),)), "stream ended before its usage event"),  # the connection closed mid-answer
    (SSE((chunk("The answer is 6."), chunk(finish="stop"), "[DONE]")), "stream ended before its usage event"),
    (SSE((chunk("The answer"), USAGE_EVENT, "[DONE]")), "stream ended without a finish_reason"),
]  # fmt: skip
CUT_IDS = ["closed mid-answer", "[DONE] without usage", "usage without finish_reason"]


@pytest.mark.parametrize(("cut", "reason"), CUT_STREAMS, ids=CUT_IDS)
def test_a_stream_cut_short_is_retried_and_the_full_one_is_cached(server: tuple[str, Script], tmp_path: Path, cut: SSE, reason: str) -> None:  # fmt: skip
    url, script = server
    script.answers = [(200, {}, cut), (200, {}, FULL_STREAM)]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    response, stats = _ask(url, stream=True, cache=cache)
    assert response.content == "The answer is 6." and response.completion_tokens == 5
    assert script.posts == 2 and stats.retries == 1 and stats.failed == 0
    assert len(cache) == 1
    again, stats = _ask(url, stream=True, cache=cache)  # what was cached is the full answer
    assert again.cached and again.content == "The answer is 6." and again.usage_reported
    assert again.finish_reason == "stop" and stats.sent == 0 and script.posts == 2


@pytest.mark.parametrize(("cut", "reason"), CUT_STREAMS, ids=CUT_IDS)
def test_a_stream_always_cut_short_fails_and_is_never_cached(server: tuple[str, Script], tmp_path: Path, cut: SSE, reason: str) -> None:  # fmt: skip
    url, script = server
    script.answers = [(200, {}, cut)]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with pytest.raises(RequestFailed, match=rf"context c1 query q0 \(none, b0, c\): {reason} after 3 attempts"):  # fmt: skip
        _ask(url, stream=True, cache=cache, retries=2)
    assert script.posts == 3 and len(cache) == 0


# ---------------------------------------------------------------------- a server that never answers
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_server_that_never_answers_times_out_and_the_request_is_retried(server: tuple[str, Script], stream: bool) -> None:  # fmt: skip
    url, script = server
    script.answers = [(200, {}, HANG), (200, {}, FULL_STREAM if stream else OK_BODY)]
    started = time.monotonic()
    response, stats = _ask(url, stream=stream, timeout_s=0.5)
    assert response.content == "The answer is 6." and response.usage_reported
    assert script.posts == 2 and stats.retries == 1 and stats.failed == 0
    assert script.times[1] - script.times[0] >= 0.45  # it waited the timeout, not less
    assert time.monotonic() - started < 10


def test_a_server_that_never_answers_fails_after_the_last_retry(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(200, {}, HANG)]
    with pytest.raises(RequestFailed, match=r"context c1 query q0 \(none, b0, c\): timed out \(ReadTimeout\) after 2 attempts"):  # fmt: skip
        _ask(url, retries=1, timeout_s=0.3)
    assert script.posts == 2


# ---------------------------------------------------------------------- concurrency
def test_requests_in_flight_never_exceed_the_concurrency(server: tuple[str, Script]) -> None:
    url, script = server
    script.delay_s = 0.2
    requests = [ChatRequest(({"role": "user", "content": f"question {i}"},), {"max_tokens": 8}, f"request {i}") for i in range(12)]  # fmt: skip

    async def go() -> list[Any]:
        async with ChatClient(Endpoint(url, "m"), concurrency=3) as client:
            return await asyncio.gather(*(client.complete(r) for r in requests))

    started = time.monotonic()
    responses = asyncio.run(go())
    assert len(responses) == 12 and script.posts == 12
    assert script.max_in_flight == 3  # as many as allowed, never more
    assert time.monotonic() - started >= 4 * 0.2 - 0.05  # 12 answers of 0.2 s, 3 at a time


# ---------------------------------------------------------------------- keys given in memory
def test_a_key_given_in_memory_is_sent_as_a_bearer_token_and_never_shown(server: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    url, script = server
    secret = "sk-sleeptime-" + secrets.token_hex(16)
    monkeypatch.setenv("SLEEPTIME_TEST_ENV_KEY", "sk-from-the-environment")
    endpoint = Endpoint(url, "m", api_key_env="SLEEPTIME_TEST_ENV_KEY", api_key_value=secret)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    _ask(url, endpoint=endpoint, cache=cache)
    cache.close()
    assert script.headers[-1]["authorization"] == f"Bearer {secret}"  # it wins over the variable
    assert secret not in repr(endpoint) and secret not in json.dumps(endpoint.describe())
    assert secret not in str(endpoint) and "api_key_value" not in endpoint.describe()
    # not part of what the endpoint is: equal to the same endpoint without it, same cache keys
    plain = Endpoint(url, "m", api_key_env="SLEEPTIME_TEST_ENV_KEY")
    assert endpoint == plain and hash(endpoint) == hash(plain)
    assert REQUEST.key(endpoint) == REQUEST.key(plain)
    assert plain.api_key() == "sk-from-the-environment" and endpoint.api_key() == secret
    assert secret.encode() not in (tmp_path / "cache.sqlite").read_bytes()
    # without a key no Authorization header is sent
    monkeypatch.delenv("SLEEPTIME_TEST_ENV_KEY")
    _ask(url, endpoint=Endpoint(url, "m", api_key_env="SLEEPTIME_TEST_ENV_KEY"))
    assert "authorization" not in script.headers[-1]


# ---------------------------------------------------------------------- the endpoint is down
def test_a_refused_connection_is_one_clear_error_within_seconds() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(LiveError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1 \(ConnectError"):
        asyncio.run(preflight(Endpoint(url, "m")))
    assert time.monotonic() - started < 5


def test_collect_against_a_refused_endpoint_is_one_line_and_exit_1(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sleeptime", "collect", "--endpoint", url, "--model", "m", "--contexts", "1",
                           "--out", str(tmp_path / "t.jsonl"), "--no-track"], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"sleeptime: error: cannot reach {url}" in done.stderr
    assert time.monotonic() - started < 60  # most of it is the interpreter starting
    assert not (tmp_path / "t.jsonl").exists() or not (tmp_path / "t.jsonl").read_text()


# ---------------------------------------------------------------------- sleeptime collect
QUESTIONS = 2
CELLS = (("none", "c"), ("k1", "c_prime"), ("k1", "both"))  # --sleep-levels none,k1 --budgets 0


def _collect(url: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:  # fmt: skip
    """``sleeptime collect --json`` run by its entry point: (exit status, its JSON, stderr)."""
    from sleeptime._cli.main import main

    status = main(["collect", "--endpoint", url, "--model", "m", "--contexts", "2", "--questions-per-context", str(QUESTIONS),
                   "--sleep-levels", "none,k1", "--budgets", "0", "--out", str(out), "--no-track", "--json", *extra])  # fmt: skip
    captured = capsys.readouterr()
    return status, json.loads(captured.out), captured.err


def _keys(records: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"]) for r in records]  # fmt: skip


def test_a_collect_run_with_failed_requests_says_so_and_a_rerun_writes_just_the_missing_records(
    server: tuple[str, Script], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One answer cell gets HTTP 400 and one context's sleep-time rewrite fails: the run writes
    what it can, counts 2 failed requests, names them and exits 1; the rerun (the server now
    answering) sends just what is missing and every record of the design is in the file once."""
    from sleeptime.live import Budget, Prompts, Protocol, SleepLevel, read_records
    from sleeptime.live import sleep_outputs_path as sleeps_of
    from sleeptime.workloads import load_workload

    url, script = server
    contexts = load_workload("builtin", limit=2).contexts
    protocol = Protocol(Prompts.load("gsm"))  # the command's defaults (temperature 0, seed 0)
    slept, answered = contexts[0], contexts[1]
    query = answered.queries[0]
    bad_sleep = [dict(m) for m in protocol.sleep_requests(slept.context, SleepLevel.parse("k1"), "")[0].messages]  # fmt: skip
    bad_answer = [dict(m) for m in protocol.answer_request(answered.context, query.question, None, Budget.level(0), "c", "").messages]  # fmt: skip
    failing = {"on": True}

    def route(body: dict[str, Any]) -> Answer | None:
        if failing["on"] and body.get("messages") in (bad_sleep, bad_answer):
            return (400, {}, {"error": {"message": "bad request"}})
        return None

    script.route = route
    out = tmp_path / "traces.jsonl"
    status, result, err = _collect(url, out, capsys)
    design = {(c.context_id, q.query_id, s, "b0", v) for c in contexts for q in c.queries[:QUESTIONS] for s, v in CELLS}  # fmt: skip
    sleep_label = f"context {slept.context_id} sleep k1 rewrite 1/1: HTTP 400"
    answer_label = f"context {answered.context_id} query {query.query_id} (none, b0, c): HTTP 400"
    assert status == 1
    # 2 rewrites and every answer but the 4 that needed the failed rewrite's notes
    assert result["failed"] == 2 and script.posts == 2 + len(design) - 2 * QUESTIONS
    # the records of the failed rewrite (2 queries x 2 views) and the failed answer are missing
    first = read_records(out)
    assert result["traces"] == len(first) == len(design) - 2 * QUESTIONS - 1
    assert any(sleep_label in e for e in result["errors"]) and any(answer_label in e for e in result["errors"])  # fmt: skip
    assert (
        "sleeptime: error: 2 requests failed" in err and "rerun" in err and "Traceback" not in err
    )
    assert sleep_label in err and answer_label in err
    assert len(read_records(sleeps_of(out))) == 1

    failing["on"] = False
    posts = script.posts
    status, result, err = _collect(url, out, capsys)
    assert status == 0 and not err.strip(), err
    records = read_records(out)
    assert result["failed"] == 0 and result["traces"] == len(records) == len(design)
    # just what was missing: the rewrite, its 4 answers and the failed answer
    assert result["requests_sent"] == script.posts - posts == 1 + 2 * QUESTIONS + 1
    assert sorted(_keys(records)) == sorted(design)  # every record once
    assert records[: len(first)] == first  # nothing written before was touched
    assert sorted(s["context_id"] for s in read_records(sleeps_of(out))) == sorted(c.context_id for c in contexts)  # fmt: skip


def test_collect_keeps_at_most_its_concurrency_in_flight(server: tuple[str, Script], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    url, script = server
    script.delay_s = 0.1
    status, result, _ = _collect(url, tmp_path / "traces.jsonl", capsys, "--concurrency", "2")
    assert status == 0 and result["failed"] == 0
    assert result["traces"] == 2 * QUESTIONS * len(CELLS) and result["requests_sent"] == script.posts == 2 + 2 * QUESTIONS * len(CELLS)  # fmt: skip
    assert script.max_in_flight == 2


def test_the_tests_do_not_read_the_users_cache() -> None:
    """tests/conftest.py gives the session a fresh cache folder (features, responses), which
    the commands the tests start inherit."""
    import subprocess
    import sys

    from sleeptime.estimators import cache_dir

    folder = cache_dir()
    assert folder != Path.home() / ".cache" / "sleeptime" and folder.name.startswith("sleeptime-test-cache-")  # fmt: skip
    child = subprocess.run([sys.executable, "-c", "from sleeptime.estimators import cache_dir; print(cache_dir())"],
                           capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    assert child.stdout.strip() == str(folder)


ANTHROPIC_BODY = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-7-sonnet-latest",
                  "content": [{"type": "text", "text": "The answer is 6."}], "stop_reason": "end_turn", "stop_sequence": None,
                  "usage": {"input_tokens": 3, "output_tokens": 5, "cache_read_input_tokens": 1200, "cache_creation_input_tokens": 0}}  # fmt: skip


def test_anthropic_through_litellm_gets_the_shared_prefix_marked_for_its_cache(server: tuple[str, Script]) -> None:  # fmt: skip
    """Anthropic caches only blocks marked ``cache_control``: the context (and notes) block of an
    answer request is marked, the question is not, the text sent is the same, and the cached
    tokens it reports come back as ``cached_prompt_tokens``. (LiteLLM's real Anthropic client,
    against this loopback server in Anthropic's shape.)"""
    require_module("litellm", LITELLM)
    from sleeptime.live import Budget, Prompts, Protocol

    url, script = server
    script.answers = [(200, {}, ANTHROPIC_BODY)]
    protocol = Protocol(Prompts.load("gsm"))
    context = "Ann has 3 pens. Each pen costs $2. " * 40
    request = protocol.answer_request(
        context, "How much do the pens cost?", None, Budget.level(0), "c", "q1"
    )
    prefix = request.messages[-1]["content"][: request.shared_chars]
    assert context.strip() in prefix and "How much" not in prefix

    async def go() -> Any:
        endpoint = Endpoint(
            url, "anthropic/claude-3-7-sonnet-latest", litellm=True, api_key_value="sk-ant-test"
        )
        async with ChatClient(endpoint, retries=0) as client:
            return await client.complete(request)

    response = asyncio.run(go())
    sent = script.bodies[-1]["messages"][-1]["content"]
    assert isinstance(sent, list) and sent[0]["cache_control"] == {"type": "ephemeral"} and "cache_control" not in sent[1]  # fmt: skip
    assert "".join(block["text"] for block in sent) == request.messages[-1]["content"]
    assert "How much do the pens cost?" in sent[1]["text"] and context.strip() in sent[0]["text"]
    assert response.cached_prompt_tokens == 1200 and response.content == "The answer is 6."


def test_a_contexts_answer_requests_share_their_prefix_up_to_the_question() -> None:
    """What a prompt cache can reuse: every answer request of a context and view is the same
    text up to the question, whatever the budget; the budget's instruction comes last."""
    from sleeptime.live import Budget, Prompts, Protocol

    protocol = Protocol(Prompts.load("gsm"))
    context, notes = "Ann has 3 pens at $2 each and 4 pencils at $1 each.", "pens: 6 dollars"
    for view in ("c", "c_prime", "both"):
        requests = [protocol.answer_request(context, q, notes, Budget.level(b), view, "") for q in ("How much for pens?", "And pencils?") for b in (0, 2)]  # fmt: skip
        systems = {r.messages[0]["content"] for r in requests}
        assert len(systems) == 1  # one system prompt for every budget
        shared = {r.messages[-1]["content"][: r.shared_chars] for r in requests}
        assert (
            len(shared) == 1 and context in shared.pop() if view != "c_prime" else len(shared) == 1
        )
        for r, b in zip(requests, (0, 2, 0, 2), strict=True):
            assert r.messages[-1]["content"].endswith(protocol.prompts.verbosity[b])
