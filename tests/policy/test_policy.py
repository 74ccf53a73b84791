from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sleeptime._cli.main import main
from sleeptime.experiments import ScenarioConfig, build_scenario, train_learned_policy
from sleeptime.policy import (
    Allocation,
    Environment,
    FixedPolicy,
    LearnedPolicy,
    LearnedTables,
    OraclePolicy,
    bisect_lam,
)
from sleeptime.simulators import list_prices_2025, paper_outcome_model, synthetic_items
from sleeptime.workloads import ArrivalProcess, GeometricCount, generate_workload, template_split


@parametrize_with_checks([LearnedPolicy(max_iter=15, min_samples_leaf=5)])
def test_learned_policy_follows_the_estimator_contract(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_allocation_names_a_view() -> None:
    env = Environment(paper_outcome_model(), list_prices_2025(), "gpt-4o-mini")
    assert env.allocation(3, 1) == Allocation("k5", "level-1", "both")
    with pytest.raises(ValueError, match="view must be one of"):
        Allocation("k1", "level-0", "summary")


def test_oracle_is_the_per_instance_optimum() -> None:
    env = Environment(paper_outcome_model(), list_prices_2025(), "gpt-4o-mini")
    items = synthetic_items(400, arrivals=ArrivalProcess(queries=GeometricCount(3.0)), seed=1)
    tables = env.action_tables(items)
    for lam in (300.0, 3000.0):
        oracle = OraclePolicy(lam, tables)
        acc, usd = tables.evaluate(*oracle.decide(items, env))
        best_fixed = max(
            a - lam * u
            for a, u in (
                tables.evaluate(*FixedPolicy(s, b).decide(items, env))
                for s in range(5)
                for b in range(3)
            )
        )
        assert acc - lam * usd >= best_fixed - 1e-12
        # no single context gains by moving: every other sleep level, with each budget for all
        # its queries or with each query's best budget at that level (the objective is a sum over
        # queries, so no other budget mix at that level does better), is not higher
        sleep, test = oracle.decide(items, env)
        value, tried, n_budgets = acc - lam * usd, 0, tables.p.shape[1]
        for c in range(tables.n_contexts):
            mine = tables.query_context == c
            for s in range(env.n_sleep):
                moved = sleep.copy()
                moved[c] = s
                best_b = np.argmax(tables.p[s] - lam * tables.usd[s], axis=0)
                for budgets in [*(np.full(mine.sum(), b) for b in range(n_budgets)), best_b[mine]]:
                    t = test.copy()
                    t[mine] = budgets
                    a, u = tables.evaluate(moved, t)
                    assert a - lam * u <= value + 1e-12, (c, s, budgets)
                    tried += 1
        assert tried == tables.n_contexts * env.n_sleep * (n_budgets + 1)
        # replaying the oracle's decisions gives the numbers the tables promised
        agg = env.replay(items, sleep, test, bootstrap=0).aggregates
        assert agg["accuracy"] == pytest.approx(acc) and agg["usd_per_query"] == pytest.approx(usd)


def test_count_blind_oracle_prices_sleep_with_expected_counts() -> None:
    import dataclasses

    env = Environment(paper_outcome_model(), list_prices_2025(), "gpt-4o-mini")
    items = synthetic_items(400, arrivals=ArrivalProcess(queries=GeometricCount(3.0)), seed=2)
    tables = env.action_tables(items)
    assert tables.sleep_usd is not None
    for s in range(env.n_sleep):
        # the per-context sleep-time cost is what the replay charges for that work
        agg = env.replay(items, np.full(items.n_contexts, s), np.zeros(items.n_queries, dtype=np.int64), bootstrap=0).aggregates  # fmt: skip
        total = agg["usd_per_query"] * items.n_queries
        assert tables.sleep_usd[s].sum() == pytest.approx(agg["sleep_share_of_usd"] * total)
    counts = tables.counts.astype(np.float64)
    for lam in (300.0, 3000.0):
        full = OraclePolicy(lam, tables).decide(items, env)
        # told the actual counts, the count-blind oracle is the oracle
        knows = dataclasses.replace(items, context_features={"expected_queries": counts})
        same = OraclePolicy(lam, tables, counts="expected").decide(knows, env)
        assert np.array_equal(full[0], same[0]) and np.array_equal(full[1], same[1])
        # told only the mean, it does no better than the oracle, and differs from it
        blind_items = dataclasses.replace(
            items, context_features={"expected_queries": np.full(items.n_contexts, counts.mean())}
        )
        blind = OraclePolicy(lam, tables, counts="expected").decide(blind_items, env)
        value = [a - lam * u for a, u in (tables.evaluate(*full), tables.evaluate(*blind))]
        assert value[1] <= value[0] + 1e-12 and not np.array_equal(full[0], blind[0])
    with pytest.raises(ValueError, match="counts must be"):
        OraclePolicy(1.0, counts="realized")


def test_bisect_lam_meets_targets() -> None:
    lam = bisect_lam(lambda x: 1.0 / x, 0.01)
    assert lam == pytest.approx(100.0, rel=1e-6)
    assert 1.0 / bisect_lam(lambda x: 1.0 / x, 0.01, at_least=False) <= 0.01


def test_cost_at_equal_accuracy_mixes_the_two_front_points_around_it() -> None:
    from sleeptime.policy import at_equal_accuracy

    # (lam, accuracy, USD per query); (50, 0.55, 1.5) is dominated by (100, 0.60, 1.0)
    sweep = ((1.0, 0.90, 3.0), (10.0, 0.80, 2.0), (50.0, 0.55, 1.5), (100.0, 0.60, 1.0), (1000.0, 0.50, 0.5))  # fmt: skip
    # 0.7 lies halfway from (0.60, 1.0) to (0.80, 2.0): half the contexts at each, 1.5 USD;
    # against a fixed strategy at 0.7 for 2.0 USD that is 25% less at equal accuracy
    lam, usd = at_equal_accuracy(sweep, 0.7)
    assert (lam, usd) == (10.0, pytest.approx(1.5))
    assert 1 - usd / 2.0 == pytest.approx(0.25)
    assert at_equal_accuracy(sweep, 0.85) == (1.0, pytest.approx(2.5))  # (0.8, 2) to (0.9, 3)
    assert at_equal_accuracy(sweep, 0.8) == (10.0, pytest.approx(2.0))  # a point itself
    assert at_equal_accuracy(sweep, 0.4) == (1000.0, 0.5)  # below the front: its cheapest point
    assert all(np.isnan(at_equal_accuracy(sweep, 0.95)))  # never reached


def test_paired_bootstrap_on_a_hand_computed_sweep() -> None:
    from sleeptime.policy import paired_bootstrap

    # per-context USD of a fixed strategy and of a policy that costs 20% less on every context:
    # every resample of contexts saves exactly 20%
    static, learned = np.array([1.0, 2.0, 4.0]), np.array([0.8, 1.6, 3.2])
    lo, hi = paired_bootstrap(lambda w: 1 - (w @ learned) / (w @ static), 3, n_boot=500, seed=3)
    assert (lo, hi) == (pytest.approx(0.2), pytest.approx(0.2))
    # two contexts of 1 USD, the policy halves the first: a resample saves 0.5 w1 / (w1 + w2).
    # Poisson(1) weights: w1 = 0 (saving 0) and w2 = 0 (saving 0.5) each have probability
    # e^-1 (1 - e^-1) / (1 - e^-2) = 0.27 among the draws that keep a context (the others are
    # redrawn), far more than 2.5%: the 95% interval is exactly (0, 0.5)
    static, learned = np.array([1.0, 1.0]), np.array([0.5, 1.0])

    def saving(w: np.ndarray) -> float:
        return float(1 - (w @ learned) / (w @ static))

    assert paired_bootstrap(saving, 2, n_boot=1000, seed=0) == (0.0, 0.5)
    # paired: every statistic sees the same draws for a seed, so the first context's share of
    # the spend, s, and 1 - s have mirrored intervals
    share = paired_bootstrap(lambda w: float(w[0] / w.sum()), 2, n_boot=1000, seed=7)
    rest = paired_bootstrap(lambda w: float(w[1] / w.sum()), 2, n_boot=1000, seed=7)
    assert rest == (pytest.approx(1 - share[1]), pytest.approx(1 - share[0]))


def test_threshold_policy_sleeps_where_both_features_clear_and_spends_by_readiness() -> None:
    import dataclasses

    from sleeptime.policy import ThresholdPolicy

    env = Environment(paper_outcome_model(), list_prices_2025(), "gpt-4o-mini")
    base = synthetic_items(4, arrivals=ArrivalProcess(queries=GeometricCount(2.0)), seed=0)
    n = 8  # two queries per context: one at once (c' not done yet), one a year later (done)
    items = dataclasses.replace(
        base,
        query_context=np.repeat(np.arange(4), 2),
        query_time_s=np.tile([0.0, 3.2e7], 4),
        difficulty=np.zeros(n), predictability=np.zeros(n), observed_predictability=np.zeros(n),
        question_tokens=np.full(n, 20.0), context_tokens=np.full(4, 300.0), features={},
        context_features={"predicted_predictability": np.array([0.5, 0.49, 2.0, 1.0]),
                          "expected_queries": np.array([4.0, 10.0, 3.9, 8.0])},
        query_ids=None, context_ids=None,
    )  # fmt: skip
    policy = ThresholdPolicy(0.5, 4.0, level=2, budget_sleep=0, budget_plain=2)
    sleep, test = policy.decide(items, env)
    # context 0 sits on both thresholds (inclusive); 1 and 2 each miss one; 3 clears both
    assert sleep.tolist() == [2, 0, 0, 2]
    assert env.ready(items, sleep).tolist() == [False, True, False, False, False, False, False, True]  # fmt: skip
    assert test.tolist() == [2, 0, 2, 2, 2, 2, 2, 0]
    with pytest.raises(KeyError, match="expected_queries"):
        policy.decide_sleep(dataclasses.replace(items, context_features={"predicted_predictability": np.zeros(4)}), env)  # fmt: skip


def test_template_split_is_stratified_and_disjoint() -> None:
    w = generate_workload(140, seed=0)
    train, test = template_split(w, 0.4, seed=0)
    assert train.isdisjoint(test) and len(train | test) == 35
    domains_test = {c.meta["domain"] for c in w.contexts if c.meta["template"] in test}
    assert len(domains_test) == 7


@pytest.fixture(scope="module")
def scenario() -> object:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return build_scenario(ScenarioConfig(n_contexts=210, seed=0), progress=False)


@pytest.mark.slow
def test_scenario_and_learned_decisions_make_sense(scenario) -> None:  # type: ignore[no-untyped-def]
    sc = scenario
    train_templates = {
        c.meta["template"]
        for c in sc.workload.contexts
        if c.context_id in set(sc.train.context_ids)
    }
    test_templates = {
        c.meta["template"] for c in sc.workload.contexts if c.context_id in set(sc.test.context_ids)
    }
    assert train_templates.isdisjoint(test_templates)
    means = sc.train.queries_per_context().mean()
    assert 3.0 < means < 5.5
    policy = train_learned_policy(sc)
    lt = LearnedTables.build(policy, sc.test)
    sleep, _ = lt.decide(sc.test, sc.env, 1500.0)
    f = sc.test.context_features
    hot = f["expected_queries"] >= np.median(f["expected_queries"])
    predictable = f["predicted_predictability"] >= np.median(f["predicted_predictability"])
    slept = sleep > 0
    print({"sleep_rate_hot": slept[hot].mean(), "sleep_rate_cold": slept[~hot].mean(),
           "sleep_rate_predictable": slept[predictable].mean(), "sleep_rate_unpredictable": slept[~predictable].mean()})  # fmt: skip
    assert slept[hot].mean() > slept[~hot].mean()
    # one input moved at a time, the rest kept: more sleep-time for more expected queries
    # (predicted predictability moves it much less; at this size its direction is noise)
    from sleeptime.policy._evaluate import decision_sensitivity

    moved = decision_sensitivity(policy, sc.test, sc.env, 1500.0)
    pp, eq = moved["predicted_predictability"], moved["expected_queries"]
    assert eq["x0.5"] < eq["x1"] < eq["x2"]
    assert pp["+0 sd"] == eq["x1"] == pytest.approx(float(np.mean(sleep > 0)))
    # the Policy interface (per moment, from features) decides exactly as the tables do
    policy.set_params(lam=1500.0)
    direct_sleep, direct_test = policy.decide(sc.test, sc.env)
    table_sleep, table_test = lt.decide(sc.test, sc.env, 1500.0)
    np.testing.assert_array_equal(direct_sleep, table_sleep)
    np.testing.assert_array_equal(direct_test, table_test)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_learned_policy_saves_at_equal_accuracy(seed: int, scenario) -> None:  # type: ignore[no-untyped-def]
    # 210 contexts (84 held out), operating point fixed(k1,b1) within 0.2 USD/1k (compare's
    # default): measured savings at equal accuracy for seeds 0-7 were 7.6%, 11.9%, 10.8%, 12.6%,
    # 7.6%, 2.0%, 7.4%, 11.8% (every seed > 0; the oracle's 21-25%). Two seeds here: each other
    # seed scores its workload with the LM afresh (about 30 s on 2 cores)
    from sleeptime.policy import compare_policies

    sc = scenario if seed == 0 else build_scenario(ScenarioConfig(n_contexts=210, seed=seed), progress=False)  # fmt: skip
    policy = train_learned_policy(sc)
    result = compare_policies(sc.env, sc.test, learned=[policy], budget_usd_per_1k=0.2, seed=seed, n_boot=50)  # fmt: skip
    assert result.operating_point.best_static == "fixed(k1,b1)"
    summary = result.learned["learned"]
    assert 0 < summary.cost_reduction_at_equal_accuracy < summary.oracle_cost_reduction_at_equal_accuracy  # fmt: skip
    # at equal accuracy: some swept point of the learned policy reaches the fixed one's accuracy
    assert max(a for _, a, _ in result.swept["learned"].sweep) >= result.operating_point.accuracy


@pytest.mark.slow
def test_compare_train_and_mlflow_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)
    # MLflow writes the URI it last used into the environment: pin this test's own
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    assert main(["compare", "--contexts", "210", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for row in out["policies"]:
        assert {
            "name",
            "accuracy",
            "usd_per_query",
            "test_tokens_per_query",
            "sleep_tokens_per_context",
            "latency_p95_s",
        } <= set(row)
    assert set(out["summary"]) == {
        "best_static",
        "cost_reduction_at_equal_accuracy",
        "accuracy_gain_at_equal_cost",
        "oracle_gap_closed",
    }
    names = {r["name"] for r in out["policies"]}
    assert {
        "fixed(none,b0)",
        "paper(k1,b0)",
        "threshold",
        "oracle @ equal accuracy",
        "learned @ equal accuracy",
        "learned-cheap @ equal accuracy",
    } <= names
    oracle = next(r for r in out["policies"] if r["name"] == "oracle @ equal accuracy")
    best = next(r for r in out["policies"] if r["name"] == out["summary"]["best_static"])
    assert oracle["usd_per_query"] <= best["usd_per_query"] * (1 + 1e-9)
    # the count-blind oracle knows less than the oracle and more than a fixed strategy
    d = out["details"]["learned"]
    blind = d["count_blind_oracle_cost_reduction_at_equal_accuracy"]
    assert 0 <= blind <= d["oracle_cost_reduction_at_equal_accuracy"] + 1e-9
    # every fixed Pareto point gets each swept policy's cost change; the best fixed one is there
    points = {pt["fixed"]: pt["cost_change_at_equal_accuracy"] for pt in out["operating_points"]}
    assert set(next(iter(points.values()))) == {
        "oracle",
        "oracle-count-blind",
        "learned",
        "learned-cheap",
    }
    here = points[out["summary"]["best_static"]]
    assert here["learned"] == pytest.approx(-out["summary"]["cost_reduction_at_equal_accuracy"])
    assert main(["train", "--contexts", "210", "--json", "--budget-usd-per-1k", "0.15"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert abs(trained["held_out_spend_error"]) < 0.02
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["sleeptime"])
    kinds = set(runs["tags.sleeptime.kind"])
    assert {"compare", "train"} <= kinds
    compare_run = runs[runs["tags.sleeptime.kind"] == "compare"].iloc[0]
    assert (
        compare_run["params.n_contexts"] == "210"
        and compare_run["params.rho_predictability"] == "0.5"
    )
    assert np.isfinite(compare_run["metrics.learned.cost_reduction_at_equal_accuracy"])
    assert -1 <= out["summary"]["cost_reduction_at_equal_accuracy"] <= 1
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(compare_run["run_id"])]
    assert "compare.json" in artifacts


@pytest.mark.slow
def test_optuna_study_resumes_under_the_same_name(
    scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.experiments._study import PolicySearch, run_study

    monkeypatch.chdir(tmp_path)
    search = PolicySearch(scenario)
    first = run_study(search, n_trials=12, study_name="resume-me", seed=0)
    assert len(first.trials) == 12
    study = run_study(search, n_trials=8, study_name="resume-me", seed=1)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(20))
    assert (tmp_path / "mlruns" / "optuna" / "journal.log").is_file()
    front = study.best_trials
    assert front and all(0 <= t.values[0] <= 1 and t.values[1] > 0 for t in front)


@pytest.mark.slow
def test_a_resumed_study_does_not_replay_its_parameters(
    scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Resumed with the same seed, a study used to draw the same parameters again (trial 3
    repeated trial 0, trial 4 trial 1): the sampler's seed now moves with the trials done."""
    from sleeptime.experiments._study import PolicySearch, run_study
    from sleeptime.tracking import resumed_seed, storage_for

    monkeypatch.chdir(tmp_path)
    search = PolicySearch(scenario)
    run_study(search, n_trials=4, study_name="again", seed=0)
    study = run_study(search, n_trials=4, study_name="again", seed=0)
    first, resumed = [t.params for t in study.trials[:4]], [t.params for t in study.trials[4:]]
    assert len(resumed) == 4 and resumed != first
    assert sum(a == b for a, b in zip(first, resumed, strict=True)) <= 1
    storage = storage_for(None)
    assert resumed_seed(0, storage, "new-study") == 0  # a new study keeps its seed
    assert resumed_seed(0, storage, "again") == resumed_seed(0, storage, "again") != 0


@pytest.mark.slow
def test_fifty_optuna_trials_match_the_exhaustive_grid(
    scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from sleeptime.experiments._study import SPACE, PolicySearch, run_study
    from sleeptime.policy import accuracy_at_matched_cost, pareto_points

    monkeypatch.chdir(tmp_path)
    search = PolicySearch(scenario)
    grid = search.grid()
    assert len(grid) == int(np.prod([len(v) for v in SPACE.values()]))
    grid_front = pareto_points([(g["accuracy"], g["usd_per_query"]) for g in grid])
    # The claim is over seeds, not one study's worst point. Measured (5 seeds at a time, 7
    # scenarios whose LM scores differ by 1e-5 relative, as another CPU's kernels may make them):
    # the worst gap of a single 50-trial study ran from 0.001 to 0.035, over 0.01 in 40 of 70
    # (0.018 for seed 0 here, under Optuna 5.0 and 5.1 alike): it says little about the
    # search, and 0.01 held only by luck of seed and scores. Pooled over 5 seeds, 50 trials
    # came within 1 point at >= 93% of the grid front's costs, with a mean shortfall <= 0.0023
    # and every study's median gap <= 0.0002. 20 trials (TPE or random) failed the bounds
    # below in 11 of 14 of those blocks.
    per_seed = []
    for seed in range(5):
        study = run_study(search, n_trials=50, study_name=f"vs-grid-{seed}", seed=seed)
        trials = [(t.values[0], t.values[1]) for t in study.trials]
        lo, hi = min(u for _, u in trials), max(u for _, u in trials)
        front = [(a, u) for a, u in grid_front if lo <= u <= hi]
        assert len(front) >= 5
        per_seed.append(np.array([a - accuracy_at_matched_cost(trials, u) for a, u in front]))
    gaps = np.concatenate(per_seed)
    # a mixture of trials may beat a grid point that is not on the grid's convex front: a
    # negative gap, which must not hide a shortfall elsewhere
    shortfall = float(np.mean(np.maximum(gaps, 0.0)))
    within_1pt = float(np.mean(gaps <= 0.01))
    print(
        {
            "grid": len(grid),
            "grid_front_in_range": [len(g) for g in per_seed],
            "worst_gap_per_seed": [round(float(g.max()), 4) for g in per_seed],
            "median_gap_per_seed": [round(float(np.median(g)), 4) for g in per_seed],
            "mean_shortfall": shortfall,
            "share_within_1pt": within_1pt,
        }
    )
    assert all(float(np.median(g)) <= 0.005 for g in per_seed)
    assert within_1pt >= 0.9
    assert shortfall <= 0.003
    assert float(gaps.max()) <= 0.05
