"""A real run across models: two local servers (llama.cpp on loopback, no mock of the model or
of HTTP), the grid crossing the model that writes the notes with the model that answers.

The two servers serve the same small GGUF file under two names (CI has one model file); every
crossing is still a real request to the server of the model named, priced at that model's
entry of the book."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sleeptime.live import (
    Budget,
    Grid,
    LocalServer,
    Pricing,
    Prompts,
    Protocol,
    SleepLevel,
    collect,
    read_records,
    sleep_outputs_path,
    summarize_cells,
)
from sleeptime.simulators import load_price_book
from sleeptime.workloads import load_workload
from tests.live.test_collect import _require_server

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch of LiteLLM's cost map

BOOK = load_price_book("list-2025")
GRID = Grid((SleepLevel.parse("none"), SleepLevel.parse("k1")), (Budget.level(0),), ("c", "both"))
# the servers are named as the models of the price book they stand in for (and of the
# simulated policy served in the last test)
STRONG, SMALL = "gpt-4o", "gpt-4o-mini"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, LocalServer]]:
    _require_server()
    logs = tmp_path_factory.mktemp("servers")
    # one thread each: the two share the machine's cores, as ``collect`` starts them
    with (
        LocalServer(name=STRONG, threads=1, slots=2, log_file=logs / "a.log") as a,
        LocalServer(name=SMALL, threads=1, slots=2, log_file=logs / "b.log") as b,
    ):
        yield a, b
    assert a.pid is None and b.pid is None


CONTEXTS = 6


def _run(servers: tuple[LocalServer, LocalServer], out: Path) -> tuple[object, object]:
    a, b = servers
    workload = load_workload("builtin", limit=CONTEXTS)
    stats, client, _ = collect(
        workload, a.endpoint(), out, design=GRID, protocol=Protocol(Prompts.load("gsm")),
        pricing=Pricing(BOOK, "gpt-4o"), questions_per_context=1, concurrency=2,
        more=[(b.endpoint(), Pricing(BOOK, "gpt-4o-mini"))],
    )  # fmt: skip
    return stats, client


@pytest.fixture(scope="module")
def across(servers: tuple[LocalServer, LocalServer], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:  # fmt: skip
    """A run across the two models: 6 contexts x 1 question x 6 crossings (36 answers, 12
    rewrites)."""
    out = tmp_path_factory.mktemp("across") / "across.jsonl"
    stats, client = _run(servers, out)
    return out, stats, client


def test_the_grid_crosses_the_writer_with_the_reader_and_resumes(servers: tuple[LocalServer, LocalServer], across: tuple[Path, object, object]) -> None:  # fmt: skip
    out, stats, client = across
    records = read_records(out)
    # per query: none answered by each model, k1 notes of each model read by each model
    pairs = sorted((r["sleep_level"], str(r["sleep_model"]), r["model"]) for r in records if r["query_id"] == records[0]["query_id"] and r["context_id"] == records[0]["context_id"])  # fmt: skip
    assert pairs == sorted([("none", "None", STRONG), ("none", "None", SMALL)] + [("k1", w, m) for w in (STRONG, SMALL) for m in (STRONG, SMALL)])  # fmt: skip
    assert len(records) == stats.written == 6 * CONTEXTS  # type: ignore[attr-defined]
    sleeps = read_records(sleep_outputs_path(out))
    assert sorted((s["context_id"], s["model"]) for s in sleeps) == sorted((c, m) for c in {r["context_id"] for r in records} for m in (STRONG, SMALL))  # fmt: skip
    # both servers got requests: the answers and a rewrite per context and writer
    assert client.stats.sent == 6 * CONTEXTS + 2 * CONTEXTS and client.stats.failed == 0  # type: ignore[attr-defined]
    by_writer = {(s["context_id"], s["model"]): s for s in sleeps}
    for r in records:
        assert r["price_model"] == ("gpt-4o" if r["model"] == STRONG else "gpt-4o-mini")
        answer = Pricing(BOOK, r["price_model"]).usd(r["test_input_tokens"], r["test_output_tokens"], sleep=False,
                                                      cached_prompt_tokens=r["cached_prompt_tokens"] or 0)  # fmt: skip
        assert r["test_usd"] == pytest.approx(answer)
        if r["sleep_level"] == "k1":
            notes = by_writer[(r["context_id"], r["sleep_model"])]
            # the notes read are the writer's, priced at the writer's price
            assert r["sleep_output_id"] == notes["sleep_output_id"]
            assert r["sleep_price_model"] == notes["price_model"] == ("gpt-4o" if r["sleep_model"] == STRONG else "gpt-4o-mini")  # fmt: skip
            assert r["sleep_usd"] == pytest.approx(notes["usd"])
        else:
            assert r["sleep_model"] is None and r["sleep_usd"] == 0.0
    # the summary keeps the crossings apart
    cells = summarize_cells(records)
    assert len(cells) == 6 and {(c.sleep_model, c.model) for c in cells} == {(None, STRONG), (None, SMALL)} | {(w, m) for w in (STRONG, SMALL) for m in (STRONG, SMALL)}  # fmt: skip
    # a rerun sends nothing and writes nothing: the cache and the resume hold across the models
    again, client2 = _run(servers, out)
    assert again.written == 0 and again.skipped_done == 6 * CONTEXTS and client2.stats.sent == 0  # type: ignore[attr-defined]
    assert read_records(out) == records


def test_two_endpoints_of_one_model_are_refused(servers: tuple[LocalServer, LocalServer], tmp_path: Path) -> None:  # fmt: skip
    from sleeptime.live import LiveError

    a, _ = servers
    with pytest.raises(LiveError, match="two endpoints serve the model 'gpt-4o'"):
        collect(load_workload("builtin", limit=1), a.endpoint(), tmp_path / "x.jsonl", design=GRID, protocol=Protocol(Prompts.load("gsm")),
                pricing=Pricing(BOOK, "gpt-4o"), more=[(a.endpoint(), Pricing(BOOK, "gpt-4o-mini"))])  # fmt: skip
    assert not (tmp_path / "x.jsonl").exists()


def test_the_table_of_a_run_across_models_prices_each_action_at_its_model(across: tuple[Path, object, object]) -> None:  # fmt: skip
    from sleeptime.policy import MeasuredEnvironment, MeasuredTable

    records = read_records(across[0])
    table = MeasuredTable.from_records(records, view="both")
    small, strong = sorted((SMALL, STRONG))
    assert table.sleep_levels == ("none", f"k1@{small}", f"k1@{strong}")
    assert table.budgets == (f"b0@{small}", f"b0@{strong}")
    assert table.sleep_models == ("", small, strong) and table.test_models == (small, strong)
    assert table.price_models == {STRONG: "gpt-4o", SMALL: "gpt-4o-mini"}
    env = MeasuredEnvironment.build(table, BOOK, "gpt-4o-mini", sleep_price="live")
    # priced at the book's list prices (live sleep-time work): each cell's USD is the run's own
    test, sleep = table.usd(env.prices, env.model, env.sleep_discount)
    column = {
        (table.context_ids[table.query_context[j]], q): j for j, q in enumerate(table.query_ids)
    }
    for r in records:
        if r["view"] == "c_prime":
            continue
        s = table.sleep_levels.index(
            "none" if r["sleep_level"] == "none" else f"k1@{r['sleep_model']}"
        )
        b = table.budgets.index(f"b0@{r['model']}")
        j = column[(r["context_id"], r["query_id"])]
        assert test[s, b, j] == pytest.approx(r["test_usd"])
        assert table.correct[s, b, j] == r["correct"]
        if s:
            assert sleep[s, table.query_context[j]] == pytest.approx(r["sleep_usd"])
    assert env.single_model(0, 1) and env.single_model(2, 1) and not env.single_model(2, 0)
    assert env.fixed_name(2, 0) == f"fixed(k1@{strong},b0@{small})"
    # the environment's book names the served models at the entries they were priced as
    assert env.prices.price(STRONG) == BOOK.price("gpt-4o") and env.prices.price(
        SMALL
    ) == BOOK.price("gpt-4o-mini")


def test_a_policy_across_models_served_through_the_router_answers_from_the_model_it_chose(
    servers: tuple[LocalServer, LocalServer], exported_across_models: dict, tmp_path: Path
) -> None:
    """litellm.Router with one deployment per local server, the SleeptimeHook deciding: every
    answer came from the deployment of the model the artifact chose (read from the answer's
    ``api_base``), and the sleep-time notes from the model it chose to write them."""
    from tests._required import LITELLM, require_module

    require_module("litellm", LITELLM)
    from sleeptime.live import serve_through_litellm
    from sleeptime.runtime import RuntimePolicy

    a, b = servers
    records, notes = [], {}
    for lam in (
        30.0,
        3.0,
    ):  # at 30 accuracy per USD gpt-4o writes some notes, at 3 it answers some queries
        artifact = exported_across_models[lam]
        assert RuntimePolicy.load(artifact).models == (STRONG, SMALL)
        out = tmp_path / f"served-{lam:g}.jsonl"
        run = serve_through_litellm(load_workload("builtin", limit=4), artifact, a.endpoint(), out, protocol=Protocol(Prompts.load("gsm"), sleep_max_tokens=32),
                                    pricing=Pricing(BOOK, STRONG), questions_per_context=2, expected_queries=4.0,
                                    more=[(b.endpoint(), Pricing(BOOK, SMALL))])  # fmt: skip
        served = read_records(out)
        assert run.answers == len(served) == 8
        records += served
        notes |= {(lam, n["context_id"]): n for n in read_records(sleep_outputs_path(out))}
        for r in served:
            r["lam"] = lam
    assert all(r["model"] == r["decided_model"] for r in records)
    # each record names the budget it was served at (a level's name without its model) and
    # that budget's verbosity, as a run across models records them
    assert all(r["budget"][1:].isdigit() and r["verbosity"] == int(r["budget"][1:]) for r in records), [(r["budget"], r["verbosity"]) for r in records]  # fmt: skip
    # both models answered (two deployments in the group: a router that ignored the decision
    # would also send about half of them to the other one)
    assert {r["model"] for r in records} == {STRONG, SMALL}, [r["model"] for r in records]
    # each answer priced at its own model's entry
    for r in records:
        assert r["test_usd"] == pytest.approx(Pricing(BOOK, r["model"]).usd(r["test_input_tokens"], r["test_output_tokens"], sleep=False,
                                                                             cached_prompt_tokens=r["cached_prompt_tokens"] or 0))  # fmt: skip
    # the notes each context read were written by the model the plan named, at its entry
    assert notes and all(
        n["model"] in (STRONG, SMALL) and n["price_model"] == n["model"] for n in notes.values()
    )
    for r in records:
        if r["sleep_level"] != "none":
            assert r["sleep_model"] == notes[(r["lam"], r["context_id"])]["model"]


def test_compare_traces_across_models_holds_the_best_fixed_strategy_of_one_model_as_the_operating_point(across: tuple[Path, object, object], tmp_path: Path) -> None:  # fmt: skip
    """``compare --traces`` on a run across models: the actions name their models, the
    operating point is a strategy of one model, the rows whose notes one model writes and the
    other reads are there apart, and the exported policy names each action's model."""
    from sleeptime.experiments import MeasuredOptions, compare_traces
    from sleeptime.runtime import RuntimePolicy

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    run = compare_traces(
        across[0], MeasuredOptions(sleep_price="live"), track=False, progress=False
    )
    out = run.to_json()
    data = run.data
    assert data.table.test_models and set(data.table.price_models) == {STRONG, SMALL}
    names = {p["name"] for p in out["policies"]}
    small, strong = sorted((SMALL, STRONG))
    assert f"fixed(k1@{strong},b0@{small})" in names and f"fixed(k1@{small},b0@{small})" in names
    point = out["operating_points"][0]["fixed"]
    level, budget = point.removeprefix("fixed(").removesuffix(")").split(",")
    assert level == "none" or level.split("@")[1] == budget.split("@")[1], point
    from sleeptime.experiments._measured import measured_display

    assert (
        "gpt-4o as gpt-4o" in measured_display(data).prices_caption
        and "gpt-4o as gpt-4o" in out["prices"]
    )
    from sleeptime.policy import export_measured_policy

    learned = next(p for p in run.policies if p.name == "learned-cheap")
    path = tmp_path / "policy.json"
    export_measured_policy(data, learned, path, config={"test": True})
    runtime = RuntimePolicy.load(path)
    assert set(runtime.models) <= {STRONG, SMALL} and runtime.models
