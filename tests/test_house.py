"""The structure of the package: parts import each other's public names only, the command line
calls experiments only, ``__all__`` lists every public name, the runtime stands alone,
estimators keep their contracts, and files are written readable."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "sleeptime"
PARTS = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative ones resolved."""
    package = ".".join(["sleeptime", *path.relative_to(SRC).parent.parts])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            out.append((node.lineno, module))
            # "from sleeptime.part import _module" is a private import too
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names if a.name.startswith("_") and a.name != "__version__"]  # fmt: skip
    return out


def test_no_module_imports_another_parts_private_module() -> None:
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        own = rel[0] if len(rel) > 1 else None
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] != "sleeptime" or len(parts) < 3:
                continue
            part, sub = parts[1], parts[2]
            if part in PARTS and sub.startswith("_") and part != own:
                bad.append(f"{path.relative_to(SRC)}:{line}: {module}")
    assert not bad, "private modules of another part imported:\n" + "\n".join(bad)


def test_the_command_line_calls_experiments_only() -> None:
    """The command line imports ``experiments`` (and ``workloads`` for the workload commands)
    and no other part, lazy imports inside functions included (``_imports`` walks them all)."""
    allowed = {"experiments", "workloads", "_cli"}
    bad = [f"{path.name}:{line}: {module}" for path in (SRC / "_cli").glob("*.py") for line, module in _imports(path)
           if module.split(".")[0] == "sleeptime" and len(module.split(".")) > 1
           and module.split(".")[1] in PARTS and module.split(".")[1] not in allowed]  # fmt: skip
    assert not bad, bad
    long = {p.name: n for p in (SRC / "_cli").glob("*.py") if (n := len(p.read_text().splitlines())) > 300}  # fmt: skip
    assert not long, f"command-line modules over 300 lines: {long}"


@pytest.mark.parametrize("part", PARTS)
def test_every_public_name_is_in_all(part: str) -> None:
    module = importlib.import_module(f"sleeptime.{part}")
    exported = set(getattr(module, "__all__", ()))
    assert all(hasattr(module, n) for n in exported), sorted(n for n in exported if not hasattr(module, n))  # fmt: skip
    tree = ast.parse((SRC / part / "__init__.py").read_text())
    bound = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sleeptime") for a in node.names}  # fmt: skip
    bound |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}  # fmt: skip
    public = {n for n in bound if not n.startswith("_")}
    assert public <= exported, (
        f"public names missing from sleeptime.{part}.__all__: {sorted(public - exported)}"
    )


def test_no_import_cycle_between_the_generator_and_its_templates() -> None:
    generator = [m for _, m in _imports(SRC / "workloads" / "_generator.py")]
    templates = [m for _, m in _imports(SRC / "workloads" / "_templates.py")]
    assert "sleeptime.workloads._templates" in generator
    assert not any(m.startswith("sleeptime.workloads._generator") for m in templates)


def test_the_runtime_works_copied_out_alone(exported: dict[str, Any], tmp_path: Path) -> None:
    """``sleeptime/runtime/`` in a folder without the rest of the package, and no site-packages."""
    root = tmp_path / "vendored"
    shutil.copytree(SRC / "runtime", root / "sleeptime" / "runtime")
    artifact = exported["cheap"]["path"]
    code = (
        "import sys; from sleeptime.runtime import RuntimePolicy, SleeptimeError, ArtifactError\n"
        f"p = RuntimePolicy.load({str(artifact)!r})\n"
        "f = {**p.context_features('A shop sells pens at $2 each and pads at $3.'), 'expected_queries': 4.0}\n"
        "plan = p.decide_sleep(f, context_tokens=20.0)\n"
        "d = p.decide_test({**f, 'question_chars': 20.0}, sleep_level=plan['sleep_level'], c_prime_ready=True, prompt_tokens=30.0)\n"
        "assert issubclass(ArtifactError, SleeptimeError)\n"
        "print(plan['sleep_level'], d['budget'], sorted(m for m in sys.modules if m.startswith('sleeptime')))\n"
    )  # fmt: skip
    env = {"PYTHONPATH": str(root), "PATH": os.environ.get("PATH", "")}
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    from sleeptime.runtime import RuntimePolicy

    here = RuntimePolicy.load(artifact)
    f = {**here.context_features("A shop sells pens at $2 each and pads at $3."), "expected_queries": 4.0}  # fmt: skip
    plan = here.decide_sleep(f, context_tokens=20.0)
    assert done.stdout.split()[:2] == [plan["sleep_level"], here.decide_test({**f, "question_chars": 20.0}, sleep_level=plan["sleep_level"], c_prime_ready=True, prompt_tokens=30.0)["budget"]]  # fmt: skip
    assert "'sleeptime.runtime'" in done.stdout and "sleeptime._errors" not in done.stdout


def test_bad_text_for_the_runtime_is_a_decision_error(exported: dict[str, Any]) -> None:
    from sleeptime.runtime import DecisionError, RuntimePolicy

    policy = RuntimePolicy.load(exported["cheap"]["path"])
    with pytest.raises(DecisionError, match="the context must be text"):
        policy.context_features(None)  # type: ignore[arg-type]


