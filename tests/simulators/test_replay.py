from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from sleeptime import SleeptimeError
from sleeptime._cli.main import main
from sleeptime.simulators import (
    ModelPrice,
    PriceBook,
    SimItems,
    fixed_actions,
    items_from_workload,
    list_prices_2025,
    paper_outcome_model,
    pareto_front,
    percentile_interval,
    replay,
    synthetic_items,
)
from sleeptime.simulators._replay import SLEEP_PROMPT_TOKENS, TEST_PROMPT_TOKENS
from sleeptime.workloads import ArrivalProcess, ExponentialDurations, FixedCount, generate_workload

MODEL = paper_outcome_model()


def _run(items: SimItems, sleep: int, budget: int, **kw: object):  # type: ignore[no-untyped-def]
    s, t = fixed_actions(items, sleep, budget)
    return replay(
        items,
        sleep_action=s,
        test_action=t,
        outcome=MODEL,
        prices=kw.pop("prices", list_prices_2025()),
        model="gpt-4o-mini",
        **kw,
    )  # type: ignore[arg-type]


def test_costs_by_hand() -> None:
    # one context, two queries 10 s apart, both after sleep-time work finished
    items = SimItems(
        query_context=np.array([0, 0]), query_time_s=np.array([1000.0, 1010.0]), difficulty=np.zeros(2),
        predictability=np.zeros(2), observed_predictability=np.zeros(2), question_tokens=np.array([20.0, 20.0]),
        context_tokens=np.array([100.0]),
    )  # fmt: skip
    price = ModelPrice(1.0, 4.0, batch_discount=0.5, cache_read_multiplier=0.1, cache_write_multiplier=1.0,
                       decode_tokens_per_s=100.0, ttft_s=0.5, batch_latency_s=100.0)  # fmt: skip
    book = PriceBook({"gpt-4o-mini": price}, "test")
    result = _run(items, 1, 0, prices=book, bootstrap=0)
    tr = result.traces
    sleep_out = MODEL.sleep_tokens_per_unit
    cprime = MODEL.cprime_fraction * sleep_out
    assert tr is not None and tr["served_with_sleep"].all()
    sleep_usd = 0.5 * (1.0 * (100 + SLEEP_PROMPT_TOKENS) + 4.0 * sleep_out) / 1e6
    prefix = 100 + cprime
    test_usd = [
        (1.0 * (prefix * mult + 20 + TEST_PROMPT_TOKENS) + 4.0 * out) / 1e6
        for mult, out in zip((1.0, 0.1), tr["test_output_tokens"], strict=True)
    ]
    assert result.aggregates["usd_per_query"] == pytest.approx(
        (sleep_usd + sum(test_usd)) / 2, rel=1e-12
    )
    assert tr["usd"].sum() == pytest.approx(sleep_usd + sum(test_usd), rel=1e-12)
    np.testing.assert_allclose(tr["latency_s"], 0.5 + tr["test_output_tokens"] / 100.0)
    np.testing.assert_allclose(tr["test_input_tokens"], prefix + 20 + TEST_PROMPT_TOKENS)


def test_queries_before_sleep_is_done_go_without_cprime() -> None:
    items = synthetic_items(
        20_000,
        arrivals=ArrivalProcess(queries=FixedCount(3), idle=ExponentialDurations(600.0)),
        seed=1,
    )
    result = _run(items, 1, 0, bootstrap=0)
    assert result.traces is not None
    price = list_prices_2025().price("gpt-4o-mini")
    done = price.batch_latency_s + MODEL.sleep_tokens_per_unit / price.decode_tokens_per_s
    expected = float((items.query_time_s < done).mean())
    assert result.aggregates["share_before_sleep_done"] == pytest.approx(expected)
    early = ~result.traces["served_with_sleep"]
    assert result.traces["correct"][early].mean() < result.traces["correct"][~early].mean()
    assert 0.1 < expected < 0.9


def test_sampled_mode_is_seeded_and_agrees_with_expected() -> None:
    items = synthetic_items(30_000, seed=2)
    a = _run(items, 1, 1, mode="sampled", seed=7, bootstrap=200)
    b = _run(items, 1, 1, mode="sampled", seed=7, bootstrap=200)
    c = _run(items, 1, 1, mode="sampled", seed=8, bootstrap=0)
    e = _run(items, 1, 1, mode="expected", bootstrap=200)
    assert a.traces is not None and b.traces is not None and c.traces is not None
    np.testing.assert_array_equal(a.traces["correct"], b.traces["correct"])
    assert a.aggregates == b.aggregates
    assert not np.array_equal(a.traces["correct"], c.traces["correct"])
    assert set(np.unique(a.traces["correct"])) == {0.0, 1.0}
    lo, hi = a.aggregates["accuracy_ci95"]
    assert lo < e.aggregates["accuracy"] < hi
    assert 0 < hi - lo < 0.03


