"""Decision logs: written by the LiteLLM hook while it explores, read back, joined to outcomes,
a candidate evaluated on them against a truth known exactly; bad logs named, never estimated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sleeptime.policy import (
    OffPolicyError,
    candidate_actions,
    evaluate_logs,
    export_obp,
    export_vw,
    joint_actions,
    read_logs,
)
from sleeptime.runtime import DecisionLog, Exploration, RuntimePolicy, cheap_features
from sleeptime.workloads import generate_workload


def _world(policy: RuntimePolicy, s: np.ndarray, b: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The synthetic truth: a query's chance of a right answer and its USD under an action (more
    budget and notes help; USD from the artifact's own price table)."""
    p = 0.2 + 0.5 * b / max(1, len(policy.budgets) - 1) + 0.15 * (s > 0)
    usd = np.asarray(policy.artifact["decision"]["test_usd"])  # (levels, budgets, 2)
    return p, usd[s, b, 0] + usd[s, b, 1] * tokens


def _serve(artifact: Path, log_path: Path, outcomes: Path, *, epsilon: float, n_contexts: int, seed: int) -> RuntimePolicy:  # fmt: skip
    """Contexts ingested and questions decided through the hook, exploring, every decision
    logged; outcomes drawn from the synthetic truth and written to ``outcomes``."""
    from sleeptime.integrations.litellm_hook import SleeptimeHook

    policy = RuntimePolicy.load(artifact, exploration=Exploration(epsilon, seed=seed))
    rng = np.random.default_rng(seed)
    rows = []
    with DecisionLog(log_path) as log:
        hook = SleeptimeHook(policy, log=log)
        for c in generate_workload(n_contexts, seed=seed).contexts:
            plan = hook.ingest(c.context_id, c.context, expected_queries=float(len(c.queries)))
            if plan["run"]:
                hook.set_c_prime(c.context_id, "notes")
            for q in c.queries:
                d = hook.decide(c.context_id, q.question, request_id=f"{c.context_id}/{q.query_id}", query_id=q.query_id)  # fmt: skip
                s = policy.sleep_levels.index(plan["sleep_level"])
                b = policy.budgets.index(d["budget"])
                tokens = (len(c.context) + 1 + len(q.question)) / policy.chars_per_token
                p, usd = _world(policy, np.array([s]), np.array([b]), np.array([tokens]))
                rows.append({"request_id": d["request_id"], "reward": float(rng.uniform() < p[0]), "usd": float(usd[0])})  # fmt: skip
    outcomes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return policy


