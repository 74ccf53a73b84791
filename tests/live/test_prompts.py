"""The built-in prompt families, and the one a workload gets by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleeptime.live import Budget, LiveError, Prompts, Protocol, SleepLevel
from sleeptime.live._protocol import PROMPT_FAMILIES
from sleeptime.workloads import Context, Query, Workload, extract_span, load_workload

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("family", PROMPT_FAMILIES)
def test_every_built_in_family_loads_and_fills_its_fields(family: str) -> None:
    p = Prompts.load(family)
    assert p.family == family and p.source == f"prompts/{family}.toml"
    protocol = Protocol(p)
    (sleep,) = protocol.sleep_requests("CONTEXT-TEXT", SleepLevel.parse("k1"), "label")
    assert "CONTEXT-TEXT" in sleep.messages[-1]["content"]
    req = protocol.answer_request(
        "CONTEXT-TEXT", "QUESTION?", "NOTES", Budget.level(0), "both", "label"
    )
    text = " ".join(m["content"] for m in req.messages)
    assert all(s in text for s in ("CONTEXT-TEXT", "QUESTION?", "NOTES", p.verbosity[0]))


@pytest.mark.parametrize("family", ["document", "code", "conversation"])
def test_free_text_families_ask_for_an_answer_the_span_grader_reads(family: str) -> None:
    p = Prompts.load(family)
    # every budget level ends its instruction in the form the span grader reads
    assert all("The answer is X." in v or "'The answer is X.'" in v for v in p.verbosity)
    assert extract_span("Reasoning first.\nThe answer is Denver Broncos.") == "Denver Broncos"
    assert "unanswerable" in p.answer_system


def _workload(
    fmt: str, meta: dict[str, str] | None = None, second: dict[str, str] | None = None
) -> Workload:
    q = (Query("q", "Q?", "a", "span"),)
    contexts = [Context("c0", "text", q, meta or {})] + ([Context("c1", "text", q, second)] if second is not None else [])  # fmt: skip
    return Workload(tuple(contexts), fmt)


def test_auto_picks_the_workloads_own_family() -> None:
    assert Prompts.for_workload("auto", load_workload(ROOT / "data" / "xquad" / "xquad.en.json")).family == "document"  # fmt: skip
    assert Prompts.for_workload("auto", _workload("drop")).family == "document"
    assert Prompts.for_workload("auto", _workload("stateful-aime")).family == "aime"
    assert Prompts.for_workload("auto", _workload("builtin")).family == "gsm"
    assert Prompts.for_workload("auto", _workload("native", {"prompts": "code"})).family == "code"
    assert (
        Prompts.for_workload("gsm", _workload("squad")).family == "gsm"
    )  # an explicit choice wins
    with pytest.raises(LiveError, match=r"name different prompt families \(code, conversation\)"):
        Prompts.for_workload(
            "auto", _workload("native", {"prompts": "code"}, {"prompts": "conversation"})
        )


def test_a_users_own_family_is_a_file(tmp_path: Path) -> None:
    text = (ROOT / "src" / "sleeptime" / "live" / "prompts" / "document.toml").read_text()
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('family = "document"', 'family = "support-kb"'))
    assert Prompts.load(mine).family == "support-kb"
    w = _workload("native", {"prompts": str(mine)})
    assert Prompts.for_workload("auto", w).source == str(mine)
    with pytest.raises(LiveError, match=r"no such prompts file .*document, code, conversation"):
        Prompts.load(tmp_path / "absent.toml")
