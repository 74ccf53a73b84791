"""The shape of the package, measured: no import cycle anywhere in ``src`` (every import
counted: top-level, lazy ones inside functions, and those only for type checking), a thin
``experiments`` part, and no module that has grown past what one reader holds in mind."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "sleeptime"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the sleeptime modules it imports (a name imported from a package resolves to
    the submodule when it is one, else to the package)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]  # fmt: skip
            for target in targets:
                resolved = resolve(target) if target.startswith("sleeptime") else None
                if resolved and resolved != module:
                    graph[module].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_anywhere_in_src() -> None:
    graph = _import_graph()
    assert len(graph) > 100
    # lazy imports count: score() imports the estimators inside the function
    assert "sleeptime.estimators" in graph["sleeptime.experiments._jobs"]
    cycles = _cycles(graph)
    detail = [" <-> ".join(c) + "\n" + "\n".join(f"  {m} imports {sorted(graph[m] & set(c))}" for m in c) for c in cycles]  # fmt: skip
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above would see a cycle: a lazy import inside a function closes one."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_experiments_runs_experiments_and_stays_small() -> None:
    sizes = {p.name: _lines(p) for p in (PACKAGE / "experiments").glob("*.py")}
    assert sum(sizes.values()) <= 3500, f"experiments/ has {sum(sizes.values())} lines: {sizes}"
    large = {name: n for name, n in sizes.items() if n > 400}
    assert not large, f"experiments modules over 400 lines: {large}"


def test_no_module_over_600_lines() -> None:
    large = {str(p.relative_to(SRC)): n for p in PACKAGE.rglob("*.py") if (n := _lines(p)) > 600}  # fmt: skip
    assert not large, f"modules over 600 lines: {large}"
