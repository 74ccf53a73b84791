"""The client against a real HTTP server on loopback that answers badly on purpose: retries,
Retry-After, the error after the last retry, and answers without usage, empty or cut."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
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
from tests._servers import free_port

OK_BODY = {"id": "x1", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The answer is 6."}}],
           "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}  # fmt: skip


class Script:
    """What the server answers to each POST, in order; the last answer repeats."""

    def __init__(self, answers: list[tuple[int, dict[str, str], Any]]) -> None:
        self.answers = answers
        self.posts = 0
        self.times: list[float] = []

    def next(self) -> tuple[int, dict[str, str], Any]:
        self.times.append(time.monotonic())
        i = min(self.posts, len(self.answers) - 1)
        self.posts += 1
        return self.answers[i]


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

        def do_GET(self) -> None:
            self._send(200, {}, {"data": []})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(*script.next())

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _ask(url: str, *, retries: int = 3, cache: ResponseCache | None = None) -> Any:
    request = ChatRequest(({"role": "user", "content": "3 pens at $2?"},), {"max_tokens": 8, "seed": 0}, "context c1 query q0 (none, b0, c)")  # fmt: skip

    async def go() -> Any:
        async with ChatClient(Endpoint(url, "m"), cache, retries=retries, backoff_s=0.05, max_backoff_s=0.2) as client:  # fmt: skip
            return await client.complete(request), client.stats

    return asyncio.run(go())


def test_500_and_429_are_retried_and_retry_after_is_honoured(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(500, {}, {"error": "boom"}), (429, {"Retry-After": "1"}, {"error": "slow down"}), (200, {}, OK_BODY)]  # fmt: skip
    response, stats = _ask(url)
    assert response.content == "The answer is 6." and response.completion_tokens == 5
    assert script.posts == 3 and stats.retries == 2 and stats.sent == 3 and stats.failed == 0
    assert script.times[2] - script.times[1] >= 0.95  # waited what Retry-After asked


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