@pytest.fixture(scope="module")
def logged(exported: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("logs")
    artifact = exported["cheap"]["path"]
    policy = _serve(artifact, folder / "log.jsonl", folder / "outcomes.jsonl", epsilon=0.3, n_contexts=500, seed=3)  # fmt: skip
    other = json.loads(Path(artifact).read_text())
    other["decision"]["lam"] = (
        float(other["decision"]["lam"]) / 3
    )  # the same model, a dearer operating point
    cand = folder / "candidate.json"
    cand.write_text(json.dumps(other))
    return {"folder": folder, "policy": policy, "candidate": RuntimePolicy.load(cand), "log": folder / "log.jsonl", "outcomes": folder / "outcomes.jsonl"}  # fmt: skip


def test_batch_decisions_equal_the_runtime_row_by_row(logged: dict[str, Any]) -> None:
    """The vectorized decisions a log's evaluation uses are the runtime's own, row by row."""
    policy: RuntimePolicy = logged["candidate"]
    rng = np.random.default_rng(0)
    texts = [c.context for c in generate_workload(60, seed=9).contexts]
    feats = [cheap_features(t) for t in texts]
    eq = rng.choice([1.0, 2.0, 4.0, 8.0], size=len(texts))
    tokens = np.array([len(t) / policy.chars_per_token for t in texts])
    xs = np.array([[{**f, "expected_queries": e}[n] for n in policy.context_features_used] for f, e in zip(feats, eq, strict=True)])  # fmt: skip
    batch = policy.sleep_indexes(xs, eq, tokens)
    rows = [policy.sleep_index(list(x), e, t, t + policy.question_tokens) for x, e, t in zip(xs, eq, tokens, strict=True)]  # fmt: skip
    assert batch.tolist() == rows
    qf = [{**f, "expected_queries": e, "question_chars": float(rng.integers(20, 400))} for f, e in zip(feats, eq, strict=True)]  # fmt: skip
    xq = np.array([[f[n] for n in policy.query_features] for f in qf])
    s = rng.integers(0, len(policy.sleep_levels), size=len(texts))
    ready = rng.uniform(size=len(texts)) < 0.5
    batch = policy.test_indexes(xq, s, ready, tokens)
    rows = [policy.test_index(list(x), int(si), bool(r), t) for x, si, r, t in zip(xq, s, ready, tokens, strict=True)]  # fmt: skip
    assert batch.tolist() == rows


def test_a_logged_candidate_is_estimated_within_its_interval_of_the_known_truth(logged: dict[str, Any]) -> None:  # fmt: skip
    log = read_logs(logged["log"], logged["outcomes"])
    raw = [json.loads(line) for line in logged["log"].read_text().splitlines()]
    assert log.n == sum(r["kind"] == "test" for r in raw) and log.dropped == 0
    assert all(r["schema"] == "sleeptime.decision/1" and 0 < r["propensity"] <= 1 for r in raw)
    cand: RuntimePolicy = logged["candidate"]
    _, _, s_c, b_c = candidate_actions(log, cand)
    p, usd = _world(cand, s_c, b_c, np.asarray(log.table.column("tokens")))
    truth = (float(p.mean()), float(usd.mean()))
    result = evaluate_logs(log, cand, n_boot=300, seed=1)
    assert 0.0 < result.matched < 1.0  # the candidate differs from the behaviour on part of the log
    for name in ("ips", "snips", "dr"):
        e = result.estimates[name]
        assert e.reward_ci95[0] <= truth[0] <= e.reward_ci95[1], (name, e, truth)
        assert e.cost_ci95[0] <= truth[1] <= e.cost_ci95[1], (name, e, truth)
    dr = result.estimates["dr"]
    assert abs(dr.cost - truth[1]) / truth[1] < 0.05 and abs(dr.reward - truth[0]) < 0.05
    assert 0 < dr.effective_sample_size < log.n


def test_the_log_exports_to_open_bandit_pipeline_and_vowpal_wabbit(logged: dict[str, Any]) -> None:  # fmt: skip
    log = read_logs(logged["log"], logged["outcomes"])
    cand = logged["candidate"]
    data = export_obp(log, cand, logged["folder"] / "obp.npz")
    loaded = np.load(logged["folder"] / "obp.npz")
    assert int(loaded["n_rounds"]) == log.n and loaded["action_dist"].shape == (log.n, int(loaded["n_actions"]), 1)  # fmt: skip
    # IPS by hand from the exported arrays equals the estimator's
    w = loaded["action_dist"][np.arange(log.n), loaded["action"], 0] / loaded["pscore"]
    assert float(np.mean(w * loaded["reward"])) == pytest.approx(evaluate_logs(log, cand, n_boot=0, estimators=("ips",)).estimates["ips"].reward)  # fmt: skip
    assert np.array_equal(data["action"], joint_actions(log, cand)[0])
    lines = export_vw(log, cand, logged["folder"] / "log.vw")
    text = (logged["folder"] / "log.vw").read_text().splitlines()
    assert lines == len(text) == log.n
    head, feats = text[0].split(" | ")
    action, cost, prob = head.split(":")
    assert int(action) == int(data["action"][0]) + 1 and float(prob) == pytest.approx(log.propensity[0], rel=1e-5)  # fmt: skip
    assert float(cost) == pytest.approx(cand.lam * log.cost[0] - log.reward[0], rel=1e-4, abs=1e-6)
    assert "question_chars:" in feats


def _rewrite(path: Path, out: Path, change: Any) -> Path:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows = [r for r in (change(i, r) for i, r in enumerate(rows)) if r is not None]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def test_bad_logs_are_named_never_estimated(logged: dict[str, Any]) -> None:
    folder, log, outcomes, cand = logged["folder"], logged["log"], logged["outcomes"], logged["candidate"]  # fmt: skip
    tests = [r for r in map(json.loads, log.read_text().splitlines()) if r["kind"] == "test"]
    first = tests[0]["request_id"]

    def at_first(field: str, value: Any) -> Any:
        return lambda i, r: {**r, field: value} if r["request_id"] == first else r

    bad = _rewrite(log, folder / "no-p.jsonl", at_first("propensity", None))
    with pytest.raises(OffPolicyError, match=rf"1 decisions have no propensity \({first}\)"):
        read_logs(bad, outcomes)
    bad = _rewrite(log, folder / "zero-p.jsonl", at_first("propensity", 0.0))
    with pytest.raises(OffPolicyError, match=rf"propensity outside \(0, 1\] \({first}\)"):
        read_logs(bad, outcomes)
    bad = _rewrite(log, folder / "alien.jsonl", at_first("action", "b9@another-model"))
    with pytest.raises(OffPolicyError, match=rf"cannot express \('b9@another-model' at request {first}\)"):  # fmt: skip
        evaluate_logs(read_logs(bad, outcomes), cand, n_boot=0)
    twice = _rewrite(outcomes, folder / "twice.jsonl", lambda i, r: r)
    twice.write_text(twice.read_text() + outcomes.read_text().splitlines()[0] + "\n")
    with pytest.raises(OffPolicyError, match=r"twice\.jsonl: 1 outcomes arrive more than once"):
        read_logs(log, twice)
    never = _rewrite(outcomes, folder / "never.jsonl", lambda i, r: None if r["request_id"] == first else r)  # fmt: skip
    with pytest.raises(OffPolicyError, match=rf"never\.jsonl: 1 of \d+ decisions have no outcome \({first}\)"):  # fmt: skip
        read_logs(log, never)
    assert read_logs(log, never, missing="drop").dropped == 1


def test_a_parquet_log_reads_as_its_jsonl_twin(logged: dict[str, Any]) -> None:
    folder = logged["folder"]
    rows = [json.loads(line) for line in logged["log"].read_text().splitlines()]
    with DecisionLog(folder / "log.parquet", batch_rows=97) as log:
        for r in rows:
            log.write(r)
    assert not list(folder.glob(".log.parquet*"))  # written atomically, nothing left behind
    a = evaluate_logs(read_logs(logged["log"], logged["outcomes"]), logged["candidate"], n_boot=50)
    b = evaluate_logs(read_logs(folder / "log.parquet", logged["outcomes"]), logged["candidate"], n_boot=50)  # fmt: skip
    for name in a.estimates:
        assert a.estimates[name].reward == pytest.approx(b.estimates[name].reward, rel=1e-12)
        assert a.estimates[name].cost == pytest.approx(b.estimates[name].cost, rel=1e-12)


def test_a_log_split_by_context_gives_the_estimates_of_the_whole(logged: dict[str, Any]) -> None:
    """A Parquet log split by DuckDB into parts of whole contexts and read one part at a time:
    IPS and SNIPS sum to exactly the whole log's estimates, DR (its outcome models fitted on the
    first part alone) with an interval that holds the known truth, the same each time; every
    part holds whole contexts; a request id logged twice is found across parts."""
    from sleeptime.policy import evaluate_large_logs, split_logs

    folder = logged["folder"]
    rows = [json.loads(line) for line in logged["log"].read_text().splitlines()]
    with DecisionLog(folder / "split.parquet") as log:
        for r in rows:
            log.write(r)
    parts = split_logs(
        folder / "split.parquet", logged["outcomes"], folder / "parts", part_rows=400
    )
    assert len(parts) >= 3
    seen: set[str] = set()
    for dec, _ in parts:
        ids = set(read_logs(dec, logged["outcomes"], missing="drop").table.column("context_id").to_pylist())  # fmt: skip
        assert not ids & seen  # a context in one part only
        seen |= ids
    whole = evaluate_logs(read_logs(logged["log"], logged["outcomes"]), logged["candidate"], n_boot=100)  # fmt: skip
    split = evaluate_large_logs(folder / "split.parquet", logged["outcomes"], logged["candidate"], part_rows=400, n_boot=100)  # fmt: skip
    assert (split.queries, split.contexts, split.matched) == (whole.queries, whole.contexts, pytest.approx(whole.matched))  # fmt: skip
    for name in ("ips", "snips"):
        assert split.estimates[name].reward == pytest.approx(whole.estimates[name].reward, rel=1e-9)
        assert split.estimates[name].cost == pytest.approx(whole.estimates[name].cost, rel=1e-9)
    # DR's outcome models are fitted on another sample (the first part, a ninth of the log), so
    # its estimate moves with them: like the whole log's, its interval holds the known truth
    joined = read_logs(logged["log"], logged["outcomes"])
    _, _, s_c, b_c = candidate_actions(joined, logged["candidate"])
    p, usd = _world(logged["candidate"], s_c, b_c, np.asarray(joined.table.column("tokens")))
    dr = split.estimates["dr"]
    assert dr.reward_ci95[0] <= float(p.mean()) <= dr.reward_ci95[1], (dr, float(p.mean()))
    assert dr.cost_ci95[0] <= float(usd.mean()) <= dr.cost_ci95[1], (dr, float(usd.mean()))
    again = evaluate_large_logs(folder / "split.parquet", logged["outcomes"], logged["candidate"], part_rows=400, n_boot=100)  # fmt: skip
    assert again.estimates["dr"] == split.estimates["dr"]
    with DecisionLog(folder / "twice.parquet") as log:
        for r in [*rows, rows[-1]]:
            log.write(r)
    with pytest.raises(
        OffPolicyError, match=r"twice.parquet: request ids are logged more than once"
    ):
        split_logs(folder / "twice.parquet", logged["outcomes"], folder / "parts2", part_rows=400)


def test_evaluate_logs_from_the_command_line(logged: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from sleeptime._cli.main import main

    folder = logged["folder"]
    base = ["evaluate-logs", str(logged["log"]), "--outcomes", str(logged["outcomes"]), "--policy", str(folder / "candidate.json"), "--n-boot", "100", "--no-track"]  # fmt: skip
    assert main([*base, "--json", "--vw", str(folder / "cli.vw")]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=lambda t: pytest.fail(f"{t} in JSON"))
    direct = evaluate_logs(read_logs(logged["log"], logged["outcomes"]), logged["candidate"], n_boot=100)  # fmt: skip
    assert set(out["estimates"]) == {"dm", "ips", "snips", "dr"}
    assert out["estimates"]["dr"]["cost"] == pytest.approx(direct.estimates["dr"].cost)
    assert (folder / "cli.vw").read_text().count("\n") == out["queries"]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "snips" in text and "answered queries" in text
    assert main([*base[:3], str(folder / "nothing.jsonl"), *base[4:]]) == 1
    assert "nothing.jsonl: no such file" in capsys.readouterr().err


def _true_value(log: Any, policy: RuntimePolicy, lam: float) -> float:
    """A policy's value (accuracy - lam * USD per query) on the log's queries by the synthetic
    truth (its own actions, as :func:`candidate_actions` reads them)."""
    _, _, s, b = candidate_actions(log, policy)
    p, usd = _world(policy, s, b, np.asarray(log.table.column("tokens")))
    return float(p.mean() - lam * usd.mean())


def test_update_admits_a_better_policy_and_refuses_a_copy(logged: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """At a dearer operating point (accuracy worth more), the policies built from the log beat
    the current one by the synthetic truth, and one is admitted with its parent, logs and
    estimate; at the current point, with the trees kept and the log's costs the artifact's own,
    no candidate's lower bound beats the current policy's estimate: nothing is written."""
    from sleeptime._cli.main import main
    from sleeptime.policy import update_from_logs
    from sleeptime.runtime import validate_artifact

    policy: RuntimePolicy = logged["policy"]
    current = RuntimePolicy.load(policy.source)
    log = read_logs(logged["log"], logged["outcomes"])
    lam = current.lam / 30
    artifact, decision = update_from_logs(
        log, current, lam=lam, n_boot=200, seed=0, logs=("log.jsonl",)
    )
    assert decision.admitted in ("refit", "repriced") and artifact is not None
    validate_artifact(artifact)
    update = artifact["config"]["update"]
    assert (
        update["parent"] == current.policy_id
        and update["logs"] == ["log.jsonl"]
        and update["lam"] == lam
    )
    assert update["estimate"]["value_ci95"][0] > decision.current.value
    admitted = RuntimePolicy(artifact)
    assert _true_value(log, admitted, lam) > _true_value(log, current, lam) + 0.01
    assert decision.fit_contexts + decision.estimate_contexts == 500 and decision.queries == log.n

    copy = logged["folder"] / "copy.json"
    copy.write_text(json.dumps(current.artifact))
    out = logged["folder"] / "next.json"
    args = ["update", "--logs", str(logged["log"]), "--outcomes", str(logged["outcomes"]), "--policy", policy.source,
            "--candidate", str(copy), "--no-refit", "--out", str(out), "--no-track", "--n-boot", "200"]  # fmt: skip
    assert main([*args, "--json"]) == 0
    r = json.loads(capsys.readouterr().out, parse_constant=lambda t: pytest.fail(f"{t} in JSON"))
    assert r["admitted"] == "" and r["out"] is None and not out.exists()
    assert set(r["candidates"]) == {"repriced", str(copy)}
    assert r["candidates"][str(copy)]["value"] == pytest.approx(r["current"]["value"])
    assert main(args) == 0
    assert "nothing written, the current policy stays" in capsys.readouterr().out
