"""The paper's binning of predictability into quintiles."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def predictability_quintiles(logprobs: ArrayLike, *, n_bins: int = 5) -> NDArray[np.int64]:
    """Bin ``logprobs`` (log p(q | c), higher = more predictable) into equal-count bins.

    Returns bin numbers ``1..n_bins``, shape like the input: 1 holds the least predictable
    fifth, ``n_bins`` the most predictable, as in the paper's Fig. 10. Bins are by rank (ties
    broken by position), so every bin has ``len // n_bins`` or one more items. NaN is refused.
    """
    values = np.asarray(logprobs, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"logprobs must be one-dimensional, got shape {values.shape}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if not np.all(np.isfinite(values)):
        raise ValueError("logprobs contain NaN or infinity; drop or fix those rows first")
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size)
    return (ranks * n_bins // max(values.size, 1) + 1).astype(np.int64)
