"""Actions across models: the joint action space, the transfer assumption, per-model prices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sleeptime._cli.main import main
from sleeptime.policy import Environment, Group, compare_policies
from sleeptime.simulators import (
    CalibrationError,
    MultiModelOutcome,
    OutcomeError,
    fit_transfer,
    load_price_book,
    paper_outcome_model,
    replay,
    split_action,
    synthetic_items,
)

P1 = "stateful-gsm-symbolic-p1"


@pytest.fixture(scope="module")
def panels() -> dict[str, object]:
    return {m: paper_outcome_model(P1, m) for m in ("gpt-4o", "gpt-4o-mini")}


def _replay(items, outcome, s: int, b: int, model: str = "gpt-4o-mini"):  # type: ignore[no-untyped-def]
    return replay(items, sleep_action=s, test_action=b, outcome=outcome, prices=load_price_book("list-2025"),
                  model=model, bootstrap=0)  # fmt: skip


def test_one_model_joined_replays_exactly_as_the_model(panels: dict) -> None:
    items = synthetic_items(120, seed=3)
    mini = panels["gpt-4o-mini"]
    one = MultiModelOutcome({"gpt-4o-mini": mini})
    assert [lv.name for lv in one.sleep_levels] == ["none", "k1@gpt-4o-mini", "k2@gpt-4o-mini", "k5@gpt-4o-mini", "k10@gpt-4o-mini"]  # fmt: skip
    for s in range(len(mini.sleep_levels)):
        for b in range(len(mini.budgets)):
            a, j = _replay(items, mini, s, b), _replay(items, one, s, b)
            assert a.traces is not None and j.traces is not None
            for key in ("correct", "usd", "test_output_tokens", "latency_s", "sleep_output_tokens"):
                np.testing.assert_array_equal(
                    a.traces[key], j.traces[key], err_msg=f"{key} at ({s}, {b})"
                )


def test_the_joint_actions_name_their_models(panels: dict) -> None:
    mm = MultiModelOutcome(dict(panels))
    assert len(mm.sleep_levels) == 1 + 2 * 4 and len(mm.budgets) == 2 * 3
    assert mm.sleep_models[0] == "" and set(mm.sleep_models[1:]) == {"gpt-4o", "gpt-4o-mini"}
    assert mm.action_models(0, 4) == (None, "gpt-4o-mini")
    assert mm.action_models(1, 4) == ("gpt-4o", "gpt-4o-mini") and not mm.is_single_model(1, 4)
    assert mm.is_single_model(1, 0) and mm.is_single_model(0, 5)
    assert split_action("k1@gpt-4o") == ("k1", "gpt-4o") and split_action("k1") == ("k1", None)
    assert split_action("level-0@openai/gpt-4o") == ("level-0", "openai/gpt-4o")
    env = Environment(mm, load_price_book("list-2025"), "gpt-4o")
    assert env.fixed_name(1, 4) == "fixed(k1@gpt-4o,b1@gpt-4o-mini)"
    assert env.models == ("gpt-4o", "gpt-4o-mini")


@pytest.mark.parametrize("transfer", [0.0, 0.3, 1.0])
def test_notes_read_across_models_follow_the_stated_transfer(panels: dict, transfer: float) -> None:
    """z(W -> R) = z(R -> R) + transfer * (z(W -> W) - z(R -> R)) on the same queries."""
    from scipy.special import ndtr, ndtri

    items = synthetic_items(150, seed=5)
    mm = MultiModelOutcome(dict(panels), transfer=transfer)
    strong_k1, mini_k1 = 1, 5  # k1@gpt-4o, k1@gpt-4o-mini
    for b_rank in range(3):
        strong_b, mini_b = b_rank, 3 + b_rank
        cross = _replay(items, mm, strong_k1, mini_b).traces  # gpt-4o writes, mini reads
        own_r = _replay(items, mm, mini_k1, mini_b).traces
        own_w = _replay(items, mm, strong_k1, strong_b).traces
        assert cross is not None and own_r is not None and own_w is not None
        served = cross["served_with_sleep"]
        assert served.any()
        zr, zw = (
            ndtri(np.clip(own_r["correct"], 1e-6, 1 - 1e-6)),
            ndtri(np.clip(own_w["correct"], 1e-6, 1 - 1e-6)),
        )
        expect = np.where(served, ndtr(zr + transfer * (zw - zr)), own_r["correct"])
        np.testing.assert_allclose(cross["correct"], expect, rtol=1e-9, atol=1e-12)
        # the reader's tokens and prices, the writer's sleep-time work and c'
        np.testing.assert_array_equal(cross["test_output_tokens"], own_r["test_output_tokens"])
        np.testing.assert_array_equal(cross["sleep_output_tokens"], own_w["sleep_output_tokens"])
    if transfer == 0.0:  # notes serve as the reader's own
        np.testing.assert_allclose(cross["correct"], own_r["correct"])


def test_each_phase_is_priced_at_its_own_model() -> None:
    book = load_price_book("list-2025")
    mm = MultiModelOutcome({m: paper_outcome_model(P1, m) for m in ("gpt-4o", "gpt-4o-mini")})
    items = synthetic_items(100, seed=2)
    first = np.searchsorted(items.query_context, np.arange(items.n_contexts))

    def usd_by_phase(s: int, b: int, writer: str, reader: str) -> tuple[float, float]:
        r = _replay(
            items, mm, s, b, model="gpt-4o"
        )  # the environment's model is not the one priced
        tr, agg = r.traces, r.aggregates
        assert tr is not None
        w = book.price(writer)
        sleep = w.batch_discount * (w.input_usd_per_mtok * tr["sleep_input_tokens"][first]
                                    + w.output_usd_per_mtok * tr["sleep_output_tokens"][first]).sum() / 1e6  # fmt: skip
        total = agg["usd_per_query"] * agg["queries"]
        assert agg["sleep_share_of_usd"] * total == pytest.approx(sleep, rel=1e-9)
        rd = book.price(reader)
        latency = rd.ttft_s + tr["test_output_tokens"] / rd.decode_tokens_per_s
        np.testing.assert_allclose(tr["latency_s"], latency)
        return sleep, total - sleep

    cross = usd_by_phase(1, 3, "gpt-4o", "gpt-4o-mini")  # gpt-4o writes, mini answers
    strong = usd_by_phase(1, 0, "gpt-4o", "gpt-4o")
    reverse = usd_by_phase(5, 0, "gpt-4o-mini", "gpt-4o")  # mini writes, gpt-4o answers
    assert cross[0] == pytest.approx(strong[0], rel=1e-9)  # the same notes, whoever reads them
    assert cross[1] < strong[1] / 5 and reverse[0] < strong[0] / 5


def test_bad_models_are_named() -> None:
    with pytest.raises(CalibrationError, match=r"claude-3\.7-sonnet"):
        MultiModelOutcome({m: paper_outcome_model(P1, m) for m in ("gpt-4o", "claude-3.7-sonnet")})
    gsm, aime = paper_outcome_model(P1, "gpt-4o"), paper_outcome_model("stateful-aime", "o1")
    with pytest.raises(OutcomeError, match="sleep levels"):
        MultiModelOutcome({"gpt-4o": gsm, "o1": aime})
    with pytest.raises(OutcomeError, match="transfer"):
        MultiModelOutcome({"gpt-4o": gsm}, transfer=1.5)
    with pytest.raises(OutcomeError, match="@"):
        MultiModelOutcome({"a@b": gsm})


def test_fit_transfer_recovers_the_share_it_was_drawn_with() -> None:
    from scipy.special import ndtr

    rng = np.random.default_rng(0)
    z = {("w", "w"): 0.8, ("r", "r"): -0.2}
    truth = 0.35
    records = []
    for (w, r), zz in [
        *z.items(),
        (("w", "r"), z[("r", "r")] + truth * (z[("w", "w")] - z[("r", "r")])),
    ]:
        p = float(ndtr(zz))
        for _ in range(20000):
            records.append({"sleep_model": w, "model": r, "sleep_level": "k1", "budget": "b0", "correct": float(rng.random() < p)})  # fmt: skip
    fit = fit_transfer(records)
    assert abs(fit["transfer"] - truth) <= 0.05 and len(fit["cells"]) == 1
    with pytest.raises(OutcomeError, match="crossed"):
        fit_transfer([r for r in records if r["sleep_model"] == r["model"]])


def test_compare_across_models_holds_single_model_fixed_strategies_as_the_target(
    panels: dict,
) -> None:
    from sleeptime.policy import FixedPolicy

    items = synthetic_items(160, seed=7)
    env = Environment(MultiModelOutcome(dict(panels)), load_price_book("list-2025"), "gpt-4o")
    c = compare_policies(env, items, budget_usd_per_1k=2.0, n_boot=50)
    groups = {r.name: r.group for r in c.rows}
    assert groups["fixed(k1@gpt-4o,b0@gpt-4o-mini)"] == Group.FIXED_CROSS
    assert groups["fixed(k1@gpt-4o,b0@gpt-4o)"] == Group.FIXED_SLEEP
    assert sum(g == Group.FIXED_CROSS for g in groups.values()) == 2 * 4 * 3
    best = c.operating_point.best_static
    assert groups[best] in Group.FIXED and c.row(best).usd_per_1k_queries <= 2.0
    single = [r for r in c.rows if r.group in Group.FIXED and r.usd_per_1k_queries <= 2.0]
    assert c.row(best).accuracy == max(r.accuracy for r in single)
    for name, mix in c.model_mix.items():
        assert sum(mix["queries_by_pair"].values()) == pytest.approx(1.0), name
        assert sum(mix["contexts_by_writer"].values()) == pytest.approx(1.0), name
    # a cross-model fixed strategy's mix is that one pair
    s, b = FixedPolicy(1, 3).decide(items, env)
    assert env.model_mix(items, s, b)["queries_by_pair"] == pytest.approx({"gpt-4o -> gpt-4o-mini": float(env.ready(items, s).mean()),
                                                                          "none -> gpt-4o-mini": 1 - float(env.ready(items, s).mean())})  # fmt: skip
    # the oracle, knowing everything, is never worse than the operating point at its cost
    assert c.oracle.at_equal_accuracy is not None
    assert "model_mix" in c.to_json()


def test_a_price_ratio_sets_one_model_to_a_multiple_of_another() -> None:
    from sleeptime.simulators import PriceBookError

    book = load_price_book("list-2025")
    mini = book.price("gpt-4o-mini")
    scaled = book.with_price_ratio("gpt-4o", "gpt-4o-mini", 4.0)
    p = scaled.price("gpt-4o")
    assert (
        p.input_usd_per_mtok == 4 * mini.input_usd_per_mtok
        and p.output_usd_per_mtok == 4 * mini.output_usd_per_mtok
    )
    assert (
        p.decode_tokens_per_s == book.price("gpt-4o").decode_tokens_per_s
    )  # only token prices change
    assert scaled.price("gpt-4o-mini") == mini and "4x gpt-4o-mini" in scaled.version
    with pytest.raises(PriceBookError, match="positive"):
        book.with_price_ratio("gpt-4o", "gpt-4o-mini", 0.0)


def test_compare_models_command(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = main(["compare", "--contexts", "120", "--models", "gpt-4o,gpt-4o-mini", "--transfer", "0.4", "--price-ratios", "1,16",
                 "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--json"])  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["simulated"] is True
    assert out["models"]["models"] == ["gpt-4o", "gpt-4o-mini"] and out["models"]["transfer"] == 0.4
    assert "assumption" in out["models"]["transfer_assumption"]
    names = [
        p["name"]
        for p in out["policies"]
        if p["group"] in ("test-only", "fixed sleep-time", "fixed across models")
    ]
    assert names and all("@gpt-4o" in n for n in names)
    assert set(out["model_mix"]) >= {"oracle", "learned"}
    sweep = {row["ratio"]: row for row in out["price_ratio_sweep"]}
    assert set(sweep) == {1.0, 16.0}
    # as cheap as the small model, the strong one answers at the operating point; 16x dearer, it does not
    assert sweep[1.0]["best_static"].endswith("@gpt-4o)") and sweep[16.0]["best_static"].endswith(
        "@gpt-4o-mini)"
    )
    for row in sweep.values():
        lo, hi = row["learned_cost_change_ci95"]
        assert lo <= hi and row["oracle_cost_change"] <= row["learned_cost_change"] + 1e-9
    assert (
        main(["compare", "--contexts", "60", "--models", "gpt-4o", "--price-ratios", "2", "--json"])
        == 1
    )
    assert "two models" in capsys.readouterr().err


def test_a_policy_across_models_exports_and_decides_with_its_models(exported_across_models: dict) -> None:  # fmt: skip
    import jsonschema

    from sleeptime.runtime import ArtifactError, RuntimePolicy, schema_path

    sc = exported_across_models["scenario"]
    path = exported_across_models[30.0]
    artifact = json.loads(path.read_text())
    jsonschema.validate(artifact, json.loads(schema_path().read_text()))
    assert [a["model"] for a in artifact["actions"]["test"]] == ["gpt-4o"] * 3 + ["gpt-4o-mini"] * 3
    assert [a["model"] for a in artifact["actions"]["sleep"]] == [None] + ["gpt-4o"] * 4 + [
        "gpt-4o-mini"
    ] * 4
    assert set(artifact["price_book"]["models"]) == {"gpt-4o", "gpt-4o-mini"}
    rt = RuntimePolicy.load(path)
    text = sc.workload.contexts[0].context
    for eq in (0.5, 4.0, 40.0):
        plan = rt.decide_sleep(context=text, expected_queries=eq)
        assert plan["model"] == split_action(plan["sleep_level"])[1]  # None for none
        for ready in (False, True):
            d = rt.decide_test(
                {"expected_queries": eq},
                context=text,
                question="How many are left?",
                sleep_level=plan["sleep_level"],
                c_prime_ready=ready,
            )
            assert d["model"] == split_action(d["budget"])[1] and d["model"] in (
                "gpt-4o",
                "gpt-4o-mini",
            )
    artifact["actions"]["test"][0]["model"] = "gpt-4o-mini"
    with pytest.raises(ArtifactError, match=r"actions\.test\[0\]\.model.*'gpt-4o'"):
        RuntimePolicy(artifact)
    artifact["actions"]["test"][0]["model"] = "gpt-4o"
    del artifact["price_book"]["models"]["gpt-4o"]
    with pytest.raises(ArtifactError, match=r"price_book\.models\.gpt-4o: missing field"):
        RuntimePolicy(artifact)
