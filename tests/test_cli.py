from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sleeptime import __version__
from sleeptime._cli.main import build_parser, main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleeptime", *args], capture_output=True, text=True, timeout=120
    )


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"sleeptime {__version__}"


def _all_subcommands() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(parser: object, prefix: list[str]) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    paths.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return paths


@pytest.mark.parametrize("path", _all_subcommands(), ids=lambda p: " ".join(p))
def test_help_on_every_subcommand(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert "usage: sleeptime " + " ".join(path) in capsys.readouterr().out


def test_inspect_builtin_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workload", "inspect", "builtin", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "builtin"
    assert out["queries_per_context"]["mean"] >= 5
    assert out["queries"] == out["contexts"] * out["queries_per_context"]["mean"]


def test_inspect_gsm_p2_json(gsm_p2: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workload", "inspect", str(gsm_p2), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["format"], out["contexts"], out["queries"]) == ("gsm-symbolic", 2500, 2500)
    assert out["queries_per_context"] == {"mean": 1.0, "min": 1, "max": 1}
    assert out["report"]["split_fallbacks"] == 50


def test_convert_gsm_p2(gsm_p2: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "p2.jsonl"
    assert main(["workload", "convert", str(gsm_p2), "--out", str(out_path), "--json"]) == 0
    lines = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert len(lines) == 2500
    assert all(r["context"].strip() for r in lines)
    questions = [r["queries"][0]["question"] for r in lines]
    assert sum(q.endswith("?") for q in questions) / len(questions) >= 0.97
    assert main(["workload", "inspect", str(out_path), "--json"]) == 0
    assert '"format": "native"' in capsys.readouterr().out


def test_generate_and_human_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = tmp_path / "gen.jsonl"
    assert (
        main(["workload", "generate", "--contexts", "40", "--seed", "5", "--out", str(out_path)])
        == 0
    )
    text = capsys.readouterr().out
    assert "contexts             40" in text and str(out_path) in text
    assert len(out_path.read_text().splitlines()) == 40


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "the file is empty"),
        ("{not json}\n", "bad.jsonl:1: not valid JSON"),
        ('{"foo": 1}\n', "cannot tell the format"),
        (
            '{"context_id": "a", "context": "x", "queries": [{"query_id": "q", "question": "?"}]}\n',
            "missing field 'answer'",
        ),
    ],
)
def test_bad_input_exits_nonzero_without_traceback(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = _run("workload", "convert", str(path), "--out", str(tmp_path / "out.jsonl"))
    assert result.returncode == 1
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_simulate_fits_the_outcome_model_to_traces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    traces = tmp_path / "t.jsonl"
    base = ["simulate", "--sleep", "k1", "--budget", "1", "--no-track", "--json"]
    assert main([*base, "--traces", str(traces)]) == 0
    paper = json.loads(capsys.readouterr().out)
    assert main([*base, "--fit-traces", str(traces)]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["accuracy"] == pytest.approx(paper["accuracy"], abs=0.01)
    assert main([*base, "--fit-traces", str(tmp_path / "missing.jsonl")]) == 1
    assert "no such trace file" in capsys.readouterr().err
