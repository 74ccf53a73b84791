"""Keep docs/cli.md a copy of the command line's own help.

Each section headed ``#### `sleeptime COMMAND``` (or ``###``) has, after any lines of prose, a
```text block holding ``sleeptime COMMAND --help`` as argparse prints it 100 columns wide. ``render`` returns
the page with every such block replaced by the current help; ``python docs/tools/cli_help.py``
(``make docs-cli``) rewrites the page, and a test fails when the page and the help differ.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "cli.md"
_SECTION = re.compile(
    r"(^#{3,4} `sleeptime ([^`]+)`\n\n(?:(?!```|#)[^\n]*\n)*```text\n)(.*?)(^```$)",
    re.MULTILINE | re.DOTALL,
)


def help_text(command: str) -> str:
    """``sleeptime COMMAND --help`` as printed 100 columns wide."""
    from sleeptime._cli.main import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            build_parser().parse_args([*command.split(), "--help"])
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return out.getvalue()


def render(page: str) -> str:
    """``page`` with each command's help block replaced by the current help."""
    return _SECTION.sub(lambda m: m.group(1) + help_text(m.group(2)) + m.group(4), page)


if __name__ == "__main__":
    text = PAGE.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        tmp = PAGE.with_suffix(".md.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(PAGE)
    print(f"{PAGE}: {'rewritten' if new != text else 'already current'}", file=sys.stderr)
