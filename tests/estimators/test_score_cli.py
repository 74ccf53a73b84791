from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeptime._cli.main import main
from sleeptime.estimators import SCORE_COLUMNS, read_table, write_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_command_writes_one_row_per_query(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"scores{suffix}"
    assert (
        main(["score", "builtin", "--limit", "4", "--out", str(out), "--no-cache", "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert (summary["contexts"], summary["queries"]) == (4, 24)
    rows = read_table(out)
    assert len(rows) == 24
    assert set(SCORE_COLUMNS) <= set(rows[0])
    assert all(float(r["logprob_sum"]) < 0 and int(r["n_tokens"]) > 0 for r in rows)
    assert {r["predictability"] for r in rows} == {"high", "medium", "low"}


def test_predictability_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import random

    rng = random.Random(0)
    rows = []
    for c in range(120):
        signal = rng.gauss(0, 1)
        for q in range(3):
            rows.append(
                {"context_id": f"c{c}", "query_id": f"q{q}", "template": f"t{c % 12}",
                 "logprob_mean": -2 + 0.5 * signal + rng.gauss(0, 0.1), "n_words": 30 + 10 * signal,
                 "n_quantities": rng.randint(1, 9)}
            )  # fmt: skip
    path = write_table(rows, tmp_path / "s.csv")
    assert main(["predictability", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["contexts"] == 120 and report["features"] == ["n_words", "n_quantities"]
    assert report["spearman"] > 0.8
    assert len(report["quintile_upper_edges"]) == 5


def test_bad_outputs(tmp_path: Path) -> None:
    assert (
        main(["score", "builtin", "--limit", "1", "--out", str(tmp_path / "x.txt"), "--no-cache"])
        == 1
    )
    assert not (tmp_path / "x.txt").exists()
    (tmp_path / "w.csv").write_text("a,b\n1,2\n")
    assert main(["predictability", str(tmp_path / "w.csv")]) == 1
