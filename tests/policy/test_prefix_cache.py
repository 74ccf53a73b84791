"""The warm-prefix model of the offline estimate, fitted on a stored exploration run across
models (measured: Qwen2.5-Coder 1.5B and 0.5B on the embedded server, results/across) and held
against what the deployment of its policy read from the server's prompt cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sleeptime.policy import MeasuredError, warm_prefix
from sleeptime.policy._measured import MeasuredTable

RUN = Path(__file__).resolve().parents[2] / "results" / "across"


def _records(name: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (RUN / name).read_text().splitlines() if line.strip()]


def _table() -> tuple[MeasuredTable, np.ndarray]:
    records = _records("qwen.jsonl")
    table = MeasuredTable.from_records(records, view="both")
    chars = {(r["context_id"], r["query_id"]): r["question_chars"] for r in records}
    return table, np.array([chars[table.context_ids[c], q] for c, q in zip(table.query_context, table.query_ids, strict=True)])  # fmt: skip


def test_the_warm_prefix_fitted_on_the_exploration_predicts_the_deployments_cache_hits() -> None:
    """Fitted on the exploration alone, the shared prefix it predicts for a context's later
    answers is what the deployment's server read from its cache, to a few tokens of ~500."""
    table, chars = _table()
    fit = warm_prefix(table, chars)
    assert 0.1 < fit.tokens_per_question_char < 0.4  # English, about 4-5 characters a token
    assert 0 < fit.tail < 60 and fit.hits >= 30
    warm = fit.cached(table, chars)
    assert np.all(warm >= table.cached_prompt_tokens) and np.all(warm <= table.test_input_tokens)
    served, seen, error = _records("deployed/served.jsonl"), set(), []
    for r in served:  # in the order served: a context's first answer on a model and view is cold
        key = (r["context_id"], r["model"], r["view"])
        if key in seen:
            shared = r["test_input_tokens"] - fit.tokens_per_question_char * r["question_chars"] - fit.tail  # fmt: skip
            error.append(r["cached_prompt_tokens"] - shared)
        seen.add(key)
    assert len(error) == 40
    assert np.mean(np.abs(error)) < 5 and np.max(np.abs(error)) < 15


def test_a_warm_prefix_needs_contexts_with_several_questions() -> None:
    table, chars = _table()
    one = table.subset(np.arange(table.n_contexts))
    cols = np.array([np.flatnonzero(one.query_context == c)[0] for c in range(one.n_contexts)])
    single = MeasuredTable(**{**one.__dict__, "query_ids": tuple(one.query_ids[j] for j in cols), "query_context": one.query_context[cols],
                              **{k: getattr(one, k)[..., cols] for k in ("correct", "test_input_tokens", "cached_prompt_tokens", "test_output_tokens", "latency_s")}})  # fmt: skip
    with pytest.raises(MeasuredError, match="two or more questions"):
        warm_prefix(single, chars[cols])
