"""Context features that need no language model, in pure Python (standard library only).

A production router may have to compute these per request without numpy or torch, so this
module imports nothing outside the standard library, and the exported runtime uses the same
definitions. Every feature is a float; the names and order are :data:`CHEAP_FEATURES`.
"""

from __future__ import annotations

import math
import re
from collections import Counter

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


def cheap_features(text: str) -> dict[str, float]:
    """The features of :data:`CHEAP_FEATURES` for ``text`` (a context).

    ``char_entropy`` and ``word_entropy`` are in bits (words lower-cased);
    ``numeric_density`` is quantities per word; ``n_conditionals`` counts words that usually
    attach a condition or a rate (*if*, *each*, *per*, ...).
    """
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