def test_bootstrap_interval_has_nominal_width() -> None:
    items = synthetic_items(4000, arrivals=ArrivalProcess(queries=FixedCount(1)), seed=4)
    result = _run(items, 0, 1, mode="sampled", seed=3, bootstrap=2000)
    acc = result.aggregates["accuracy"]
    lo, hi = result.aggregates["accuracy_ci95"]
    se = np.sqrt(acc * (1 - acc) / items.n_queries)
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_one_interval_rule_for_draws_that_do_not_exist() -> None:
    draws = np.arange(1000, dtype=np.float64)  # quantiles by linear interpolation: 24.975, 974.025
    assert percentile_interval(draws) == pytest.approx((24.975, 974.025))
    assert percentile_interval(draws, level=0.5) == pytest.approx((249.75, 749.25))
    # the default asks every draw to exist; min_finite is the share that must
    gone = draws.copy()
    gone[:100] = np.nan  # exactly 90% finite
    assert np.isnan(percentile_interval(gone)).all()
    lo, hi = percentile_interval(gone, min_finite=0.9)
    assert (lo, hi) == pytest.approx(tuple(np.quantile(draws[100:], [0.025, 0.975])))
    gone[100] = np.inf  # one draw under 90%
    assert np.isnan(percentile_interval(gone, min_finite=0.9)).all()
    assert percentile_interval(gone, min_finite=0.0) == pytest.approx(tuple(np.quantile(draws[101:], [0.025, 0.975])))  # fmt: skip
    assert np.isnan(percentile_interval(np.full(10, np.nan), min_finite=0.0)).all()  # none exists


def test_pareto_front() -> None:
    acc = [0.5, 0.6, 0.55, 0.7, 0.65]
    cost = [1.0, 2.0, 3.0, 4.0, 4.0]
    assert pareto_front(acc, cost).tolist() == [0, 1, 3]


def test_items_from_workload_and_bad_actions() -> None:
    w = generate_workload(30, seed=1)
    items = items_from_workload(w, arrivals=ArrivalProcess(queries=FixedCount(8)), seed=0)
    assert items.n_queries == 240 and items.n_contexts == 30
    assert items.query_ids is not None and items.context_ids is not None
    steps = np.array(
        [
            float(w.contexts[c].queries[int(q[1:])].meta["n_steps"])
            for c, q in zip(items.query_context, items.query_ids, strict=True)
        ]
    )
    assert np.corrcoef(steps, items.difficulty)[0, 1] > 0.3
    with pytest.raises(SleeptimeError, match="sleep_action must be integers of shape"):
        replay(
            items,
            sleep_action=np.zeros(3, dtype=np.int64),
            test_action=0,
            outcome=MODEL,
            prices=list_prices_2025(),
            model="gpt-4o-mini",
        )
    with pytest.raises(SleeptimeError, match="mode must be one of"):
        _run(items, 0, 0, mode="fast")


