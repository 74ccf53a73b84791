"""Policies judged on a real exploration run (the real local server, SmolLM2-135M): the
measured table holds what the server answered, replays read it exactly, and ``sleeptime
compare --traces`` judges every policy on the held-out contexts."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sleeptime.live import read_records
from sleeptime.policy import MeasuredEnvironment, MeasuredError, MeasuredTable
from sleeptime.simulators import load_price_book
from tests.live.test_collect import _collect, _require_server

CONTEXTS = 6
#: A stuck server fails the test instead of hanging the run: 900 s (pytest-timeout; it covers
#: the module's fixtures' setup too). The longest test here took 262 s with its fixture's run,
#: on 2 cores that another job kept busy.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An exploration run of 6 built-in contexts x 2 questions x (none, k1) x (b0, b1) x views,
    on a server in exact mode (one slot, no prompt cache): llama.cpp's batched decoding and its
    prompt cache are not bit-for-bit reproducible, a single slot that computes every prompt from
    scratch is, so a later run (the deployed policy's) asks and gets the same. Collection with
    several slots and the prompt cache is tested in ``test_collect``."""
    _require_server()
    from sleeptime.live import LocalServer

    folder = tmp_path_factory.mktemp("measured")
    with LocalServer(log_file=folder / "server.log", mode="exact") as server:
        _collect(server, folder / "t.jsonl", contexts=CONTEXTS, concurrency=1)
    return {
        "path": folder / "t.jsonl",
        "records": read_records(folder / "t.jsonl"),
        "folder": folder,
    }


