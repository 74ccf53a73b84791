"""Shared fixtures. Data in ../shared/data is read in place (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        message = f"{path} is missing: the shared data folder must sit beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; fails under CI when missing, skips elsewhere."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def gsm_p2(shared_data: Path) -> Path:
    """Apple's GSM-Symbolic P2 file (NoDerivatives: read in place only)."""
    return _require(shared_data / "gsm-symbolic" / "GSM_p2.jsonl")


@pytest.fixture(scope="session")
def scorer() -> object:
    """The default-model scorer (offline), without a feature cache; loaded once per session."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sleeptime.estimators import CausalLMScorer

    return CausalLMScorer(cache=False)


@pytest.fixture(scope="session")
def paper_dir(shared_data: Path) -> Path:
    """``../shared/data/paper``: points digitized from the paper's figures."""
    return _require(shared_data / "paper")