def test_clone_keeps_the_name_and_set_params_sets_lam(exported: dict[str, Any]) -> None:
    from sklearn.base import clone

    from sleeptime.experiments import train_learned_policy
    from sleeptime.policy import CHEAP_POLICY_FEATURES

    scenario = exported["scenario"]
    policy = train_learned_policy(scenario, features=CHEAP_POLICY_FEATURES, name="learned-cheap", max_iter=20)  # fmt: skip
    twin = clone(policy)
    assert twin.name == "learned-cheap" and twin.get_params() == policy.get_params()
    assert policy.set_params(lam=2500.0).lam == 2500.0 and policy.get_params()["lam"] == 2500.0


def test_deciding_changes_no_policy_state(exported: dict[str, Any]) -> None:
    import copy

    from sleeptime.policy import OraclePolicy

    scenario = exported["scenario"]
    learned = exported["cheap"]["learned"]
    before = copy.deepcopy(learned.__dict__)
    learned.decide(scenario.test, scenario.env)
    from sleeptime.policy import decision_sensitivity

    decision_sensitivity(learned, scenario.test, scenario.env, 800.0)
    assert learned.__dict__.keys() == before.keys() and learned.lam == before["lam"]
    assert learned.get_params() == {k: before[k] for k in learned.get_params()}
    oracle = OraclePolicy(1000.0)
    sleep, test = oracle.decide(scenario.test, scenario.env)
    assert oracle.tables is None and oracle.lam == 1000.0  # nothing cached, nothing changed
    again = oracle.decide(scenario.test, scenario.env)
    assert np.array_equal(sleep, again[0]) and np.array_equal(test, again[1])


def test_the_litellm_hook_says_what_to_install_without_litellm() -> None:
    code = "import sys; sys.modules['litellm'] = None\ntry:\n    import sleeptime.integrations.litellm_hook\nexcept ImportError as e:\n    print(e)\n"  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'sleeptime[litellm]'" in done.stdout


def test_yaml_is_a_declared_dependency() -> None:
    import tomllib

    project = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["project"]
    assert any(d.lower().startswith("pyyaml") for d in project["dependencies"])


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_atomic_files_get_the_usual_mode(tmp_path: Path, umask: int) -> None:
    from sleeptime._atomic import atomic_path, atomic_write_text

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_path(tmp_path / "b.png") as tmp:
            tmp.write_bytes(b"png")
        (tmp_path / "c.txt").write_text("plain open")
    finally:
        os.umask(old)
    want = stat.S_IMODE((tmp_path / "c.txt").stat().st_mode)
    assert want == 0o666 & ~umask
    for name in ("a.txt", "b.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.png", "c.txt"]


def test_steps_are_declared_and_entered_in_order() -> None:
    from sleeptime.tracking import Stages

    stages = Stages("t", ("one", "two", "three"), progress=False)
    with pytest.raises(AssertionError, match="'two' out of order: the next declared step is 'one'"):  # fmt: skip
        stages.start("two")  # too early
    with stages.step("one"):
        pass
    with pytest.raises(AssertionError, match="'one' out of order: the next declared step is 'two'"):  # fmt: skip
        stages.start("one")  # again
    with pytest.raises(AssertionError, match="'three' out of order: the next declared step is 'two'"):  # fmt: skip
        stages.start("three")  # one skipped
    with pytest.raises(AssertionError, match="'four' out of order"), stages.step("four"):
        pass  # never declared
    stages.start("two")
    stages.start("three")  # finishes "two"
    with pytest.raises(AssertionError, match="'one' out of order: the next declared step is None"):  # fmt: skip
        stages.start("one")  # all done
    assert stages.close() >= 0


def test_threads_default_to_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    import sleeptime._threads as th
    from sleeptime import SleeptimeError
    from sleeptime._threads import free_cores, threads

    monkeypatch.delenv("SLEEPTIME_THREADS", raising=False)
    busy = th._busy_cores(0.05)
    assert busy is None or 0 <= busy <= (os.cpu_count() or 1) + 1e-9
    monkeypatch.setattr(th, "_busy_cores", lambda: None)  # then the load average decides
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 0.0, 0.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert free_cores() == 1 and threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 0.0, 0.0))
    assert free_cores() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert free_cores() == 2
    monkeypatch.setattr(th, "_busy_cores", lambda: 0.9)  # one core busy right now
    assert free_cores() == 1
    monkeypatch.setenv("SLEEPTIME_THREADS", "3")
    assert threads() == 3
    monkeypatch.setenv("SLEEPTIME_THREADS", "many")
    with pytest.raises(SleeptimeError, match="SLEEPTIME_THREADS"):
        threads()


def test_threads_option_reaches_the_libraries(tmp_path: Path) -> None:
    code = "from sleeptime._cli.main import main; import os; main(['--threads', '1', 'prices', '--json']); print(os.environ['OMP_NUM_THREADS'], os.environ['SLEEPTIME_THREADS'])"  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "SLEEPTIME_THREADS"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "1 1"