@pytest.mark.slow
def test_the_table_holds_what_the_server_answered(run: dict[str, Any]) -> None:
    records = run["records"]
    table = MeasuredTable.from_records(records)
    assert table.sleep_levels == ("none", "k1") and table.budgets == ("b0", "b1")
    assert table.n_contexts == CONTEXTS and table.n_queries == CONTEXTS * 2 and not table.incomplete
    cell = {
        (r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"]): r
        for r in records
    }
    for j, q in enumerate(table.query_ids):
        c = table.context_ids[table.query_context[j]]
        for s, level in enumerate(table.sleep_levels):
            for b, budget in enumerate(table.budgets):
                rec = cell[(c, q, level, budget, "c" if s == 0 else "both")]
                assert table.correct[s, b, j] == rec["correct"]
                assert table.test_output_tokens[s, b, j] == rec["test_output_tokens"]
                assert table.test_input_tokens[s, b, j] == rec["test_input_tokens"]
            if s:
                assert (
                    table.sleep_output_tokens[s, table.query_context[j]]
                    == rec["sleep_output_tokens"]
                )
    # the c'-only view is another table of the same run; a context with a cell missing is left out
    assert MeasuredTable.from_records(records, view="c_prime").n_queries == table.n_queries
    first = table.context_ids[0]
    dropped = [r for r in records if not (r["context_id"] == first and r["sleep_level"] == "k1" and r["budget"] == "b1")]  # fmt: skip
    partial = MeasuredTable.from_records(dropped)
    assert partial.incomplete == (first,) and first not in partial.context_ids


@pytest.mark.slow
def test_a_replay_reads_the_table_exactly(run: dict[str, Any]) -> None:
    records = run["records"]
    table = MeasuredTable.from_records(records)
    book = load_price_book("list-2025")
    price = book.price("gpt-4o-mini")
    env = MeasuredEnvironment.build(table, book, "gpt-4o-mini", sleep_price="live")
    from sleeptime.simulators import SimItems

    n = table.n_queries
    zeros = np.zeros(n)
    items = SimItems(table.query_context, zeros, zeros, zeros, zeros, zeros + 1, np.ones(table.n_contexts), query_ids=table.query_ids)  # fmt: skip
    for s, level in enumerate(table.sleep_levels):
        for b, budget in enumerate(table.budgets):
            rows = [r for r in records if r["sleep_level"] == level and r["budget"] == budget and r["view"] == ("c" if s == 0 else "both")]  # fmt: skip
            agg = env.replay(items, np.full(table.n_contexts, s), np.full(n, b)).aggregates
            assert agg["mode"] == "measured"
            assert agg["accuracy"] == pytest.approx(sum(r["correct"] for r in rows) / len(rows))
            assert agg["test_tokens_per_query"] == pytest.approx(np.mean([r["test_output_tokens"] for r in rows]))  # fmt: skip
            # at the live price (full list price for sleep-time work here) the USD are the run's own
            assert agg["usd_per_query"] == pytest.approx(
                np.mean([r["usd"] for r in rows]), rel=1e-9
            )
            assert price.live_sleep_discount == 1.0
    batch = MeasuredEnvironment.build(table, book, "gpt-4o-mini")
    assert batch.sleep_discount == price.batch_discount
    slept = batch.replay(
        items, np.ones(table.n_contexts, dtype=np.int64), np.zeros(n, dtype=np.int64)
    ).aggregates
    live = env.replay(
        items, np.ones(table.n_contexts, dtype=np.int64), np.zeros(n, dtype=np.int64)
    ).aggregates
    assert slept["usd_per_query"] < live["usd_per_query"]


@pytest.mark.slow
def test_compare_traces_judges_every_policy_on_the_held_out_contexts(run: dict[str, Any]) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    figures = run["folder"] / "figures"
    out = subprocess.run(
        [sys.executable, "-m", "sleeptime", "--threads", "1", "compare", "--traces", str(run["path"]), "--json",
         "--figures", str(figures), "--tracking-uri", f"sqlite:///{run['folder'] / 'mlflow.db'}"],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert r["measured"] is True and r["contexts"] == {"train": 3, "held_out": 3, "incomplete": []}
    names = {p["name"] for p in r["policies"]}
    assert {"fixed(none,b0)", "fixed(none,b1)", "fixed(k1,b0)", "fixed(k1,b1)", "paper(k1,b0)", "threshold",
            "learned @ equal accuracy", "learned-cheap @ equal cost", "oracle @ equal cost"} <= names  # fmt: skip
    assert {p["name"] for p in r["other_view"]} == {"fixed(k1,b0) c' only", "fixed(k1,b1) c' only"}
    rows = {p["name"]: p for p in r["policies"]}
    for p in r["policies"]:
        lo, hi = p["accuracy_ci95"]
        assert lo <= p["accuracy"] <= hi
        u_lo, u_hi = p["usd_per_query_ci95"]
        assert u_lo <= p["usd_per_query"] * (1 + 1e-9) and p["usd_per_query"] <= u_hi * (1 + 1e-9)
    # the hindsight oracle at equal cost is at least as accurate as every fixed strategy it can afford
    oracle = rows["oracle @ equal cost"]
    for p in r["policies"]:
        if p["name"].startswith("fixed(") and p["usd_per_query"] <= oracle["usd_per_query"]:
            assert oracle["accuracy"] >= p["accuracy"] - 1e-12
    # the measured held-out accuracy of each action is the mean of the held-out records
    records = run["records"]
    table = MeasuredTable.from_records(records)
    held = set(table.context_ids) - _train_contexts(table, r)
    assert len(held) == 3
    by_cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    for rec in records:
        if rec["context_id"] in held and rec["view"] in ("c", "both"):
            by_cell[(rec["sleep_level"], rec["budget"])].append(rec["correct"])
    for e in r["outcome_model_errors"]:
        cell = by_cell[(e["sleep_level"], e["budget"])]
        assert e["measured_accuracy"] == pytest.approx(sum(cell) / len(cell))
        assert 0 <= e["trace_model_accuracy"] <= 1 and 0 <= e["paper_model_accuracy"] <= 1
        assert math.isclose(
            e["paper_model_error"], e["paper_model_accuracy"] - e["measured_accuracy"]
        )
    assert set(r["figures"]) == {"accuracy_vs_test_tokens", "cost_by_queries_per_context", "gain_by_predictability_quintile", "pareto"}  # fmt: skip
    for path in r["figures"].values():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _train_contexts(table: MeasuredTable, r: dict[str, Any]) -> set[str]:
    """The training contexts of the comparison: the split is a seeded permutation of contexts."""
    order = np.random.default_rng(0).permutation(table.n_contexts)
    k = round(table.n_contexts * 0.5)
    assert r["contexts"]["held_out"] == k
    return {table.context_ids[i] for i in order[k:]}


@pytest.mark.slow
def test_records_that_are_not_an_exploration_run_are_named(
    run: dict[str, Any], tmp_path: Path
) -> None:
    records = [dict(r) for r in run["records"]]
    records[4]["design"] = "policy"
    with pytest.raises(MeasuredError, match="record 5: design 'policy'"):
        MeasuredTable.from_records(records)
    twice = [*run["records"], run["records"][0]]
    with pytest.raises(MeasuredError, match=f"record {len(twice)}: context .* answered twice"):
        MeasuredTable.from_records(twice)
    unpriced = [dict(r) for r in run["records"]]
    i = next(i for i, r in enumerate(unpriced) if r["view"] == "both")
    unpriced[i]["test_output_tokens"] = None
    with pytest.raises(
        MeasuredError, match=f"record {i + 1}: 'test_output_tokens' must be a count"
    ):
        MeasuredTable.from_records(unpriced)
    from sleeptime.experiments import MeasuredOptions, load_measured

    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({**r, "context_id": "elsewhere-" + r["context_id"]}) + "\n" for r in run["records"]))  # fmt: skip
    with pytest.raises(MeasuredError, match=r"context 'elsewhere-.*' is not in builtin"):
        load_measured(other, progress=False)
    # the graded score instead of the verdict: numeric answers record none, which is named
    with pytest.raises(
        MeasuredError, match=r"record 1 has no score; --outcome score needs graded answers"
    ):
        load_measured(run["path"], MeasuredOptions(outcome="score"), progress=False)
    with pytest.raises(MeasuredError, match=r"outcome must be one of \('correct', 'score'\)"):
        load_measured(run["path"], MeasuredOptions(outcome="f1"), progress=False)
    scored = tmp_path / "scored.jsonl"
    scored.write_text(
        "".join(json.dumps({**r, "score": 1.0 - r["correct"]}) + "\n" for r in run["records"])
    )
    flipped = load_measured(scored, MeasuredOptions(outcome="score"), progress=False)
    plain = load_measured(run["path"], progress=False)
    assert np.array_equal(
        flipped.table.correct, 1.0 - plain.table.correct
    )  # the score is what is maximized


