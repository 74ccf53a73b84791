"""An async chat client for any OpenAI-compatible endpoint (or any LiteLLM model string), with
bounded concurrency, retries and a response cache.

Retries: 429, 5xx, timeouts and dropped connections are retried with exponential backoff and
full jitter (``random() * min(max_backoff_s, backoff_s * 2**attempt)``), waiting at least what a
``Retry-After`` header asks (a number of seconds or an HTTP date; a header that is neither, or
not finite, is ignored and the usual backoff applies); after the last retry a
:class:`RequestFailed` names the request (its label: context, query, action) and the status.
Other 4xx answers are not retried. ``timeout_s`` bounds each wait on the server (to connect,
to send, and for each read of the answer): a server that accepts a request and never answers
times out and the request is retried. A streamed answer that ends before its usage event (the
connection closed, or ``[DONE]`` came without a usage chunk or without a ``finish_reason``) is
retried too, and fails after the last retry: an answer is cached only when it came back whole.
At most ``concurrency`` requests are in flight at once (retries and their backoff included).

API keys: an :class:`Endpoint` names the environment variable that holds its key, read when a
request is sent, or holds a key given in memory (``api_key_value``, e.g. the random key of a
local server started for one run); either way the key is never stored, logged, hashed into a
cache key or shown in the endpoint's ``repr``.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import math
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sleeptime._litellm import offline_cost_map
from sleeptime.live._cache import ResponseCache, request_key
from sleeptime.live._errors import LiveError, RequestFailed

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Endpoint:
    """Where requests go. ``base_url``: an OpenAI-compatible API (``http://host:port/v1``);
    ``model``: the model name sent, or with ``litellm=True`` a LiteLLM model string
    (``openai/NAME``, ``anthropic/...``, ``ollama/...``; ``base_url`` is then its ``api_base``,
    optional). ``api_key_env``: the name of the environment variable holding the key (never
    the key itself). ``identity``: what names the endpoint in cache keys and records where its
    URL does not (the embedded server runs on a new port each time; its identity is its model
    file), default the base URL. ``api_key_value``: a key given in memory instead (it wins over
    ``api_key_env``); it is secret: not in ``repr``, :meth:`describe`, comparisons or cache
    keys."""

    base_url: str | None
    model: str
    api_key_env: str | None = None
    litellm: bool = False
    identity: str | None = None
    api_key_value: str | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The endpoint in cache keys and logs: ``identity`` where set, else the base URL,
        else ``litellm``."""
        return self.identity or self.base_url or "litellm"

    def describe(self) -> dict[str, Any]:
        """What may be logged: no key, only the name of its variable."""
        return {"base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env, "litellm": self.litellm, "identity": self.name}  # fmt: skip

    def api_key(self) -> str | None:
        """The key sent: ``api_key_value`` where set, else the value of ``api_key_env``."""
        if self.api_key_value:
            return self.api_key_value
        return os.environ.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion: messages and parameters (``max_tokens``, ``temperature``, ``seed``,
    ``reasoning_effort``...); ``label`` names it in errors and progress. ``shared_chars``: how
    many leading characters of the last message every request of its context shares (the
    context and notes, before the question); a provider that caches only marked prefixes
    (Anthropic) gets that block marked. It changes neither the answer nor the cache key."""

    messages: tuple[Mapping[str, str], ...]
    params: Mapping[str, Any]
    label: str = ""
    shared_chars: int | None = None

    def key(self, endpoint: Endpoint) -> str:
        """The response cache's key of this request at ``endpoint`` (SHA-256 hex of the
        endpoint's name, model, messages and parameters; no API key, no ``label``)."""
        return request_key(endpoint.name, endpoint.model, self.messages, self.params)


@dataclass(frozen=True)
class ChatResponse:
    """What came back: the text, why it ended, the provider's own token counts (None where it
    reported none), the wall time (None for an answer of a batch) and, where streamed, the time
    to the first token."""

    content: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_prompt_tokens: int | None
    latency_s: float | None
    ttft_s: float | None = None
    response_id: str | None = None
    cached: bool = False
    batch: bool = False

    @property
    def usage_reported(self) -> bool:
        """Whether the provider reported both prompt and completion token counts."""
        return self.prompt_tokens is not None and self.completion_tokens is not None

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict the response cache stores (the text, finish reason, token counts,
        seconds and response id; not ``cached`` or ``batch``)."""
        return {k: getattr(self, k) for k in ("content", "finish_reason", "prompt_tokens", "completion_tokens",
                                              "cached_prompt_tokens", "latency_s", "ttft_s", "response_id")}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, cached: bool) -> ChatResponse:
        """The response of a :meth:`to_json` dict (as cached); a field missing or of the wrong
        type reads as None (the text as empty); ``batch`` is the dict's flag (answers of a
        batch are stored with it). ``cached`` says whether it came from the cache."""

        def count(key: str) -> int | None:
            value = data.get(key)
            return int(value) if isinstance(value, int) else None

        def seconds(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) else None

        reason = data.get("finish_reason")
        rid = data.get("response_id")
        return cls(str(data.get("content") or ""), reason if isinstance(reason, str) else None, count("prompt_tokens"),
                   count("completion_tokens"), count("cached_prompt_tokens"), seconds("latency_s"), seconds("ttft_s"),
                   rid if isinstance(rid, str) else None, cached=cached, batch=bool(data.get("batch", False)))  # fmt: skip


def parse_completion(body: Mapping[str, Any], latency_s: float | None, ttft_s: float | None = None) -> ChatResponse:  # fmt: skip
    """A chat completion body (OpenAI's shape) as a :class:`ChatResponse`; a body without
    ``usage`` or with an empty message is kept as such, never read as zeros."""
    choices = body.get("choices")
    first = (
        choices[0]
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping)
        else {}
    )
    message = first.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    content = content if isinstance(content, str) else None
    usage = body.get("usage") if isinstance(body.get("usage"), Mapping) else None
    details = (usage or {}).get("prompt_tokens_details") or {}

    def count(value: Any) -> int | None:
        return (
            int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        )

    return ChatResponse(
        content=str(content or ""),
        finish_reason=first.get("finish_reason") if isinstance(first.get("finish_reason"), str) else None,
        prompt_tokens=count((usage or {}).get("prompt_tokens")),
        completion_tokens=count((usage or {}).get("completion_tokens")),
        cached_prompt_tokens=count(details.get("cached_tokens")) if isinstance(details, Mapping) else None,
        latency_s=latency_s,
        ttft_s=ttft_s,
        response_id=body.get("id") if isinstance(body.get("id"), str) else None,
    )  # fmt: skip


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (a number or an HTTP date, never
    below 0); None where there is none or it is neither (a bad header is ignored)."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass
class ClientStats:
    """What a client did: requests sent (each try counts once), answers from the cache,
    retries, failures, and the provider-reported tokens of the answers that came back."""

    sent: int = 0
    cache_hits: int = 0
    retries: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ChatClient:
    """Sends :class:`ChatRequest` s to an :class:`Endpoint`, at most ``concurrency`` at once.

    ``cache``: answers already received are returned from it without a request, and every new
    answer is committed to it before it is returned (so a run killed at any moment loses none).
    Use inside ``async with`` (it holds one HTTP connection pool). ``concurrency``: requests in
    flight at most (a request holds its slot through its retries). ``timeout_s``: the longest
    wait for the server at each step (connect, send, each read); a wait past it is retried.
    ``stream``: receive answers as server-sent events, which also measures the time to the
    first token (the usage comes in the last event, ``stream_options.include_usage``); the answer
    and its cache key are the same. A stream that ends before its usage event or without a
    ``finish_reason`` is retried, and after the last retry raises :class:`RequestFailed`: it is
    never cached or returned as a finished answer (a server that sends no usage in streams
    cannot be used with ``stream``).
    """

    endpoint: Endpoint
    cache: ResponseCache | None = None
    concurrency: int = 4
    retries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    timeout_s: float = 300.0
    seed: int = 0
    stream: bool = False
    stats: ClientStats = field(default_factory=ClientStats)
    _http: Any = None
    _slots: asyncio.Semaphore | None = None
    _opening: asyncio.Lock | None = None
    _rng: random.Random = field(default_factory=random.Random)

    async def __aenter__(self) -> ChatClient:
        self._rng = random.Random(self.seed)
        self._slots = asyncio.Semaphore(self.concurrency)
        self._opening = asyncio.Lock()
        return self

    async def _connect(self) -> Any:
        """The HTTP connection pool, made (and the endpoint checked, :func:`preflight`) when the
        first request is sent: a run whose answers are all cached never opens one."""
        assert self._opening is not None, "use the client inside `async with`"
        async with self._opening:
            if self._http is None:
                import httpx

                headers = {"Content-Type": "application/json"}
                key = self.endpoint.api_key()
                if key:
                    headers["Authorization"] = f"Bearer {key}"
                limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)  # fmt: skip
                http = httpx.AsyncClient(headers=headers, timeout=self.timeout_s, limits=limits)
                try:
                    await preflight(self.endpoint, http=http)
                except BaseException:
                    await http.aclose()
                    raise
                self._http = http
        return self._http

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def cached(self, request: ChatRequest) -> ChatResponse | None:
        """The cached answer to ``request``, if there is one (no request is sent)."""
        if self.cache is None:
            return None
        hit = self.cache.get(request.key(self.endpoint))
        return None if hit is None else ChatResponse.from_json(hit, cached=True)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """The answer to ``request``: from the cache, or sent (with retries) and cached."""
        hit = self.cached(request)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit
        assert self._slots is not None, "use the client inside `async with`"
        async with self._slots:
            response = await self._send_with_retries(request)
        if self.cache is not None:
            self.cache.put(request.key(self.endpoint), response.to_json())
        if response.usage_reported:
            self.stats.prompt_tokens += response.prompt_tokens or 0
            self.stats.completion_tokens += response.completion_tokens or 0
        return response

    async def _send_with_retries(self, request: ChatRequest) -> ChatResponse:
        last = "no attempt"
        status: int | None = None
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                self.stats.sent += 1
                return await self._send(request)
            except _Retryable as exc:
                last, status, wait = exc.reason, exc.status, exc.retry_after
            except RequestFailed:
                self.stats.failed += 1
                raise
            if attempt == self.retries:
                break
            self.stats.retries += 1
            backoff = self._rng.random() * min(self.max_backoff_s, self.backoff_s * 2**attempt)
            await asyncio.sleep(max(backoff, wait or 0.0))
        self.stats.failed += 1
        raise RequestFailed(f"{request.label or 'request'}: {last} after {self.retries + 1} attempts", status=status)  # fmt: skip

    async def _send(self, request: ChatRequest) -> ChatResponse:
        if self.endpoint.litellm:
            return await self._send_litellm(request)
        import httpx

        url = f"{(self.endpoint.base_url or '').rstrip('/')}/chat/completions"
        body = {"model": self.endpoint.model, "messages": list(request.messages), **request.params}
        http = await self._connect()
        if self.stream:
            return await self._send_streamed(http, url, body, request)
        started = time.perf_counter()
        try:
            r = await http.post(url, content=json.dumps(body))
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from None
        latency = time.perf_counter() - started
        if r.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {r.status_code}", r.status_code, _retry_after(r.headers))
        if r.status_code >= 400:
            raise RequestFailed(f"{request.label or 'request'}: HTTP {r.status_code} from {url}: {r.text[:300]}", status=r.status_code)  # fmt: skip
        try:
            data = r.json()
        except ValueError:
            raise _Retryable(f"HTTP {r.status_code} with a body that is not JSON") from None
        if not isinstance(data, Mapping):
            raise _Retryable("a response that is not a JSON object")
        return parse_completion(data, latency)

    async def _send_streamed(self, http: Any, url: str, body: dict[str, Any], request: ChatRequest) -> ChatResponse:  # fmt: skip
        import httpx

        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        started = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        last: dict[str, Any] = {}
        reason: str | None = None
        try:
            async with http.stream("POST", url, content=json.dumps(body)) as r:
                if r.status_code in RETRY_STATUS:
                    raise _Retryable(
                        f"HTTP {r.status_code}", r.status_code, _retry_after(r.headers)
                    )
                if r.status_code >= 400:
                    text = (await r.aread()).decode(errors="replace")
                    raise RequestFailed(f"{request.label or 'request'}: HTTP {r.status_code} from {url}: {text[:300]}", status=r.status_code)  # fmt: skip
                async for line in r.aiter_lines():
                    if not line.startswith("data:") or line.strip() == "data: [DONE]":
                        continue
                    try:
                        event = json.loads(line[5:])
                    except ValueError:
                        continue
                    if not isinstance(event, Mapping):
                        continue
                    choices = event.get("choices")
                    for choice in choices if isinstance(choices, list) else []:
                        if not isinstance(choice, Mapping):
                            continue
                        delta = choice.get("delta")
                        content = delta.get("content") if isinstance(delta, Mapping) else None
                        if isinstance(content, str) and content:
                            if first is None:
                                first = time.perf_counter() - started
                            parts.append(content)
                        ended = choice.get("finish_reason")
                        if isinstance(ended, str) and ended:
                            reason = ended
                    if isinstance(event.get("usage"), Mapping) and event["usage"]:
                        last = dict(event)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from None
        # the usage event comes last: a stream without it (or without a finish_reason) was cut
        # short (a dropped connection, a server that stopped) and is not a finished answer
        if not last.get("usage"):
            raise _Retryable("stream ended before its usage event")
        if reason is None:
            raise _Retryable("stream ended without a finish_reason")
        merged = {"id": last.get("id"), "usage": last.get("usage"),
                  "choices": [{"index": 0, "finish_reason": reason, "message": {"role": "assistant", "content": "".join(parts)}}]}  # fmt: skip
        return parse_completion(merged, time.perf_counter() - started, first)

    async def _send_litellm(self, request: ChatRequest) -> ChatResponse:
        offline_cost_map()
        try:
            import litellm
        except ImportError:
            raise LiveError("LiteLLM model strings need litellm: pip install 'sleeptime[litellm]'") from None  # fmt: skip
        messages: list[Any] = list(request.messages)
        if request.shared_chars and caches_marked_prefixes(self.endpoint.model):
            messages = mark_cached_prefix(messages, request.shared_chars)
        kwargs: dict[str, Any] = {"model": self.endpoint.model, "messages": messages, **request.params,
                                  "num_retries": 0, "timeout": self.timeout_s,
                                  # a parameter the provider lacks (Anthropic has no seed) is left out, not an error
                                  "drop_params": True}  # fmt: skip
        if self.endpoint.base_url:
            kwargs["api_base"] = self.endpoint.base_url
        key = self.endpoint.api_key()
        if key:
            kwargs["api_key"] = key
        elif self.endpoint.base_url:
            kwargs["api_key"] = "none"  # a server of one's own checks no key; LiteLLM wants one
        started = time.perf_counter()
        try:
            result = await litellm.acompletion(**kwargs)
        except Exception as exc:  # LiteLLM maps every provider's errors onto its own classes
            status = getattr(exc, "status_code", None)
            if status is None or status in RETRY_STATUS:
                raise _Retryable(f"{type(exc).__name__}: {str(exc)[:200]}", status) from None
            raise RequestFailed(f"{request.label or 'request'}: {type(exc).__name__} (status {status}): {str(exc)[:300]}", status=status) from None  # fmt: skip
        body = result.model_dump() if hasattr(result, "model_dump") else dict(result)
        return parse_completion(body, time.perf_counter() - started)


def caches_marked_prefixes(model: str) -> bool:
    """Whether a LiteLLM model string names a provider that caches only the prompt blocks marked
    with ``cache_control`` (Anthropic's models, direct or through another cloud); OpenAI and
    llama.cpp cache long prefixes by themselves."""
    name = model.lower()
    return name.startswith("anthropic/") or "claude" in name


def mark_cached_prefix(messages: list[Any], shared_chars: int) -> list[Any]:
    """``messages`` with the last one split into two text blocks, the shared prefix marked
    ``cache_control: ephemeral`` (Anthropic reads a cached prefix at a tenth of the input
    price); the text sent is the same."""
    *head, last = messages
    text = str(last.get("content", ""))
    if not 0 < shared_chars < len(text):
        return messages
    blocks = [{"type": "text", "text": text[:shared_chars], "cache_control": {"type": "ephemeral"}},
              {"type": "text", "text": text[shared_chars:]}]  # fmt: skip
    return [*head, {**last, "content": blocks}]


class _Retryable(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:  # fmt: skip
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


async def preflight(endpoint: Endpoint, timeout_s: float = 5.0, *, http: Any = None) -> None:
    """Fail within seconds, with one clear line, where the endpoint cannot be reached."""
    if endpoint.litellm or not endpoint.base_url:
        return
    import httpx

    url = f"{endpoint.base_url.rstrip('/')}/models"
    try:
        if http is not None:
            await http.get(url, timeout=timeout_s)
        else:
            async with httpx.AsyncClient(timeout=timeout_s) as own:
                await own.get(url)
    except httpx.HTTPError as exc:
        raise LiveError(f"cannot reach {endpoint.base_url} ({type(exc).__name__}: {exc or 'no answer'}); start a server "
                        "(sleeptime serve-local) or pass --endpoint with an OpenAI-compatible base URL") from None  # fmt: skip
