"""Experiment specs: every spec in experiments/ runs reduced, and its outputs are checked."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from sleeptime._cli.main import main
from sleeptime.experiments._spec import SpecError, load_spec, parse_spec, quickstart_spec

SPECS = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.toml"))
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_specs_the_issue_names_exist() -> None:
    assert {p.stem for p in SPECS} >= {"quickstart", "paper_gsm", "paper_aime", "amortization", "what_if_prices"}  # fmt: skip


def _run(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:  # fmt: skip
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main([*argv, "--json"]) == 0

    def reject(token: str) -> None:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(capsys.readouterr().out, parse_constant=reject)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_spec_runs_reduced_and_leaves_a_report(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> None:  # fmt: skip
    import mlflow

    if load_spec(spec).workload.source.endswith("GSM_p2.jsonl"):
        request.getfixturevalue("gsm_p2")  # the shared data: fails under CI when missing
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report"
    result = _run(["run", str(spec), "--reduced", "--out", str(out)], tmp_path, monkeypatch, capsys)
    label = "measured" if load_spec(spec).kind in ("collect", "live") else "simulated"
    assert result["reduced"] is True and result[label] is True
    if label == "measured":
        # a real run sent requests: its response cache is the session's (tests/conftest.py), not
        # the user's warm one, and no two specs of the session ask for the same answers only
        run = result if load_spec(spec).kind == "collect" else result["collect"]
        assert run["requests_sent"] > 0
    html = (out / "index.html").read_text()
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 2
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, png.name
    # self-contained: every figure embedded, nothing loaded from elsewhere
    assert html.count("data:image/png;base64,") == len(pngs)
    assert "src='http" not in html and 'src="http' not in html
    assert label in html and result["headline"].split(":")[0] in html
    assert "Reproduce" in html and "scikit-learn" in html
    # what the tool writes is readable by a teammate or a web server (the umask's mode, not 0600)
    for file in out.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) & 0o044 == 0o044, file.name
    runs = mlflow.search_runs(experiment_names=["sleeptime"], filter_string=f"params.`spec.name` = '{load_spec(spec).name}'")  # fmt: skip
    assert len(runs) >= 1 and runs.iloc[0]["params.spec.reduced"] == "True"
    if load_spec(spec).kind == "policy":
        from sleeptime.runtime import RuntimePolicy

        policy = RuntimePolicy.load(out / "policy.json")
        assert policy.artifact["mlflow_run_id"] == result["mlflow_run_id"]
        names = {p["name"] for p in result["policies"]}
        assert {"learned @ equal accuracy", "oracle @ equal accuracy", "paper(k1,b0)"} <= names
        assert result["study"]["trials"] == 4
        assert result["decisions"]["decision_breakdown"]
        # every "N% less" of the headline is in the report's tables as a cost change of -N%,
        # the sign the README and the JSON's cost changes use
        import re

        for pct in re.findall(r"(\d+\.\d)% less", result["headline"]):
            assert f"-{pct}%" in html, pct
        assert "cost change at equal accuracy" in html and "Negative is cheaper" in html
    if load_spec(spec).kind == "off_policy":
        # per estimator, exploration rate and candidate: bias, interval width and coverage
        cells = {(q["estimator"], q["epsilon"], q["candidate"]) for q in result["validation"]}
        assert len(cells) == 4 * 3 * 3 and all(q["seeds"] == 3 for q in result["validation"])
        assert all({"usd_relative_bias", "usd_interval_width", "usd_coverage", "accuracy_coverage"} <= set(q) for q in result["validation"])  # fmt: skip
        assert [p["period"] for p in result["drift"]["periods"]] == [0, 1, 2, 3] and "doubly robust" in html  # fmt: skip
        for p in result["drift"]["periods"]:  # at the frozen policy's accuracy its own USD, about
            assert set(p["usd_at_equal_accuracy"]) == {"frozen", "updating", "retrained"}
            assert p["usd_at_equal_accuracy"]["frozen"] <= 1.05 * p["usd_per_query"]["frozen"]
    if load_spec(spec).kind == "live":
        from sleeptime.runtime import RuntimePolicy

        policy = RuntimePolicy.load(out / "policy.json")
        assert policy.artifact["mlflow_run_id"] == result["mlflow_run_id"]
        assert result["compare"]["measured"] is True and result["compare"]["outcome_model_errors"]
        top = load_spec(spec).live.budgets.split(",")[-1].strip()
        live = load_spec(spec, reduced=True).live
        # across models every action names its model (the reduced run's names for its endpoints)
        models = [m.strip() for m in live.model.split(",")] if "," in live.endpoint else [""]
        fixed = {f"fixed(none,b0{'@' + m if m else ''})" for m in models} | {f"fixed(k1{'@' + m if m else ''},b{top}{'@' + m if m else ''})" for m in models}  # fmt: skip
        assert {"learned @ equal accuracy", "oracle @ equal cost", *fixed} <= {p["name"] for p in result["compare"]["policies"]}  # fmt: skip
        # with the context's prefix kept in the prompt cache an answer can only cost less
        warm = result["export"]["warm_prefix"]
        assert "not_estimated" in warm or (warm["usd_per_query"] <= result["export"]["usd_per_query"] and warm["accuracy"] == result["export"]["accuracy"])  # fmt: skip
        assert (
            len(pngs) == 4
            and "Cost change at each fixed Pareto point" in html
            and "digitized" in html
        )


@pytest.mark.slow
def test_quickstart_command_without_a_spec_file_uses_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLEEPTIME_REDUCED", "1")
    result = _run(["quickstart"], tmp_path, monkeypatch, capsys)
    assert result["spec"] == "quickstart" and result["reduced"] is True
    report = Path(result["report"])
    assert report.is_file() and report.parent.parent.name == "reports"
    assert Path(result["export"]["path"]).is_file()


def test_spec_defaults_and_reduced_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLEEPTIME_REDUCED", raising=False)
    full = quickstart_spec()
    assert full.kind == "policy" and full.workload.contexts == 1400
    small = quickstart_spec(reduced=True)
    assert small.workload.contexts == 140 and small.study.trials == 4
    monkeypatch.setenv("SLEEPTIME_REDUCED", "1")
    assert quickstart_spec().workload.contexts == 140
    assert os.environ["SLEEPTIME_REDUCED"] == "1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "policy"', "'name' is missing"),
        ('name = "x"\nkind = "train"', "'kind' must be one of"),
        (
            'name = "x"\nkind = "policy"\n[workload]\ncontexts = "many"',
            r"\[workload\] contexts has the wrong type: it must be an integer, got 'many' \(a string\)",
        ),
        (
            'name = "x"\nkind = "policy"\n[workload]\ncontext = 10',
            r"\[workload\] has unknown keys \['context'\]",
        ),
        (
            'name = "x"\nkind = "policy"\n[workloads]\ncontexts = 10',
            r"unknown tables or keys \['workloads'\]",
        ),
        ('name = "x"\nkind = "policy"\n[policies]\nbudget_usd_per_1k = true', "must be a number"),
        ('name = "x"\nkind = "policy"\n[workload]\ncontexts = 5', "at least 20"),
        ('name = "x"\nkind = "policy"\n[workload]\nsource = "mine.jsonl"', "only 'builtin'"),
        ('name = "x" kind', "not valid TOML"),
    ],
)
def test_bad_specs_name_the_file_and_the_key(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as info:
        parse_spec(text, source="bad.toml")
    assert str(info.value).startswith("bad.toml: ")


def test_missing_spec_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["run", str(tmp_path / "nope.toml")]) == 1
    err = capsys.readouterr().err
    assert "no such spec" in err and "Traceback" not in err
