"""Context features that need no language model, in pure Python (standard library only).

A production router may have to compute these per request without numpy or torch, so this
module imports nothing outside the standard library; training (``sleeptime.estimators``) and
the exported runtime use these same definitions. Every feature is a float; the names and order
are :data:`CHEAP_FEATURES`. :data:`FEATURE_SPECS` says, for every feature a policy artifact may
name, where its value comes from and how it is computed.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from sleeptime.runtime._errors import DecisionError

#: Names of the cheap context features, in the order :func:`cheap_features` returns them.
CHEAP_FEATURES = (
    "n_chars",
    "n_words",
    "n_sentences",
    "n_quantities",
    "n_distinct_quantities",
    "numeric_density",
    "char_entropy",
    "word_entropy",
    "type_token_ratio",
    "mean_word_length",
    "mean_sentence_words",
    "n_currency",
    "n_percent",
    "n_conditionals",
)

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CONDITIONAL = re.compile(
    r"\b(?:if|unless|each|every|per|except|but|after|before)\b", re.IGNORECASE
)


def _entropy(counts: Counter[str]) -> float:
    """Shannon entropy in bits of the distribution given by ``counts``."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def _require_text(what: str, text: object) -> None:
    if not isinstance(text, str):
        raise DecisionError(f"the {what} must be text (a str), got {type(text).__name__}")


def cheap_features(text: str) -> dict[str, float]:
    """The features of :data:`CHEAP_FEATURES` for ``text`` (a context).

    ``char_entropy`` and ``word_entropy`` are in bits (words lower-cased);
    ``numeric_density`` is quantities per word; ``n_conditionals`` counts words that usually
    attach a condition or a rate (*if*, *each*, *per*, ...).
    """
    _require_text("context", text)
    words = _WORD.findall(text)
    numbers = _NUMBER.findall(text)
    lowered = [w.lower() for w in words]
    n_words = len(words)
    n_sentences = max(1, len(_SENTENCE_END.findall(text))) if text.strip() else 0
    values = {
        "n_chars": float(len(text)),
        "n_words": float(n_words),
        "n_sentences": float(n_sentences),
        "n_quantities": float(len(numbers)),
        "n_distinct_quantities": float(len(set(numbers))),
        "numeric_density": len(numbers) / n_words if n_words else 0.0,
        "char_entropy": _entropy(Counter(text)),
        "word_entropy": _entropy(Counter(lowered)),
        "type_token_ratio": len(set(lowered)) / n_words if n_words else 0.0,
        "mean_word_length": sum(len(w) for w in words) / n_words if n_words else 0.0,
        "mean_sentence_words": n_words / n_sentences if n_sentences else 0.0,
        "n_currency": float(text.count("$") + text.count("€") + text.count("£")),
        "n_percent": float(text.count("%")),
        "n_conditionals": float(len(_CONDITIONAL.findall(text))),
    }
    return {name: values[name] for name in CHEAP_FEATURES}


#: The version of these definitions; an artifact names the version it was trained with.
FEATURES_VERSION = "sleeptime-features-1"

_DEFINITIONS = {
    "n_chars": "len(context) in Unicode code points",
    "n_words": "words: runs of letters (with an inner apostrophe) or of digits with , or . inside",
    "n_sentences": "'.', '!' or '?' followed by whitespace or the end; at least 1 for non-blank text",
    "n_quantities": "numbers: digits with , or . inside",
    "n_distinct_quantities": "distinct numbers, compared as written",
    "numeric_density": "n_quantities / n_words (0 without words)",
    "char_entropy": "Shannon entropy in bits of the character distribution",
    "word_entropy": "Shannon entropy in bits of the lower-cased word distribution",
    "type_token_ratio": "distinct lower-cased words / n_words (0 without words)",
    "mean_word_length": "mean characters per word (0 without words)",
    "mean_sentence_words": "n_words / n_sentences (0 without sentences)",
    "n_currency": "count of '$', '\u20ac' and '\u00a3'",
    "n_percent": "count of '%'",
    "n_conditionals": "words if, unless, each, every, per, except, but, after, before (any case)",
}

#: ``name -> (source, definition)``. Sources: ``context_text`` (computed by the runtime from the
#: context, :func:`cheap_features`), ``question_text`` (computed from the question), ``caller``
#: (the caller passes the value: LM-derived features and the context's query history).
FEATURE_SPECS: dict[str, tuple[str, str]] = {
    **{name: ("context_text", _DEFINITIONS[name]) for name in CHEAP_FEATURES},
    "question_chars": ("question_text", "len(question) in Unicode code points"),
    "expected_queries": (
        "caller",
        "expected number of queries this context will get (e.g. the mean count of its kind of "
        "document in the query history)",
    ),
    "logprob_mean": ("caller", "mean log p(question token | context) under the scoring LM"),
    "n_tokens": ("caller", "question length in tokens of the scoring LM"),
}


def feature_spec(name: str) -> tuple[str, str]:
    """(source, definition) of a feature; names not listed are LM-derived, from the caller."""
    return FEATURE_SPECS.get(
        name, ("caller", "LM-derived context feature (sleeptime.estimators.CausalLMScorer)")
    )


def question_features(question: str) -> dict[str, float]:
    """The features computed from the question text."""
    _require_text("question", question)
    return {"question_chars": float(len(question))}
