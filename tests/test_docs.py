"""The README is a front page and the documentation site builds.

What users read (README.md and every page under docs/) names no folder outside the repository
and no tracker numbers, the README stays short, and ``mkdocs build --strict`` passes: no dead
link or anchor, every page in the navigation, every API reference resolved.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 250

#: A path into the folder beside the checkout, and a tracker reference ("issue 5", "issues #12").
FORBIDDEN = {
    "a path outside the repository": re.compile(r"\.\./shared"),
    "an issue number": re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE),
}


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def test_pages_exist() -> None:
    pages = _pages()
    assert README.is_file()
    assert (DOCS / "index.md").is_file()
    assert (DOCS / "live-server.md").is_file()
    assert len(pages) >= 10, [p.name for p in pages]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_internal_paths_or_issue_numbers(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = [
        f"{page.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {what}: {m.group(0)!r}"
        for what, pattern in FORBIDDEN.items()
        for m in pattern.finditer(text)
    ]
    assert not found, "\n".join(found)


def test_forbidden_patterns_catch_what_they_should() -> None:
    # the check above cannot pass by matching nothing
    for sample in ("see ../shared/data/x", "fixed in issue 5", "Issues #12 and 13", "issue#7"):
        assert any(p.search(sample) for p in FORBIDDEN.values()), sample
    for sample in ("shared by its queries", "an issue with 2 answers", "tissue 5"):
        assert not any(p.search(sample) for p in FORBIDDEN.values()), sample


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    text = "\n".join(lines)
    for command in ("make quickstart", "make test"):
        assert command in text


def _commands() -> list[str]:
    from sleeptime._cli.main import build_parser

    found: list[str] = []

    def walk(parser: object, prefix: list[str]) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    found.append(" ".join([*prefix, name]))
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return found


def test_every_command_has_a_section_in_the_command_line_page() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _commands()
    assert "collect" in commands and "workload inspect" in commands
    missing = [
        name
        for name in commands
        if not re.search(rf"^#{{3,4}} `sleeptime {re.escape(name)}`$", page, re.MULTILINE)
    ]
    assert not missing, f"docs/cli.md lacks a section for: {missing}"


def test_the_command_line_page_is_a_copy_of_the_help() -> None:
    # docs/tools/cli_help.py (make docs-cli) rewrites each command's block from its --help
    sys.path.insert(0, str(ROOT / "docs" / "tools"))
    try:
        import cli_help
    finally:
        sys.path.pop(0)
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    current = cli_help.render(page)
    assert page.count("```text") >= len(_commands()) - 3
    stale = [
        line
        for line in difflib.unified_diff(page.splitlines(), current.splitlines(), lineterm="", n=0)
    ][:40]
    assert current == page, "docs/cli.md differs from the help (run make docs-cli):\n" + "\n".join(
        stale
    )


def _mkdocs() -> str | None:
    local = Path(sys.executable).with_name("mkdocs")
    return str(local) if local.is_file() else shutil.which("mkdocs")


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    mkdocs = _mkdocs()
    if mkdocs is None:
        message = "mkdocs is not installed: install the docs extra (pip install -e '.[docs]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    site = tmp_path / "site"
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "make quickstart" in home
    # the API reference was rendered from docstrings, not left as a ':::' directive
    api = (site / "api" / "runtime.html").read_text(encoding="utf-8")
    assert "RuntimePolicy" in api
    assert "decide_sleep" in api
    assert ":::" not in api
