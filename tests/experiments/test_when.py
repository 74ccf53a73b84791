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
    from sleeptime.experiments._when_run import WhenConfig, _scenario

    sc, true, policy = _scenario(WhenConfig(contexts=140), "gamma-poisson:0.5", None)
    return sc, true, policy


def test_plans_are_priced_as_the_replay_prices_them(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.experiments._when import _fixed, evaluate_plan, served_tables, trigger_times

    sc = base[0]
    t = served_tables(sc.env, sc.test)
    for s, b in ((0, 1), (1, 0), (1, 1), (2, 2)):
        acc, usd = evaluate_plan(t, *_fixed(t, trigger_times(t), s, b))
        sleep = np.full(sc.test.n_contexts, s)
        agg = sc.env.replay(sc.test, sleep, np.full(sc.test.n_queries, b), bootstrap=0).aggregates
        assert acc == pytest.approx(agg["accuracy"], rel=1e-12)
        assert usd == pytest.approx(agg["usd_per_query"], rel=1e-12)


def test_triggers_edits_and_oracles_order_as_they_must(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.experiments._when import EditEffect, edits_section, trigger_section

    sc, true, policy = base
    sec = trigger_section(
        sc.env, sc.train, sc.test, policy, true, arrivals="gamma-poisson:0.5", n_boot=50
    )
    again = trigger_section(
        sc.env, sc.train, sc.test, policy, true, arrivals="gamma-poisson:0.5", n_boot=50
    )
    assert sec.to_json() == again.to_json()  # deterministic for a seed
    im, hs = sec.point("oracle (information-matched) trigger"), sec.point("oracle (hindsight)")
    assert hs.cost_change <= im.cost_change <= sec.point("learned trigger").cost_change + 1e-12
    assert im.gap_closed == pytest.approx(1.0)
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
    assert wrong[0].accuracy < rows[0].accuracy or np.isfinite(wrong[0].usd_per_1k["learned"])


def test_cprime_idle_and_pass_at_k(base) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.experiments._when import cprime_gain_share, cprime_sweep, idle_section, pass_at_k

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
    from sleeptime.experiments._when_run import WhenConfig, synthetic_access_log

    d = WhenConfig()
    for key, value in vars(when.DEFAULTS).items():  # the help's defaults are the study's
        assert getattr(d, key) == value, key
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    figs = tmp_path / "figs"
    figs.mkdir()
    argv = ["when-to-sleep", "--contexts", "140", "--sections", "cprime,idle,passk", "--query-rates", "1,16", "--figures", str(figs), "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(
        capsys.readouterr().out, parse_constant=lambda t: (_ for _ in ()).throw(AssertionError(t))
    )
    assert data["simulated"] is True and {"cprime", "idle", "passk"} <= set(data)
    assert sorted(p.name for p in figs.glob("*.png")) == ["cprime.png", "idle.png", "passk.png"]
    log = synthetic_access_log(tmp_path / "log.csv", contexts=3000)
    assert main(["fit-arrivals", str(log), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["best"] == "self-exciting" and fit["contexts"] == 3000
    assert main(["fit-arrivals", str(log)]) == 0
    assert "<- best" in capsys.readouterr().out
    assert main(["when-to-sleep", "--arrivals", "bursty"]) == 1
    assert "arrivals 'bursty'" in capsys.readouterr().err
