"""Sleep-time outputs as training data: each (context, ``c'``) of a run with the queries it
served and how they scored, in the chat format fine-tuning tools read (one JSON object per
line with ``messages``: the sleep-time request's system and user messages and the model's
notes as the assistant's turn)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleeptime._atomic import atomic_open
from sleeptime._json import AsJson
from sleeptime.live._errors import LiveError
from sleeptime.live._jsonl import jsonl_objects, sleep_outputs_path
from sleeptime.live._protocol import Protocol, SleepLevel
from sleeptime.workloads import Workload


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (read only); a bad line is named."""
    return [rec for _, rec in jsonl_objects(path.read_text(encoding="utf-8"), path)]


def trace_files(source: str | Path) -> list[Path]:
    """The trace files of a run: a trace file, or every one in a folder (``NAME.jsonl`` with
    its sleep-time outputs ``NAME.sleep.jsonl`` beside it)."""
    p = Path(source)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise LiveError(f"{p}: no such trace file or folder")
    files = sorted(f for f in p.glob("*.jsonl") if not f.name.endswith(".sleep.jsonl") and sleep_outputs_path(f).is_file())  # fmt: skip
    if not files:
        raise LiveError(f"{p}: no trace file with its sleep-time outputs (NAME.jsonl and NAME.sleep.jsonl) in this folder")  # fmt: skip
    return files


@dataclass(frozen=True)
class NotesExport(AsJson):
    """What :func:`export_notes` wrote: examples (one per rewrite), sleep-time outputs, the
    queries they served, and their mean accuracy with ``c'`` and without it."""

    out: Path
    examples: int
    sleep_outputs: int
    queries_served: int
    accuracy_with_notes: float | None
    accuracy_without_notes: float | None
    files: tuple[str, ...]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def note_examples(
    traces: Iterable[Mapping[str, Any]], sleep_outputs: Iterable[Mapping[str, Any]], workload: Workload, protocol: Protocol
) -> list[dict[str, Any]]:  # fmt: skip
    """One chat example per rewrite of each sleep-time output, with metadata: the queries it
    served (budget, view, correct) and, where the run also answered them without ``c'`` at
    the same budget (an exploration run), those outcomes."""
    contexts = {c.context_id: c for c in workload.contexts}
    served: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    plain: dict[tuple[str, str, str], float] = {}
    for r in traces:
        if r.get("sleep_output_id"):
            served[str(r["sleep_output_id"])].append(r)
        elif r.get("view") == "c":
            plain[(str(r["context_id"]), str(r["query_id"]), str(r.get("budget")))] = float(r["correct"])  # fmt: skip
    out = []
    for s in sleep_outputs:
        ctx = contexts.get(str(s.get("context_id")))
        if ctx is None:
            raise LiveError(f"sleep-time output {s.get('sleep_output_id')!r}: context {s.get('context_id')!r} is not in the workload; pass the one the run was collected on")  # fmt: skip
        notes = s.get("notes") or [s.get("c_prime", "")]
        level = SleepLevel.parse(str(s["sleep_level"]))
        requests = protocol.sleep_requests(ctx.context, level, ctx.context_id)
        queries = [
            {"query_id": r["query_id"], "budget": r.get("budget"), "view": r.get("view"), "correct": r["correct"],
             "correct_without_notes": plain.get((ctx.context_id, str(r["query_id"]), str(r.get("budget"))))}
            for r in served.get(str(s["sleep_output_id"]), [])
        ]  # fmt: skip
        for i, note in enumerate(notes):
            messages = [*(dict(m) for m in requests[min(i, len(requests) - 1)].messages), {"role": "assistant", "content": str(note)}]  # fmt: skip
            out.append({"messages": messages, "metadata": {
                "context_id": ctx.context_id, "sleep_level": level.name, "sleep_output_id": s["sleep_output_id"], "rewrite": i + 1,
                "rewrites": len(notes), "model": s.get("model"), "output_tokens": s.get("output_tokens"),
                "queries": queries, "accuracy_with_notes": _mean([q["correct"] for q in queries]),
                "accuracy_without_notes": _mean([q["correct_without_notes"] for q in queries if q["correct_without_notes"] is not None]),
            }})  # fmt: skip
    return out


def export_notes(source: str | Path, workload: Workload, protocol: Protocol, out: str | Path) -> NotesExport:  # fmt: skip
    """Write the sleep-time outputs of a run (a trace file or a folder of them) as chat
    examples to ``out`` (JSONL, written atomically)."""
    files = trace_files(source)
    examples: list[dict[str, Any]] = []
    outputs = 0
    for f in files:
        sleep = _jsonl(sleep_outputs_path(f))
        outputs += len(sleep)
        examples += note_examples(_jsonl(f), sleep, workload, protocol)
    with atomic_open(out) as handle:
        for ex in examples:
            handle.write(json.dumps(ex, ensure_ascii=False, allow_nan=False) + "\n")
    firsts = [e["metadata"] for e in examples if e["metadata"]["rewrite"] == 1]
    queries = [q for m in firsts for q in m["queries"]]
    return NotesExport(
        Path(out), len(examples), outputs, len(queries), _mean([q["correct"] for q in queries]),
        _mean([q["correct_without_notes"] for q in queries if q["correct_without_notes"] is not None]), tuple(map(str, files)),
    )  # fmt: skip
