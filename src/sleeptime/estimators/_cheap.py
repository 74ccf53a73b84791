"""Context features that need no language model: defined once, in the router runtime.

The exported runtime (:mod:`sleeptime.runtime`) must compute exactly what the policy was
trained on without numpy or torch, so the definitions live there; this module re-exports them.
"""

from __future__ import annotations

from sleeptime.runtime import CHEAP_FEATURES, cheap_features

__all__ = ["CHEAP_FEATURES", "cheap_features"]
