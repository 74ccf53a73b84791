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


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A scenario of 210 contexts, its learned policies (cheap and all features), and each one
    distilled and exported: ``{"scenario", "cheap": {...}, "all": {...}}`` where each holds
    ``learned``, ``distilled``, ``artifact`` and ``path``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sleeptime.experiments import (
        ALL_FEATURES,
        CHEAP_POLICY_FEATURES,
        ScenarioConfig,
        build_scenario,
        export_policy,
        train_learned_policy,
    )

    scenario = build_scenario(ScenarioConfig(n_contexts=210, seed=0), progress=False)
    out: dict[str, object] = {"scenario": scenario}
    folder = tmp_path_factory.mktemp("exported")
    for name, features in (("cheap", CHEAP_POLICY_FEATURES), ("all", ALL_FEATURES)):
        learned = train_learned_policy(scenario, features=features, max_iter=60)
        learned.lam = 1500.0
        path = folder / f"{name}.json"
        artifact, distilled = export_policy(
            scenario, learned, path, config={"features": name}, mlflow_run_id=None
        )
        out[name] = {"learned": learned, "distilled": distilled, "artifact": artifact, "path": path}
    return out
