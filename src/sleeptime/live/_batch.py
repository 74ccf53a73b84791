"""Sleep-time work through a provider's Batch API (OpenAI's file format; Anthropic's batches take
the same requests).

:func:`write_batch_file` writes one request per line, ``{"custom_id", "method": "POST", "url":
"/v1/chat/completions", "body": {...}}``, the ``custom_id`` being the request's cache key; a
provider runs the file (at its batch price, within its window) and returns an output file and an
error file whose lines map back by ``custom_id``, in any order. :func:`import_batch_results`
puts each answer into the response cache, so that the run continues as if it had sent them, and
reports the requests that failed or never came back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime._atomic import atomic_open
from sleeptime.live._cache import ResponseCache
from sleeptime.live._client import ChatRequest, Endpoint, parse_completion
from sleeptime.live._errors import LiveError
from sleeptime.live._jsonl import jsonl_objects

BATCH_URL = "/v1/chat/completions"
#: OpenAI's limit on the requests of one batch file.
MAX_REQUESTS = 50_000


def write_batch_file(requests: Sequence[ChatRequest], endpoint: Endpoint, path: str | Path) -> Path:
    """The requests as a Batch API input file (atomically); ``custom_id`` = the cache key."""
    if len(requests) > MAX_REQUESTS:
        raise LiveError(f"{len(requests)} requests: a batch file holds at most {MAX_REQUESTS}; split the run (--contexts)")  # fmt: skip
    target = Path(path)
    seen = set()
    with atomic_open(target) as handle:
        for r in requests:
            key = r.key(endpoint)
            if key in seen:
                continue
            seen.add(key)
            body = {"model": endpoint.model, "messages": list(r.messages), **r.params}
            handle.write(json.dumps({"custom_id": key, "method": "POST", "url": BATCH_URL, "body": body}) + "\n")  # fmt: skip
    return target


@dataclass
class BatchImport:
    """What a batch's result files held: answers imported into the cache, requests that failed
    (custom id and why), and requests of the run that neither file mentions."""

    imported: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown: int = 0


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise LiveError(f"{path}: no such batch result file")
    out = jsonl_objects(path.read_text(encoding="utf-8"), path, hint="; a batch result line is a JSON object with a custom_id")  # fmt: skip
    for n, rec in out:
        if not isinstance(rec.get("custom_id"), str):
            raise LiveError(f"{path}:{n}: a batch result line needs a custom_id")
    return out


def import_batch_results(
    requests: Sequence[ChatRequest],
    endpoint: Endpoint,
    cache: ResponseCache,
    output: str | Path,
    errors: str | Path | None = None,
) -> BatchImport:
    """Read a batch's output (and error) file back into ``cache`` for ``requests``."""
    wanted = {r.key(endpoint) for r in requests}
    report = BatchImport()
    answered: set[str] = set()
    for path in [Path(output), *([Path(errors)] if errors else [])]:
        for n, rec in _lines(path):
            cid = rec["custom_id"]
            if cid not in wanted:
                report.unknown += 1
                continue
            response = rec.get("response")
            response = response if isinstance(response, dict) else {}
            status = response.get("status_code")
            body = response.get("body")
            if rec.get("error") or status != 200 or not isinstance(body, dict):
                err = rec.get("error")
                message = (
                    err.get("message") if isinstance(err, dict) else (str(err) if err else None)
                )
                report.failed.append((cid, str(message or f"status {status!r} ({path.name}:{n})")))
                answered.add(cid)
                continue
            parsed = parse_completion(body, latency_s=None)
            cache.put(cid, {**parsed.to_json(), "batch": True})
            report.imported += 1
            answered.add(cid)
    report.missing = sorted(wanted - answered - {k for k in wanted if cache.get(k) is not None})
    return report
