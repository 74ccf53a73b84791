from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sleeptime import __version__
from sleeptime._cli.main import build_parser, main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sleeptime", *args], capture_output=True, text=True, timeout=900
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


def _strict(text: str) -> Any:
    def reject(token: str) -> None:
        raise AssertionError(f"{token} is not JSON: a value that does not exist must be null")

    return json.loads(text, parse_constant=reject)


#: Every command with --json, and how to run it small. ``run`` and ``quickstart`` are run by
#: tests/experiments/test_specs.py, which parses their output just as strictly; ``collect``
#: starts the real local server.
JSON_CASES: dict[str, list[str]] = {
    "workload inspect": ["workload", "inspect", "builtin", "--limit", "20"],
    "workload convert": ["workload", "convert", "builtin", "--limit", "20", "--out", "{tmp}/w.jsonl"],
    "workload generate": ["workload", "generate", "--contexts", "20", "--out", "{tmp}/g.jsonl"],
    "score": ["score", "builtin", "--limit", "40", "--out", "{tmp}/s.csv"],
    "predictability": ["predictability", "{tmp}/s.csv"],
    "calibrate": ["calibrate", "{paper}/test_time_scaling.csv", "--quintiles", "{paper}/predictability_quintiles.csv"],
    "simulate": ["simulate", "builtin", "--limit", "50", "--no-track"],
    "paper-figures": ["paper-figures", "--contexts", "300", "--out", "{tmp}/pf"],
    "prices": ["prices", "paper-abstract"],
    "compare": ["compare", "--contexts", "140"],
    "train": ["train", "--contexts", "140"],
    "export": ["export", "--contexts", "140", "--out", "{tmp}/policy.json"],
    "validate": ["validate", "{tmp}/policy.json"],
    "optimize": ["optimize", "--contexts", "140", "--trials", "2", "--study-name", "json-test"],
    "build-server": ["build-server"],  # the machine's build, already there: says where it is
    "collect": ["collect", "--contexts", "1", "--questions-per-context", "1", "--sleep-levels", "none", "--budgets", "0", "--out", "{tmp}/c.jsonl"],
    "grade": ["grade", "{tmp}/c.jsonl", "--workload", "builtin", "--limit", "1", "--out", "{tmp}/g.jsonl"],  # collect's answer, judged
}  # fmt: skip
#: ``serve-local --json`` prints one JSON line and serves until stopped: tests/live/test_server.py;
#: ``export-notes`` (and ``compare --traces``) read a real run: tests/live/test_measured.py
#: ``when-to-sleep`` and ``fit-arrivals``: tests/experiments/test_when.py (strict JSON parsed);
#: ``measure-stale`` answers on a real server: tests/live/test_collect.py; ``evaluate-logs`` and ``update`` read
#: a router's decision log: tests/policy/test_logs.py
COVERED_ELSEWHERE = {
    "evaluate-logs",
    "update",
    "run",
    "quickstart",
    "serve-local",
    "export-notes",
    "when-to-sleep",
    "fit-arrivals",
    "measure-stale",
}


def test_every_command_with_json_has_a_strict_json_case() -> None:
    with_json = {" ".join(p) for p in _all_subcommands() if p != ["workload"]}
    assert with_json == set(JSON_CASES) | COVERED_ELSEWHERE


@pytest.mark.slow
def test_every_command_prints_strict_json(tmp_path: Path, paper_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for (
        name,
        argv,
    ) in JSON_CASES.items():  # in order: predictability reads score's table, validate export's
        args = [a.format(tmp=tmp_path, paper=paper_dir) for a in argv]
        assert main([*args, "--json"]) == 0, name
        out = _strict(capsys.readouterr().out)
        assert isinstance(out, dict) and out, name


def test_json_has_null_where_a_value_does_not_exist() -> None:
    from sleeptime._json import dumps

    text = dumps({"cost_change": float("nan"), "nested": [1.0, float("inf")], "ok": 0.5})
    assert _strict(text) == {"cost_change": None, "nested": [1.0, None], "ok": 0.5}


def test_a_bad_query_rate_names_the_flag() -> None:
    result = _run("simulate", "--queries-per-context", "0", "--no-track", "--limit", "10")
    assert (
        result.returncode == 1 and "--queries-per-context must be a positive mean" in result.stderr
    )
    assert "GeometricCount" not in result.stderr and "Traceback" not in result.stderr


def test_calibrate_says_when_a_fit_has_no_degrees_of_freedom(paper_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["calibrate", str(paper_dir / "test_time_scaling.csv"), "--json"]) == 0
    fits = _strict(capsys.readouterr().out)["fits"]
    exact = [f for f in fits if f["degrees_of_freedom"] <= 0]
    assert exact and all(f["n_points"] <= 3 for f in exact)
    assert all(f["degrees_of_freedom"] == f["n_points"] - 3 for f in fits)  # no extra points here
    assert main(["calibrate", str(paper_dir / "test_time_scaling.csv")]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.split()[-1:] == ["0"]]
    assert rows and all(" n/a " in row and "0.000" not in row.split()[3] for row in rows)
    assert "the curve passes through every point" in text


def test_prices_lists_the_builtin_book_and_its_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "--json"]) == 0
    out = _strict(capsys.readouterr().out)
    assert (
        out["version"] == "list-2025" and out["models"]["gpt-4o-mini"]["output_usd_per_mtok"] == 0.6
    )
    assert (
        set(out["keys"]) == set(out["models"]["gpt-4o-mini"]) and "paper-abstract" in out["builtin"]
    )
    assert main(["prices"]) == 0
    assert "batch_discount: fraction of the list price" in capsys.readouterr().out


def test_commands_that_do_not_track_create_no_mlruns(tmp_path: Path) -> None:
    for argv in (["workload", "inspect", "builtin", "--limit", "5"], ["prices"], ["simulate", "--limit", "10", "--no-track"]):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "sleeptime", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=900)  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert not (tmp_path / "mlruns").exists()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, "-m", "sleeptime", "simulate", "--limit", "10", "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)  # fmt: skip
    assert done.returncode == 0 and (tmp_path / "mlruns" / "mlflow.db").is_file()
    assert f"created {tmp_path / 'mlruns'}" in done.stderr
    assert "INFO" not in done.stderr and "Creating initial MLflow database" not in done.stderr
    _strict(done.stdout)
