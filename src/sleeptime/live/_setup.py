"""What a real run is set up from: its endpoint (the embedded local server or one that runs
already) and its exploration grid, from the names a user passes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from sleeptime.live._client import Endpoint
from sleeptime.live._collect import Grid
from sleeptime.live._errors import LiveError
from sleeptime.live._protocol import VIEWS, Budget, SleepLevel
from sleeptime.live._server import LocalServer


@contextlib.contextmanager
def open_endpoint(endpoint: str, model: str | None, api_key_env: str | None, litellm: bool, model_file: str | None,
              slots: int, log_file: Path, server_mode: str = "reuse") -> Iterator[Endpoint]:  # fmt: skip
    """The endpoint of a real run, open for the block: ``local`` starts the embedded server
    (``slots`` requests at once, its log in ``log_file``, ``server_mode`` reuse or exact) and
    stops it after; an http(s) base URL or ``litellm`` names a server that runs already."""
    if endpoint == "local":
        server = LocalServer(
            Path(model_file) if model_file else None,
            slots=slots,
            log_file=log_file,
            mode=server_mode,
        ).start()
        try:
            yield server.endpoint()
        finally:
            server.stop()
        return
    if not model:
        raise LiveError("--model names the model at the endpoint (or a LiteLLM model string with --litellm)")  # fmt: skip
    if not litellm and not endpoint.startswith(("http://", "https://")):
        raise LiveError(f"--endpoint must be 'local' or an http(s) base URL, e.g. http://127.0.0.1:8080/v1, got {endpoint!r}")  # fmt: skip
    yield Endpoint(None if endpoint == "litellm" else endpoint, model, api_key_env, litellm)


def exploration_grid(
    sleep_levels: Sequence[str], budgets: Sequence[int], views: Sequence[str], reasoning: bool
) -> Grid:
    """The exploration grid of a real run from its names: sleep levels (``none``, ``kN``,
    ``low``...), budget levels and views; an unknown view is a :class:`LiveError`."""
    bad = [v for v in views if v not in VIEWS]
    if bad:
        raise LiveError(f"--views: unknown {bad}; use {', '.join(VIEWS)}")
    return Grid(tuple(SleepLevel.parse(s) for s in sleep_levels), tuple(Budget.level(b, reasoning=reasoning) for b in budgets), tuple(views))  # fmt: skip
