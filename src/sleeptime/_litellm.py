"""LiteLLM without the network at import: sleeptime prices tokens with its own price book, so
LiteLLM reads its bundled cost map instead of fetching one (a user's own setting wins)."""

from __future__ import annotations

import os


def offline_cost_map() -> None:
    """Tell LiteLLM, before it is imported, to read its bundled cost map (``LITELLM_LOCAL_MODEL_COST_MAP``)
    rather than fetch it at import; a value the user set is left as it is."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