def test_simulate_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # MLflow writes the URI it last used into the environment: pin this test's own
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    traces = tmp_path / "t.jsonl"
    assert (
        main(
            [
                "simulate",
                "--limit",
                "40",
                "--sleep",
                "k5",
                "--budget",
                "1",
                "--json",
                "--traces",
                str(traces),
                "--mode",
                "sampled",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["simulated"] is True and out["policy"] == {"sleep": "k5", "budget": 1}
    for key in (
        "accuracy",
        "accuracy_ci95",
        "usd_per_query",
        "test_tokens_per_query",
        "sleep_tokens_per_context",
        "latency_p50_s",
        "latency_p95_s",
        "share_before_sleep_done",
    ):
        assert key in out
    records = [json.loads(line) for line in traces.read_text().splitlines()]
    assert len(records) == out["queries"]
    fields = {
        "context_id",
        "query_id",
        "model",
        "sleep_action",
        "test_action",
        "sleep_input_tokens",
        "sleep_output_tokens",
        "test_input_tokens",
        "test_output_tokens",
        "correct",
        "latency_s",
    }
    assert fields <= set(records[0]) and records[0]["context_id"].startswith("builtin-")
    assert main(["simulate", "--limit", "5", "--budget", "9"]) == 1
    scores = tmp_path / "s.csv"
    assert (
        main(["score", "builtin", "--limit", "6", "--out", str(scores), "--no-cache", "--json"])
        == 0
    )
    capsys.readouterr()
    assert main(["simulate", "--limit", "6", "--scores", str(scores), "--json", "--no-track"]) == 0
    assert json.loads(capsys.readouterr().out)["contexts"] == 6
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["sleeptime"])
    assert (
        list(runs["tags.sleeptime.kind"]) == ["simulate"]
        and runs.iloc[0]["run_id"] == out["mlflow_run_id"]
    )
    assert runs.iloc[0]["params.sleep"] == "k5" and runs.iloc[0][
        "metrics.accuracy"
    ] == pytest.approx(out["accuracy"])


def test_paper_figures_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paper-figures", "--contexts", "3000", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["simulated"] is True
    for name in ("calibration", "amortization", "quintiles", "pareto"):
        assert Path(out["files"][name]).stat().st_size > 10_000
    assert out["amortization_cost_ratio_1_to_10"]["level-0"] == pytest.approx(2.4, abs=0.3)
    assert len(out["quintile_gains"]["simulated"]) == 5
    assert len(out["fixed_strategies"]) == 15  # 5 sleep levels x 3 budgets


def test_views_c_cprime_both() -> None:
    items = synthetic_items(
        5000, arrivals=ArrivalProcess(queries=FixedCount(3), idle=ExponentialDurations(1e9)), seed=6
    )
    s, t = fixed_actions(items, 1, 0)
    both = replay(
        items,
        sleep_action=s,
        test_action=t,
        outcome=MODEL,
        prices=list_prices_2025(),
        model="gpt-4o-mini",
        bootstrap=0,
    )
    only = replay(
        items,
        sleep_action=s,
        test_action=t,
        view=np.ones(items.n_queries, dtype=np.int64),
        outcome=MODEL,
        prices=list_prices_2025(),
        model="gpt-4o-mini",
        bootstrap=0,
    )
    plain = replay(
        items,
        sleep_action=s,
        test_action=t,
        view=np.zeros(items.n_queries, dtype=np.int64),
        outcome=MODEL,
        prices=list_prices_2025(),
        model="gpt-4o-mini",
        bootstrap=0,
    )
    no_sleep = _run(items, 0, 0, bootstrap=0)
    a = {k: r.aggregates for k, r in {"both": both, "only": only, "plain": plain}.items()}
    assert a["plain"]["accuracy"] == pytest.approx(no_sleep.aggregates["accuracy"])
    assert a["plain"]["accuracy"] < a["only"]["accuracy"] < a["both"]["accuracy"]
    assert a["only"]["test_input_tokens_per_query"] < a["both"]["test_input_tokens_per_query"]
    from sleeptime.simulators import sleep_ready

    assert sleep_ready(
        items, s, outcome=MODEL, prices=list_prices_2025(), model="gpt-4o-mini"
    ).all()
    assert not sleep_ready(
        items,
        np.zeros(items.n_contexts, dtype=np.int64),
        outcome=MODEL,
        prices=list_prices_2025(),
        model="gpt-4o-mini",
    ).any()


def test_replay_stream_matches_one_replay_of_the_whole() -> None:
    import numpy as np

    from sleeptime.simulators import (
        list_prices_2025,
        paper_outcome_model,
        replay,
        replay_stream,
        synthetic_items,
    )

    model, prices = paper_outcome_model(), list_prices_2025()
    items = synthetic_items(2000, seed=4)
    rng = np.random.default_rng(0)
    sleep = rng.integers(0, 5, items.n_contexts)
    test = rng.integers(0, 3, items.n_queries)
    whole = replay(items, sleep_action=sleep, test_action=test, outcome=model, prices=prices, model="gpt-4o-mini", bootstrap=0).aggregates  # fmt: skip
    counts = items.queries_per_context()
    cuts = [0, 500, 1200, 2000]
    chunks = []
    for a, b in itertools.pairwise(cuts):
        q0, q1 = int(counts[:a].sum()), int(counts[:b].sum())
        chunks.append((items.subset(np.arange(a, b)), sleep[a:b], test[q0:q1]))
    stream = replay_stream(chunks, outcome=model, prices=prices, model="gpt-4o-mini")
    assert stream["queries"] == whole["queries"] and stream["contexts"] == whole["contexts"]
    for key in ("accuracy", "usd_per_query", "test_tokens_per_query", "sleep_tokens_per_context"):
        assert stream[key] == pytest.approx(whole[key], rel=1e-9), key
    for key in ("latency_p50_s", "latency_p95_s"):
        assert stream[key] == pytest.approx(whole[key], rel=0.01), key
