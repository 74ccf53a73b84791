"""The when-to-sleep study (simulated): plans priced exactly, each section's claims, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sleeptime._cli.main import main


@pytest.fixture(scope="module")
def base():  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sleeptime.experiments._when_run import _scenario
    from sleeptime.policy import WhenConfig

    sc, true, policy = _scenario(WhenConfig(contexts=140), "gamma-poisson:0.5", None)
    return sc, true, policy


def test_plans_are_priced_as_the_replay_prices_them(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.policy import evaluate_plan, fixed_plan, served_tables, trigger_times

    sc = base[0]
    t = served_tables(sc.env, sc.test)
    for s, b in ((0, 1), (1, 0), (1, 1), (2, 2)):
        acc, usd = evaluate_plan(t, *fixed_plan(t, trigger_times(t), s, b))
        sleep = np.full(sc.test.n_contexts, s)
        agg = sc.env.replay(sc.test, sleep, np.full(sc.test.n_queries, b), bootstrap=0).aggregates
        assert acc == pytest.approx(agg["accuracy"], rel=1e-12)
        assert usd == pytest.approx(agg["usd_per_query"], rel=1e-12)


def test_triggers_edits_and_oracles_order_as_they_must(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.policy import EditEffect, edits_section, trigger_section

    sc, true, policy = base
    observed = np.concatenate([sc.train.observed_predictability, sc.test.observed_predictability])
    kw = {"arrivals": "gamma-poisson:0.5", "n_boot": 50, "observed_all": observed}
    sec = trigger_section(sc.env, sc.train, sc.test, policy, true, **kw)
    again = trigger_section(sc.env, sc.train, sc.test, policy, true, **kw)
    assert sec.to_json() == again.to_json()  # deterministic for a seed
    im, hs = sec.point("oracle (count-blind) trigger"), sec.point("oracle (hindsight)")
    assert hs.cost_change <= im.cost_change <= sec.point("learned trigger").cost_change + 1e-12
    assert im.gap_closed == pytest.approx(1.0)
    matched = sec.point("oracle (information-matched) trigger")
    assert matched.gap_closed_observable == pytest.approx(1.0)
    # it decides without the latents: never better than the one that has them
    assert matched.cost_change >= im.cost_change - 1e-12
    assert sec.point("learned trigger").gap_closed_observable is not None
    lo, hi = sec.point("learned trigger").cost_change_ci95
    assert lo <= hi
    assert sec.prior.family in ("geometric", "gamma-poisson", "self-exciting")
    rows = edits_section(sc.env, sc.train, sc.test, policy, rates=[0.0, 2.0], effect=EditEffect())
    assert (
        len(set(rows[0].usd_per_1k.values())) == 1
    )  # no edits: every refresh strategy is the same
    assert rows[1].usd_per_1k["never"] > rows[0].usd_per_1k["never"]  # stale c' costs accuracy
    wrong = edits_section(
        sc.env, sc.train, sc.test, policy, rates=[2.0], effect=EditEffect(mode="wrong", touched=0.5)
    )
    # stale answers that are wrong cost more accuracy than a share of the gain: the reference
    # (always refreshing in whole) falls below its no-edit and its "share" accuracy (measured
    # 0.668 < 0.725 < 0.737); the learned refresh still reaches it, and spends less than never
    # refreshing (0.146 against 0.250 USD/1k)
    assert wrong[0].accuracy < rows[1].accuracy < rows[0].accuracy
    assert np.isfinite(wrong[0].usd_per_1k["learned"]) and wrong[0].saving_vs_never > 0


def test_cprime_idle_and_pass_at_k(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.policy import cprime_sweep, idle_section, pass_at_k
    from sleeptime.simulators import cprime_gain_share

    sc = base[0]
    assert cprime_gain_share(np.array([1.0]), 0.5)[0] == pytest.approx(1.0)
    cs = cprime_sweep(sc.env, scales=[0.5, 1, 4, 16], rates=[1, 32], n_contexts=300)
    for row in cs.savings:
        assert row[-1] < row[1]  # a long c' rides in every prompt: it costs the saving
    assert cs.break_even_tokens[0] is None and cs.savings[0][1] < 0  # one query: never pays
    assert cs.break_even_tokens[1] is not None and cs.cprime_tokens[1] < cs.break_even_tokens[1] < cs.cprime_tokens[-1]  # fmt: skip
    rows = idle_section(sc.env, sc.test, capacities=[0.5, 5.0, 500.0], deadline_s=3600.0)
    shares = [r.idle_share for r in rows]
    assert shares == sorted(shares) and shares[-1] == pytest.approx(1.0)
    assert all(r.usd_saved_share >= 0 for r in rows) and rows[-1].usd_saved_share == pytest.approx(
        1.0
    )
    passk, sleep = pass_at_k(sc.env, sc.test, ks=(1, 2, 4))
    accs = [p.accuracy for p in passk if p.name.endswith("b0")]
    assert accs == sorted(accs) and accs[0] < accs[-1]
    assert {p.name for p in sleep} >= {"fixed(k1,b0)", "fixed(k5,b1)"}


def test_when_to_sleep_and_fit_arrivals_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from sleeptime._cli import when
    from sleeptime.policy import WhenConfig
    from sleeptime.workloads import synthetic_access_log

    d = WhenConfig()
    for key, value in vars(when.DEFAULTS).items():  # the help's defaults are the study's
        assert getattr(d, key) == value, key
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    figs = tmp_path / "figs"
    figs.mkdir()
    argv = ["when-to-sleep", "--contexts", "140", "--sections", "cprime,idle,passk", "--query-rates", "1,16", "--figures", str(figs), "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(
        capsys.readouterr().out, parse_constant=lambda t: (_ for _ in ()).throw(AssertionError(t))
    )
    assert data["simulated"] is True and {"cprime", "idle", "passk"} <= set(data)
    assert sorted(p.name for p in figs.glob("*.png")) == ["cprime.png", "idle.png", "passk.png"]
    import mlflow

    from sleeptime import __version__

    assert data["version"] == __version__
    runs = mlflow.search_runs(
        experiment_names=["sleeptime"], filter_string="tags.`sleeptime.kind` = 'when-to-sleep'"
    )
    assert data["mlflow_run_id"] in set(runs["run_id"])
    assert main(argv) == 0  # deterministic for a seed: the same JSON again (the run id aside)
    again = json.loads(capsys.readouterr().out)
    assert again.pop("mlflow_run_id") != data.pop("mlflow_run_id") and again == data
    log = synthetic_access_log(tmp_path / "log.csv", contexts=3000)
    assert main(["fit-arrivals", str(log), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["best"] == "self-exciting" and fit["contexts"] == 3000
    assert main(["fit-arrivals", str(log)]) == 0
    assert "<- best" in capsys.readouterr().out
    assert main(["when-to-sleep", "--arrivals", "bursty"]) == 1
    assert "arrivals 'bursty'" in capsys.readouterr().err


def test_the_stale_effect_is_fitted_from_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from sleeptime.live._stale import fit_stale_effect, read_stale_records

    rows = []
    # 10 contexts x 2 questions; fresh right 8/10 per question slot, stale 5/10, none 2/10
    for c in range(10):
        for q, changed in (("q0", True), ("q1", False)):
            for cond, right in (
                ("fresh", c < 8),
                ("stale", c < 5 if changed else c < 8),
                ("none", c < 2),
            ):
                rows.append({"context_id": f"c{c}", "query_id": q, "condition": cond, "correct": float(right), "answer_changed": changed})  # fmt: skip
    e = fit_stale_effect(rows)
    assert e.accuracy == pytest.approx({"fresh": 0.8, "stale": 0.65, "none": 0.2})
    assert e.loss == pytest.approx(1 - (0.65 - 0.2) / (0.8 - 0.2))  # 0.25 of the gain lost
    assert e.loss_ci95[0] <= e.loss <= e.loss_ci95[1]
    assert e.touched == pytest.approx(0.5)
    assert e.wrong_when_changed == pytest.approx(
        3 / 8
    )  # of the 8 fresh-right changed, 3 stale-wrong
    assert e.accuracy_changed["stale"] == pytest.approx(0.5) and e.accuracy_unchanged[
        "stale"
    ] == pytest.approx(0.8)
    path = tmp_path / "stale.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(read_stale_records(path)) == 60
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"context_id": "c", "query_id": "q", "condition": "later", "correct": 1}) + "\n"
    )
    with pytest.raises(Exception, match=r"bad\.jsonl:1: not a stale-effect record"):
        read_stale_records(bad)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    argv = ["when-to-sleep", "--contexts", "140", "--sections", "edits", "--edit-rates", "0,1", "--stale-fit", str(path), "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["stale_loss"] == pytest.approx(0.25)
    assert data["stale_fit"]["loss"] == pytest.approx(0.25) and len(data["edits"]) == 2


def test_every_option_of_the_study_reaches_it(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from sleeptime.workloads import synthetic_access_log

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    log = synthetic_access_log(tmp_path / "log.csv", contexts=800)
    book = tmp_path / "fleet.toml"
    book.write_text(
        'version = "fleet"\n[models.gpt-4o-mini]\ninput_usd_per_mtok = 0.15\noutput_usd_per_mtok = 0.6\ncache_read_multiplier = 0.5\n'
        "fleet_tokens_per_s = 3.0\nfleet_usd_per_mtok = 0.02\nfleet_deadline_s = 7200\nfleet_load = [" + ", ".join(["0.5"] * 24) + "]\n"
    )  # fmt: skip
    argv = ["when-to-sleep", "--contexts", "140", "--seed", "1", "--prices", str(book), "--sections", "triggers,edits,cprime,idle,passk",
            "--arrivals", "fitted", "--access-log", str(log), "--edit-rates", "0.5", "--edit-arrivals", "self-exciting",
            "--stale-effect", "wrong", "--touched", "0.4", "--incremental-cost", "0.5", "--cprime-scales", "0.5,1,2",
            "--query-rates", "4", "--saturation", "1.0", "--pass-k", "1,3", "--bootstrap", "40", "--json"]  # fmt: skip
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    c = d["config"]
    assert (c["seed"], c["arrivals"], c["stale_effect"], c["touched"], c["incremental_cost"], c["saturation"], c["n_boot"]) == (1, "fitted", "wrong", 0.4, 0.5, 1.0, 40)  # fmt: skip
    assert (
        d["fitted_access_log"]["best"] == "self-exciting"
        and d["fitted_access_log"]["synthetic"] is False
    )
    assert d["triggers"][0]["count_prior"]["family"] in (
        "self-exciting",
        "gamma-poisson",
        "geometric",
    )
    assert [e["edit_rate"] for e in d["edits"]] == [0.5]
    assert (
        len(d["cprime"]["cprime_tokens"]) == 3
        and d["cprime"]["query_rates"] == [4.0]
        and d["cprime"]["saturation"] == 1.0
    )
    idle = d["idle"]  # the book's fleet: one size, its deadline, its energy price
    assert [r["capacity_tokens_per_s"] for r in idle["rows"]] == [3.0]
    assert (
        idle["deadline_s"] == 7200
        and idle["energy_usd_per_mtok"] == 0.02
        and idle["load"] == [0.5] * 24
    )
    assert 0 < idle["rows"][0]["usd_saved_share"] < 1  # energy costs something
    assert {p["name"].split()[0] for p in d["passk"]["pass_at_k"]} == {"pass@1", "pass@3"}
    argv = ["when-to-sleep", "--contexts", "140", "--sections", "idle", "--fleet-multiples", "0.5,2", "--energy-usd-per-mtok", "0", "--deadline-s", "600", "--json"]  # fmt: skip
    assert main(argv) == 0
    idle = json.loads(capsys.readouterr().out)["idle"]
    assert (
        idle["fleet_multiples"] == [0.5, 2.0]
        and idle["deadline_s"] == 600
        and len(idle["rows"]) == 2
    )
    shares = [r["idle_share"] for r in idle["rows"]]
    assert shares[0] <= shares[1] and all(
        r["usd_saved_share"] == pytest.approx(r["idle_share"], abs=0.15) for r in idle["rows"]
    )
