"""An artifact cut short is called truncated wherever the cut falls; a broken one is not.

JSON's own error points where the token it could not finish began, so a file cut inside a
string or a number used to get no truncation hint. These tests cut a real exported artifact
at positions chosen from its text (never from the trained policy's digits), and check that a
genuine syntax error is reported at its line and column instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sleeptime.runtime import ArtifactError, parse_artifact

_TRUNCATED = re.compile(
    r"^cut\.json: not valid JSON: the file looks truncated: it ends at line (\d+), column (\d+), "
    r".*; export the policy again"
)
_SYNTAX = re.compile(r"^bad\.json: not valid JSON at line (\d+), column (\d+): .*export the policy again")  # fmt: skip
_JSON_WHITESPACE = " \t\n\r"


def _line_column(text: str, pos: int) -> tuple[int, int]:
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _assert_truncated(text: str, cut: int) -> None:
    part = text[:cut]
    with pytest.raises(ArtifactError) as info:
        parse_artifact(part, "cut.json")
    m = _TRUNCATED.match(str(info.value))
    assert m, f"cut at {cut} (...{part[-30:]!r}): {info.value}"
    # the line and column of the file's last character
    assert (int(m[1]), int(m[2])) == _line_column(part, len(part) - 1), str(info.value)


def _assert_syntax_error(text: str, pos: int) -> None:
    """``text`` has a syntax error at ``pos``, and is reported there, not as truncated."""
    with pytest.raises(ArtifactError) as info:
        parse_artifact(text, "bad.json")
    message = str(info.value)
    assert "truncated" not in message, message
    m = _SYNTAX.match(message)
    assert m, message
    assert (int(m[1]), int(m[2])) == _line_column(text, pos), message


def _texts(exported: dict[str, Any]) -> dict[str, str]:
    """The exported file as written, and the same artifact indented (newlines, spaces)."""
    text = Path(exported["all"]["path"]).read_text(encoding="utf-8")
    return {"exported": text, "indented": json.dumps(json.loads(text), indent=2) + "\n"}


def _cut_positions(text: str) -> list[int]:
    """Every cut in the first and last 300 characters, 300 spread evenly, and cuts just before
    and just after (the first, middle and last) occurrences of every character the file holds:
    inside keys, strings, escapes, numbers (after a sign, point or exponent), literals, and
    between tokens."""
    n = len(text.rstrip(_JSON_WHITESPACE))  # text[:n] is the whole document
    cuts = set(range(1, min(300, n))) | set(range(max(1, n - 300), n))
    cuts |= {1 + i * (n - 2) // 299 for i in range(300)}
    where: dict[str, list[int]] = {}
    for i, ch in enumerate(text[:n]):
        where.setdefault(ch, []).append(i)
    for spots in where.values():
        for i in (spots[0], spots[len(spots) // 2], spots[-1]):
            cuts |= {i, i + 1}
    return sorted(c for c in cuts if 0 < c < n)


@pytest.mark.parametrize("layout", ["exported", "indented"])
def test_an_artifact_cut_anywhere_is_called_truncated(exported: dict[str, Any], layout: str) -> None:  # fmt: skip
    text = _texts(exported)[layout]
    parse_artifact(text, "whole.json")  # the whole file is fine
    cuts = _cut_positions(text)
    assert len(cuts) > 900
    for cut in cuts:
        _assert_truncated(text, cut)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_an_artifact_cut_at_a_random_position_is_called_truncated(exported: dict[str, Any], data: st.DataObject) -> None:  # fmt: skip
    text = _texts(exported)[data.draw(st.sampled_from(["exported", "indented"]))]
    n = len(text.rstrip(_JSON_WHITESPACE))
    _assert_truncated(text, data.draw(st.integers(1, n - 1), label="cut"))


def _structural(text: str, key: str) -> int:
    """Index of the comma before ``"key":`` (a top-level key), whatever the layout."""
    i = text.index(f'"{key}":')
    j = text.rindex(",", 0, i)
    assert not text[j + 1 : i].strip(_JSON_WHITESPACE)
    return j


@pytest.mark.parametrize("layout", ["exported", "indented"])
def test_a_syntax_error_is_not_called_truncated(exported: dict[str, Any], layout: str) -> None:
    text = _texts(exported)[layout]
    n = len(text.rstrip(_JSON_WHITESPACE))
    comma = _structural(text, "decision")
    broken = text[:comma] + ";" + text[comma + 1 :]
    _assert_syntax_error(broken, comma)
    # broken in the middle and cut short later: the error in the middle is what counts
    for cut in (comma + 1, comma + 2, (comma + n) // 2, n - 1):
        _assert_syntax_error(broken[:cut], comma)
    # the last bracket of the wrong kind, at the very end
    assert text[n - 1] == "}"
    _assert_syntax_error(text[: n - 1] + "]", n - 1)
    # a control character where the cut fell inside a string
    inside = text.index('"definition":') + len('"definition":') + 3
    _assert_syntax_error(text[:inside] + "\x01", inside)
    # an invalid escape in a string, a leading zero, a misspelt literal, a trailing comma
    quote = text.index('"', text.index('"definition":') + len('"definition":'))
    _assert_syntax_error(text[: quote + 1] + "\\x" + text[quote + 1 :], quote + 1)
    value = text.index('"schema_version":') + len('"schema_version":')
    value += len(text[value:]) - len(text[value:].lstrip(_JSON_WHITESPACE))
    _assert_syntax_error(text[:value] + "0" + text[value:], value + 1)
    null = text.index("null")
    _assert_syntax_error(text[:null] + "nul," + text[null + 4 :], null)
    _assert_syntax_error(text[:comma] + ",}" + text[comma:], comma + 1)
    # content after a complete document
    _assert_syntax_error(text[:n] + " x", n + 1)


def test_an_empty_artifact_says_so() -> None:
    for text in ("", " \n"):
        with pytest.raises(ArtifactError, match=r"^empty\.json: the file is empty: export the policy again"):  # fmt: skip
            parse_artifact(text, "empty.json")


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


_json_documents = st.lists(_json_values, min_size=1, max_size=3) | st.dictionaries(
    st.text(max_size=6), _json_values, min_size=1, max_size=3
)


@settings(max_examples=200, deadline=None)
@given(
    doc=_json_documents,
    indent=st.sampled_from([None, 0, 2, "\t"]),
    ensure_ascii=st.booleans(),
)
def test_every_prefix_of_any_json_document_is_called_truncated(doc: Any, indent: Any, ensure_ascii: bool) -> None:  # fmt: skip
    """Strings with escapes and any characters, numbers with signs, fractions and exponents,
    literals, nesting: every cut of every layout."""
    text = json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii)
    for cut in range(1, len(text)):
        _assert_truncated(text, cut)
