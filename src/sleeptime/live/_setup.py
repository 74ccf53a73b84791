"""What a real run is set up from: its endpoint (the embedded local server or one that runs
already) and its exploration grid, from the names a user passes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sleeptime.live._client import Endpoint
from sleeptime.live._collect import Grid
from sleeptime.live._errors import LiveError
from sleeptime.live._protocol import VIEWS, Budget, SleepLevel
from sleeptime.live._server import LocalServer

if TYPE_CHECKING:
    from sleeptime.simulators import PriceBook


@contextlib.contextmanager
def open_endpoint(endpoint: str, model: str | None, api_key_env: str | None, litellm: bool, model_file: str | None,
              slots: int, log_file: Path, server_mode: str = "reuse", threads: int | None = None) -> Iterator[Endpoint]:  # fmt: skip
    """The endpoint of a real run, open for the block: ``local`` starts the embedded server
    (``slots`` requests at once, its log in ``log_file``, ``server_mode`` reuse or exact,
    ``threads`` default one per free core) and stops it after, serving its model under the name
    ``model`` where one is given (two servers of one file under two names: a run across models
    on one model file); a path to a ``.gguf`` file is ``local`` on that file; an http(s) base URL
    or ``litellm`` names a server that runs already."""
    if endpoint.endswith(".gguf"):
        endpoint, model_file = "local", endpoint
    if endpoint == "local":
        server = LocalServer(
            Path(model_file) if model_file else None,
            slots=slots,
            threads=threads,
            log_file=log_file,
            mode=server_mode,
            name=model or "",
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


@contextlib.contextmanager
def open_endpoints(endpoints: Sequence[str], models: Sequence[str | None], api_key_env: str | None, litellm: bool,
                   model_file: str | None, slots: int, log_file: Path, server_mode: str = "reuse") -> Iterator[list[Endpoint]]:  # fmt: skip
    """The endpoints of a run across models, open for the block (:func:`open_endpoint` each;
    ``models`` one per endpoint or none). The embedded servers share the machine's cores (one
    thread each at least); the first server logs to ``log_file``, the others beside it
    (``NAME.2.server.log``, ...)."""
    from sleeptime._threads import threads

    if models and len(models) != len(endpoints):
        raise LiveError(f"--model: give one per --endpoint ({len(endpoints)}), or none for local servers; got {len(models)}")  # fmt: skip
    local = sum(1 for e in endpoints if e == "local" or e.endswith(".gguf"))
    share = max(1, threads() // max(local, 1)) if local > 1 else None
    with contextlib.ExitStack() as stack:
        opened = []
        for i, e in enumerate(endpoints):
            log = log_file if i == 0 else log_file.with_name(log_file.name.replace(".server.log", f".{i + 1}.server.log"))  # fmt: skip
            opened.append(stack.enter_context(open_endpoint(e, models[i] if models else None, api_key_env, litellm,
                                                            model_file if e == "local" else None, slots, log, server_mode, share)))  # fmt: skip
        yield opened


def price_entries(book: PriceBook, price_model: str, n: int) -> list[str]:
    """The price book entry of each of ``n`` endpoints: ``price_model`` names one for all, or
    one per endpoint separated by commas; each checked against the book."""
    from sleeptime._lists import comma_list

    names = list(comma_list(price_model))
    names = names * n if len(names) == 1 else names
    if len(names) != n:
        raise LiveError(f"--price-model: give one book entry, or one per --endpoint ({n}) separated by commas; got {price_model!r}")  # fmt: skip
    for name in names:
        book.price(name)
    return names


def describe_endpoints(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """What may be logged of a run's endpoints: the first's :meth:`Endpoint.describe`; with
    several, ``model`` names them all and ``endpoints`` describes each."""
    first = endpoints[0].describe()
    if len(endpoints) == 1:
        return first
    return {**first, "model": ", ".join(e.model for e in endpoints), "endpoints": [e.describe() for e in endpoints]}  # fmt: skip


def exploration_grid(
    sleep_levels: Sequence[str], budgets: Sequence[int], views: Sequence[str], reasoning: bool
) -> Grid:
    """The exploration grid of a real run from its names: sleep levels (``none``, ``kN``,
    ``low``...), budget levels and views; an unknown view is a :class:`LiveError`."""
    bad = [v for v in views if v not in VIEWS]
    if bad:
        raise LiveError(f"--views: unknown {bad}; use {', '.join(VIEWS)}")
    return Grid(tuple(SleepLevel.parse(s) for s in sleep_levels), tuple(Budget.level(b, reasoning=reasoning) for b in budgets), tuple(views))  # fmt: skip
