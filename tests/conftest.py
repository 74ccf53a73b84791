"""Shared fixtures. Data in ../shared/data is read in place (never copied into the repo).

The tests never read the user's caches: ``$SLEEPTIME_CACHE_DIR`` (features, converted models,
responses of the specs' real runs) is a fresh temporary folder for the whole session, set
before any test runs so that the commands the tests start as processes inherit it, and removed
at the end. (The local server's binary is not under it: ``$SLEEPTIME_SERVER_DIR`` stays shared.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sleeptime._threads import limit_threads

# one thread per free core, set before numpy, scikit-learn or torch load (they thrash on a busy
# 2-core machine otherwise); the commands the tests start as processes do the same by default
limit_threads()

_CACHE_DIR = pytest.StashKey[tuple[Path, str | None]]()


def pytest_configure(config: pytest.Config) -> None:
    """A fresh, empty ``$SLEEPTIME_CACHE_DIR`` for the session (a warm cache would let a test of
    a real run pass without sending a request)."""
    if hasattr(config, "workerinput"):  # a pytest-xdist worker inherits its controller's
        return
    folder = Path(tempfile.mkdtemp(prefix="sleeptime-test-cache-"))
    config.stash[_CACHE_DIR] = (folder, os.environ.get("SLEEPTIME_CACHE_DIR"))
    os.environ["SLEEPTIME_CACHE_DIR"] = str(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_CACHE_DIR, None)
    if saved is None:
        return
    folder, before = saved
    if before is None:
        os.environ.pop("SLEEPTIME_CACHE_DIR", None)
    else:
        os.environ["SLEEPTIME_CACHE_DIR"] = before
    shutil.rmtree(folder, ignore_errors=True)


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
        ScenarioConfig,
        build_scenario,
        export_policy,
        train_learned_policy,
    )
    from sleeptime.policy import ALL_FEATURES, CHEAP_POLICY_FEATURES

    scenario = build_scenario(ScenarioConfig(n_contexts=210, seed=0), progress=False)
    out: dict[str, object] = {"scenario": scenario}
    folder = tmp_path_factory.mktemp("exported")
    for name, features in (("cheap", CHEAP_POLICY_FEATURES), ("all", ALL_FEATURES)):
        learned = train_learned_policy(scenario, features=features, max_iter=60)
        learned.set_params(lam=1500.0)
        path = folder / f"{name}.json"
        artifact, distilled = export_policy(
            scenario, learned, path, config={"features": name}, mlflow_run_id=None
        )
        out[name] = {"learned": learned, "distilled": distilled, "artifact": artifact, "path": path}
    return out


@pytest.fixture(scope="session")
def exported_across_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A scenario of 120 contexts whose actions span gpt-4o and gpt-4o-mini, its learned policy
    (cheap features) exported at two prices of cost: ``{"scenario", "learned", 30.0: path,
    3.0: path}`` (at 30 accuracy per USD gpt-4o writes some notes, at 3 it answers some
    queries too)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sleeptime.experiments import (
        ScenarioConfig,
        build_scenario,
        export_policy,
        train_learned_policy,
    )
    from sleeptime.policy import CHEAP_POLICY_FEATURES

    config = ScenarioConfig(n_contexts=120, models=("gpt-4o", "gpt-4o-mini"))
    scenario = build_scenario(config, progress=False)
    learned = train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, name="learned-cheap", max_iter=60)  # fmt: skip
    folder = tmp_path_factory.mktemp("exported-models")
    out: dict[object, object] = {"scenario": scenario, "learned": learned}
    for lam in (30.0, 3.0):
        learned.set_params(lam=lam)
        path = folder / f"policy-{lam:g}.json"
        export_policy(scenario, learned, path, config={"lam": lam}, mlflow_run_id=None)
        out[lam] = path
    return out  # type: ignore[return-value]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A PostgreSQL server on loopback with databases ``optuna`` and ``mlflow``; yields a URL
    template ``postgresql://...:PORT/{db}``. ``.ci/run`` installs Debian's packages, starts one
    and passes ``SLEEPTIME_TEST_POSTGRES_URL``; elsewhere a private server is started here.
    Under CI a missing server fails the test; elsewhere it skips."""
    import shutil
    import subprocess

    if os.environ.get("SLEEPTIME_TEST_POSTGRES_URL"):  # started by .ci/run
        yield os.environ["SLEEPTIME_TEST_POSTGRES_URL"]
        return
    bins = sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        message = "PostgreSQL server binaries are missing (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    import tempfile

    bindir = Path(bins[-1]).parent
    # not under pytest's temporary folder: that one is private to its user, and the server
    # runs as the postgres user when the tests run as root
    root = Path(tempfile.mkdtemp(prefix="sleeptime-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    from tests._servers import free_port

    port = free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "sleeptime", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                    "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        for db in ("optuna", "mlflow"):
            subprocess.run([*as_user, str(bindir.parent / "bin" / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "sleeptime", db],
                           check=True, capture_output=True)  # fmt: skip
        yield f"postgresql://sleeptime@127.0.0.1:{port}/{{db}}"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: object) -> None:
    """How many hostile-input cases ran, per target (see tests/test_hostile_input.py)."""
    import sys

    module = sys.modules.get("tests.test_hostile_input")
    cases = getattr(module, "CASES", None)
    if cases:
        write = terminalreporter.write_line  # type: ignore[attr-defined]
        write(f"hostile-input cases run: {sum(cases.values())} ({', '.join(f'{k} {v}' for k, v in sorted(cases.items()))})")  # fmt: skip