@pytest.mark.slow
def test_export_notes_writes_each_sleep_time_output_with_the_queries_it_served(
    run: dict[str, Any],
) -> None:
    out = run["folder"] / "notes.jsonl"
    done = subprocess.run([sys.executable, "-m", "sleeptime", "export-notes", str(run["folder"]), "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    sleep = [json.loads(line) for line in Path(str(run["path"]).replace(".jsonl", ".sleep.jsonl")).read_text().splitlines()]  # fmt: skip
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["examples"] == len(examples) == len(sleep) == CONTEXTS
    by_id = {s["sleep_output_id"]: s for s in sleep}
    records = run["records"]
    for ex in examples:
        roles = [m["role"] for m in ex["messages"]]
        assert roles == ["system", "user", "assistant"]
        meta = ex["metadata"]
        assert ex["messages"][-1]["content"] == by_id[meta["sleep_output_id"]]["notes"][0]
        served = [r for r in records if r["sleep_output_id"] == meta["sleep_output_id"]]
        assert len(meta["queries"]) == len(served) == 2 * 2 * 2  # questions x budgets x views
        assert meta["accuracy_with_notes"] == pytest.approx(
            sum(r["correct"] for r in served) / len(served)
        )
        assert all(q["correct_without_notes"] is not None for q in meta["queries"])
    assert summary["queries_served"] == CONTEXTS * 8


@pytest.mark.slow
def test_the_policy_deployed_in_litellm_serves_what_the_table_estimates(
    run: dict[str, Any],
) -> None:
    """The policy learned on the run, exported, inside LiteLLM's Router in front of the real
    server (one slot, as the run had): the served answers are the table's, and their accuracy
    and USD lie in the offline estimate's intervals."""
    from sleeptime.experiments import MeasuredOptions, load_measured
    from sleeptime.policy import export_measured_policy, offline_estimate, train_measured_policies

    data = load_measured(
        run["path"], MeasuredOptions(sleep_price="live"), progress=False
    )  # the served run pays sleep-time work live
    cheap = next(p for p in train_measured_policies(data) if p.name == "learned-cheap")
    artifact = run["folder"] / "policy.json"
    export_measured_policy(data, cheap, artifact, config={"test": True})
    estimate = offline_estimate(data, artifact, np.arange(data.table.n_contexts))
    served = run["folder"] / "served.jsonl"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    args = [sys.executable, "-m", "sleeptime", "--threads", "1", "collect", "builtin", "--contexts", str(CONTEXTS), "--questions-per-context", "2",
            "--policy", str(artifact), "--router", "--concurrency", "1", "--server-mode", "exact", "--no-track", "--out", str(served), "--json",
            "--decision-log", str(run["folder"] / "decisions.jsonl")]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    records = [json.loads(line) for line in served.read_text().splitlines()]
    assert len(records) == CONTEXTS * 2 and all(r["design"] == "policy" and r["served_through"].startswith("litellm.Router") for r in records)  # fmt: skip
    table = {
        (r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"]): r
        for r in run["records"]
    }
    for r in records:
        level, per_query = estimate.decisions[r["context_id"]]
        assert r["sleep_level"] == level  # the decisions served are the ones the estimate scored
        assert (r["query_id"], r["budget"], r["view"]) in per_query
        asked = table[(r["context_id"], r["query_id"], r["sleep_level"], r["budget"], r["view"])]
        assert (r["response"], r["test_input_tokens"]) == (
            asked["response"],
            asked["test_input_tokens"],
        )
    accuracy = sum(r["correct"] for r in records) / len(records)
    usd = sum(r["usd"] for r in records) / len(records)
    assert accuracy == pytest.approx(estimate.accuracy)
    assert usd == pytest.approx(estimate.usd_per_query, rel=1e-9)
    lo, hi = estimate.accuracy_ci95
    u_lo, u_hi = estimate.usd_per_query_ci95
    assert lo <= accuracy <= hi and u_lo <= usd <= u_hi
    again = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False, env=env)
    assert (
        again.returncode == 0 and len(served.read_text().splitlines()) == CONTEXTS * 2
    )  # a rerun serves nothing again, and logs nothing again
    # the deployment's decision log, its trace records as outcomes: on its own policy (every
    # propensity 1, no exploration) IPS and DR are the served means exactly
    from sleeptime.policy import evaluate_logs, read_logs
    from sleeptime.runtime import RuntimePolicy

    log = read_logs(run["folder"] / "decisions.jsonl", served)
    assert log.n == CONTEXTS * 2 and np.all(log.propensity == 1.0)
    on_policy = evaluate_logs(log, RuntimePolicy.load(artifact), n_boot=50)
    assert on_policy.matched == 1.0
    for name in ("ips", "snips", "dr"):
        e = on_policy.estimates[name]
        assert e.reward == pytest.approx(accuracy) and e.cost == pytest.approx(usd, rel=1e-9)
