"""The embedded server itself: the portable build runs on a CPU without AVX-512 or AMX (an older
CPU emulated by qemu-user), it explains a death by signal and falls back to the portable build,
and loopback is not a wall (a per-run API key, no CORS for other origins, no web UI)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sleeptime.live import LiveError, LocalServer, ServerBinary, explain_exit, installed_build


def _require_build() -> Any:
    """The portable build must be installed (make test builds it): under CI a missing one fails."""
    build = installed_build()
    if build is None:
        message = "the portable llama-server is not built here: run `sleeptime build-server` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return build


def _post(url: str, body: dict[str, Any], key: str | None, timeout: float = 300) -> tuple[int, dict[str, Any]]:  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


#: A stuck server fails the test instead of hanging the run: 900 s (pytest-timeout; it covers
#: the fixtures' setup too). The longest test here, the server under qemu, took 19 s.
pytestmark = pytest.mark.timeout(900)

ASK = {"model": "m", "messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": 4, "temperature": 0, "seed": 0}  # fmt: skip


@pytest.mark.slow
def test_the_server_answers_with_usage_on_a_cpu_without_avx512_or_amx(tmp_path: Path) -> None:
    """Under ``qemu-x86_64 -cpu Haswell`` (AVX2, no AVX-512, no AMX), on any host: the server
    loads its Haswell module and answers a chat completion with usage. (A binary compiled for
    the build machine's CPU dies here with SIGILL.)"""
    build = _require_build()
    qemu = shutil.which("qemu-x86_64")
    if qemu is None or os.uname().machine != "x86_64":
        message = "qemu-x86_64 (Debian's qemu-user) is needed to emulate an older x86-64 CPU: apt-get install qemu-user"  # fmt: skip
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    log = tmp_path / "server.log"
    # one thread per free core, as the tests' servers run; emulated, every prompt token costs
    # seconds, so the request is short: a 4-token system message instead of the template's own
    # (20 prompt tokens instead of 38) and one answer token
    server = LocalServer(log_file=log, slots=1, context_tokens=512, ready_timeout_s=600,
                         wrapper=(qemu, "-cpu", "Haswell"))  # fmt: skip
    short = {**ASK, "messages": [{"role": "system", "content": "Add."}, {"role": "user", "content": "2+3?"}], "max_tokens": 1}  # fmt: skip
    with server:
        assert server.cpu_module() == "haswell", log.read_text()[-2000:]
        status, body = _post(f"{server.base_url}/chat/completions", short, server.api_key, timeout=600)  # fmt: skip
    assert status == 200, body
    assert body["usage"]["completion_tokens"] == 1 and body["usage"]["prompt_tokens"] > 5
    assert Path(server.describe()["binary"]["path"]) == build.server


def test_the_server_loads_the_best_cpu_module_of_this_cpu(tmp_path: Path) -> None:
    _require_build()
    with LocalServer(log_file=tmp_path / "server.log", slots=1) as server:
        info = server.describe()
        status, body = _post(f"{server.base_url}/chat/completions", ASK, server.api_key)
    assert status == 200 and body["usage"]["completion_tokens"] >= 1
    isa = set(info["cpu"]["isa"])
    expected = "haswell"
    if {"avx512f", "avx512_vnni", "avx512_bf16"} <= isa:
        expected = "zen4" if "amx_tile" not in isa else "sapphirerapids"
    elif {"avx512f", "avx512_vnni"} <= isa:
        expected = "icelake"
    elif "avx512f" in isa:
        expected = "skylakex"
    elif "avx_vnni" in isa:
        expected = "alderlake"
    assert info["binary"]["kind"] == "portable" and info["cpu_module"] == expected, info


def test_loopback_is_not_a_wall_a_key_no_cors_no_web_ui(tmp_path: Path) -> None:
    _require_build()
    with LocalServer(log_file=tmp_path / "server.log", slots=1) as server:
        url = f"{server.base_url}/chat/completions"
        assert server.api_key and len(server.api_key) > 30
        assert _post(url, ASK, None)[0] == 401  # a page that does not know the key is refused
        assert _post(url, ASK, "sk-wrong")[0] == 401
        assert _post(url, ASK, server.api_key)[0] == 200
        preflight = urllib.request.Request(url, method="OPTIONS", headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})  # fmt: skip
        with urllib.request.urlopen(preflight, timeout=30) as r:
            assert r.headers.get("Access-Control-Allow-Origin") is None
            assert r.headers.get("Access-Control-Allow-Credentials") != "true"
        root = urllib.request.Request(server.base_url.removesuffix("/v1") + "/", headers={"Authorization": f"Bearer {server.api_key}"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as page:
            urllib.request.urlopen(root, timeout=30)
        assert page.value.code == 404  # no web UI
    assert server.api_key not in (tmp_path / "server.log").read_text()
    assert server.api_key not in repr(server) and server.api_key not in json.dumps(server.endpoint().describe())  # fmt: skip


def test_a_death_by_signal_is_explained_and_the_portable_build_takes_over(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    build = _require_build()
    dies = tmp_path / "llama-server"
    dies.write_text(
        "#!/bin/sh\nkill -ILL $$\n"
    )  # a real process that dies as a binary built for another CPU does
    dies.chmod(0o755)
    with LocalServer(log_file=tmp_path / "server.log", slots=1, binary=dies) as server:
        assert server.fell_back_from == str(dies) and server.describe()["binary"]["path"] == str(build.server)  # fmt: skip
        assert _post(f"{server.base_url}/chat/completions", ASK, server.api_key)[0] == 200
    err = capfd.readouterr().err
    assert "killed by SIGILL" in err and "instruction this CPU lacks" in err and "falling back to the portable build" in err  # fmt: skip


def test_explain_exit_names_the_signal_and_the_fix() -> None:
    given = ServerBinary(Path("/opt/llama-server"), "given")
    text = explain_exit(-signal.SIGILL, given)
    assert (
        "killed by SIGILL" in text and "this CPU lacks" in text and "sleeptime build-server" in text
    )
    assert "This CPU:" in text
    assert "exited with status 1" in explain_exit(1, given)
    assert "out of memory" in explain_exit(-signal.SIGKILL, given)


def test_a_missing_binary_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sleeptime.live import server_binary

    monkeypatch.setenv("SLEEPTIME_LLAMA_SERVER", str(tmp_path / "nope"))
    with pytest.raises(
        LiveError, match=r"nope: no such server binary \(from \$SLEEPTIME_LLAMA_SERVER\)"
    ):
        server_binary()
    monkeypatch.delenv("SLEEPTIME_LLAMA_SERVER")
    monkeypatch.setenv("SLEEPTIME_SERVER_DIR", str(tmp_path / "empty"))
    with pytest.raises(LiveError, match="not built on this machine: build it once on this machine with `sleeptime build-server`"):  # fmt: skip
        server_binary()


def test_serve_local_json_names_the_key_the_build_and_the_cpu_module_and_stops_on_sigterm() -> None:
    _require_build()
    proc = subprocess.Popen([sys.executable, "-m", "sleeptime", "serve-local", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"base_url", "model", "pid", "api_key", "server"}
        assert info["server"]["binary"]["kind"] == "portable" and info["server"]["binary"]["llama_cpp"] == "b11434"  # fmt: skip
        assert info["server"]["cpu_module"] and info["server"]["mode"] == "reuse"
        status, _ = _post(f"{info['base_url']}/chat/completions", ASK, info["api_key"])
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(ProcessLookupError):  # the server went with it
            os.kill(info["pid"], 0)
    finally:
        if proc.poll() is None:
            proc.kill()


HASWELL = {"sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"}
AVX512 = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}


def test_a_build_compiles_the_avx2_module_and_this_cpus_best_or_all_six() -> None:
    from sleeptime.live._llama_build import best_variant, build_plan

    assert best_variant({"sse4_2", "avx"}) is None
    assert best_variant(HASWELL) == "haswell"
    assert best_variant(HASWELL | {"avx_vnni"}) == "alderlake"
    assert best_variant(HASWELL | {"avx512f"}) == "haswell"  # AVX-512 needs CD, VL, DQ and BW too
    assert best_variant(HASWELL | AVX512) == "skylakex"
    zen4 = HASWELL | AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16"}
    assert best_variant(zen4) == "zen4"
    assert best_variant(zen4 | {"amx_tile", "amx_int8"}) == "sapphirerapids"
    assert list(build_plan("x86_64", cpu_flags=zen4)["variants"]) == ["haswell", "zen4"]
    assert list(build_plan("x86_64", cpu_flags=HASWELL)["variants"]) == ["haswell"]
    everything = build_plan("x86_64", cpu_flags=HASWELL, all_cpus=True)["variants"]
    assert list(everything) == [
        "haswell",
        "alderlake",
        "skylakex",
        "icelake",
        "zen4",
        "sapphirerapids",
    ]
    assert (
        "-DGGML_AVX512_BF16=ON" in everything["zen4"]
        and "-DGGML_AMX_TILE=OFF" in everything["zen4"]
    )
    arm = build_plan("aarch64")
    assert arm["variants"] == {} and "-DGGML_CPU_ALL_VARIANTS=ON" in arm["flags"]


def test_an_installed_build_with_more_cpu_modules_serves_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build folder is found by its own plan, or any build of the same source and flags whose
    modules cover the plan's; one that lacks a module, or was built from other flags, is not."""
    from dataclasses import asdict

    from sleeptime.live._llama_build import SOURCE, build_key, build_plan

    monkeypatch.setenv("SLEEPTIME_SERVER_DIR", str(tmp_path))
    plan, full = build_plan(), build_plan(all_cpus=True)
    if plan["arch"] != "x86_64":
        pytest.skip(
            "the CPU modules are chosen per x86-64 level; elsewhere llama.cpp's own variants"
        )

    def install(name: str, modules: list[str], flags: list[str]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "llama-server").write_text("")
        manifest = {
            "source": asdict(SOURCE),
            "arch": "x86_64",
            "flags": flags,
            "cpu_modules": modules,
        }
        (folder / "build.json").write_text(json.dumps(manifest))
        return folder

    assert installed_build() is None
    install(f"llama.cpp-{SOURCE.llama_cpp}-x86_64-aaaa", ["haswell"], plan["flags"])
    if set(plan["variants"]) != {"haswell"}:  # this CPU has a better level than AVX2
        assert installed_build() is None
    install(
        f"llama.cpp-{SOURCE.llama_cpp}-x86_64-bbbb",
        sorted(full["variants"]),
        [*plan["flags"], "-DOTHER=ON"],
    )
    assert installed_build() is None or set(plan["variants"]) == {"haswell"}
    shared = install(build_key(full), sorted(full["variants"]), full["flags"])
    found = installed_build()
    assert found is not None and (found.folder == shared or set(plan["variants"]) == {"haswell"})
    for_all = installed_build(all_cpus=True)
    assert for_all is not None and for_all.folder == shared
    own = install(build_key(plan), sorted(plan["variants"]), plan["flags"])
    found = installed_build()
    assert found is not None and found.folder == own
