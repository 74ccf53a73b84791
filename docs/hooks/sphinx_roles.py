"""MkDocs hook: show the docstrings' reST markup as Markdown readers expect it.

The package's docstrings use Sphinx roles (``:class:`Name```) and the reST literal-block marker
(``text::``). mkdocstrings renders docstrings as Markdown, where both would show verbatim; this
hook turns a role into inline code (the last dotted component where the name starts with ``~``)
and a closing ``::`` into ``:``. It edits rendered HTML only, never the sources.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]*)</code>"
)
_LITERAL_MARKER = re.compile(r"(\S)::</p>")


def _role(match: re.Match[str]) -> str:
    tilde, name = match.groups()
    return f"<code>{name.rsplit('.', 1)[-1] if tilde else name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Rewrite the roles and literal markers of one rendered page."""
    return _LITERAL_MARKER.sub(r"\1:</p>", _ROLE.sub(_role, html))
