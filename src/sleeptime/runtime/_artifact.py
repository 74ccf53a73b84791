"""Reading and validating a policy artifact, with the standard library only.

An artifact is plain JSON data: nothing in it is ever imported, evaluated or unpickled. The
checks here mirror the JSON Schema shipped beside this module (``policy.schema.json``), and go
further where a schema cannot: tree nodes that point forward only (no cycles), feature indices
in range, output widths that match the action tables, finite numbers everywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sleeptime.runtime._errors import ArtifactError

#: The artifact format this runtime reads.
FORMAT = "sleeptime.policy"
SCHEMA_VERSION = 2
#: Request parameters an action may set, per decision.
TEST_PARAMS = frozenset({"max_tokens", "reasoning_effort", "verbosity_prompt"})
SLEEP_PARAMS = frozenset({"n_rewrites", "reasoning_effort", "max_tokens", "batch"})
REASONING_EFFORTS = frozenset({"minimal", "low", "medium", "high"})
FEATURE_SOURCES = frozenset({"context_text", "question_text", "caller"})


def schema_path() -> Path:
    """The JSON Schema of the artifact, shipped with the package."""
    return Path(__file__).with_name("policy.schema.json")


#: What fixes an artifact that is not valid JSON.
_REEXPORT = "export the policy again (e.g. sleeptime export --out PATH) and copy the whole file"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


# Tokens of strict JSON (RFC 8259), for telling a cut file from a broken one. A string's body
# holds no quote, backslash or control character except through a valid escape.
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_STRING_START = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*(?:\\(?:u[0-9a-fA-F]{0,3})?)?')  # fmt: skip
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NUMBER_START = re.compile(r"-?(?:(?:0|[1-9][0-9]*)(?:\.(?:[0-9]+(?:[eE][-+]?[0-9]*)?)?|[eE][-+]?[0-9]*)?)?")  # fmt: skip
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_STRICT = json.JSONDecoder(parse_constant=_reject_constant)


def _cut_short(text: str) -> str | None:
    """Where ``text`` ends, in words, if it is a proper beginning of some valid JSON document
    (a file cut short, wherever the cut fell: inside a string, a number, a literal, or between
    tokens with brackets left open); None if it holds a syntax error before its end, is a
    complete document, or is empty.

    JSON's own error points where the token it could not finish began, which is not the end of
    the file when the cut falls inside a string or number; this scan follows the grammar to the
    end instead, handing each list or object to the decoder first and stepping inside only
    those it refuses (the ones still open at the cut, or broken). It keeps its own stack (any
    depth) and is strict: NaN and Infinity do not count.
    """
    stack: list[str] = []  # the open containers, "[" or "{"
    # what may come next: "value", "value]" (after "["), "key}" (after "{"), "key" (after a
    # comma in an object), ":" (after a key), "after" (after a value)
    expect = "value"
    pos, end = 0, len(text)
    inside = ""
    while True:
        space = _WHITESPACE.match(text, pos)
        pos = space.end() if space else pos
        if pos == end:
            break
        c = text[pos]
        if expect == "after":
            if not stack:
                return None  # extra data after a complete document
            if c == ",":
                expect = "value" if stack[-1] == "[" else "key"
            elif c == ("]" if stack[-1] == "[" else "}"):
                stack.pop()
            else:
                return None
            pos += 1
            continue
        if expect == ":":
            if c != ":":
                return None
            expect, pos = "value", pos + 1
            continue
        if (c, expect) in (("]", "value]"), ("}", "key}")):
            stack.pop()
            expect, pos = "after", pos + 1
            continue
        if expect in ("key", "key}") and c != '"':
            return None
        if c == '"':
            m = _STRING.match(text, pos)
            if m is None:
                if _STRING_START.fullmatch(text, pos) is None:
                    return None
                inside = "inside a string"
                break
            expect, pos = (":" if expect in ("key", "key}") else "after"), m.end()
        elif c in "[{":
            try:  # a whole list or object, read at the decoder's speed
                _, pos = _STRICT.raw_decode(text, pos)
                expect = "after"
            except (ValueError, RecursionError):  # open to the end, or broken: step inside
                stack.append(c)
                expect, pos = ("value]" if c == "[" else "key}"), pos + 1
        elif c == "-" or "0" <= c <= "9":
            if _NUMBER_START.fullmatch(text, pos) is not None:
                inside = "inside a number" if _NUMBER.fullmatch(text, pos) is None else ""
                expect = "after"
                break  # the number runs to the end of the text
            m = _NUMBER.match(text, pos)
            if m is None:
                return None
            expect, pos = "after", m.end()
        elif c in _LITERALS:
            word = _LITERALS[c]
            if text.startswith(word, pos):
                expect, pos = "after", pos + len(word)
            elif word.startswith(text[pos:]):
                inside = f"inside the word {word}"
                break
            else:
                return None
        else:
            return None
    if not stack and expect == "after" and not inside:
        return None  # complete
    if not stack and expect == "value" and not inside:
        return None  # empty, or whitespace only
    where = [inside] if inside else []
    if stack:
        n_obj, n_list = stack.count("{"), stack.count("[")
        parts = [f"{n} {w}{'s' if n > 1 else ''}" for n, w in ((n_obj, "object"), (n_list, "list")) if n]  # fmt: skip
        where.append(f"with {' and '.join(parts)} still open")
    return ", ".join(where)


def _line_column(text: str, pos: int) -> tuple[int, int]:
    """The line and column (both from 1) of ``text[pos]``, as JSON's errors count them."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def parse_artifact(text: str, source: str = "<artifact>") -> dict[str, Any]:
    """Parse and validate artifact text; every failure is an :class:`ArtifactError`."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if not text.strip(" \t\n\r"):
            raise ArtifactError(f"{source}: the file is empty: {_REEXPORT}") from None
        cut = _cut_short(text)
        if cut is not None:
            line, column = _line_column(text, len(text) - 1)
            raise ArtifactError(
                f"{source}: not valid JSON: the file looks truncated: it ends at line {line}, "
                f"column {column}, {cut}; {_REEXPORT}"
            ) from None
        raise ArtifactError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}: "
            f"fix that spot, or {_REEXPORT}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"{source}: {exc}") from None
    validate_artifact(data, source)
    return data  # type: ignore[no-any-return]


def load_artifact(path: str | Path) -> dict[str, Any]:
    """Read, parse and validate the artifact at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{p}: cannot read it: {exc}") from None
    return parse_artifact(text, str(p))


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ArtifactError:
        return ArtifactError(f"{self.source}: {path}: {message}")

    def get(self, obj: Mapping[str, Any], key: str, path: str, kind: Any) -> Any:
        if key not in obj:
            raise self.fail(f"{path}.{key}" if path else key, "missing field")
        value = obj[key]
        where = f"{path}.{key}" if path else key
        if kind is float:
            return self.number(value, where)
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(where, f"expected an integer, got {_kind(value)}")
            return value
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(where, f"expected {_names(kind)}, got {_kind(value)}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            raise self.fail(where, f"expected a finite number, got {value}")
        return float(value)

    def numbers(self, values: Any, where: str, length: int | None = None) -> list[float]:
        if not isinstance(values, list):
            raise self.fail(where, f"expected a list of numbers, got {_kind(values)}")
        if length is not None and len(values) != length:
            raise self.fail(where, f"expected {length} numbers, got {len(values)}")
        return [self.number(v, f"{where}[{i}]") for i, v in enumerate(values)]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _names(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(k, k.__name__) for k in kinds)  # fmt: skip


def _check_tree(c: _Checker, tree: Any, where: str, n_features: int, n_outputs: int) -> None:
    if not isinstance(tree, dict):
        raise c.fail(where, f"expected an object, got {_kind(tree)}")
    feature = c.get(tree, "feature", where, list)
    n = len(feature)
    if n == 0:
        raise c.fail(f"{where}.feature", "a tree needs at least one node")
    c.numbers(c.get(tree, "threshold", where, list), f"{where}.threshold", n)
    left = c.get(tree, "left", where, list)
    right = c.get(tree, "right", where, list)
    value = c.get(tree, "value", where, list)
    for name, arr in (("left", left), ("right", right), ("value", value)):
        if len(arr) != n:
            raise c.fail(f"{where}.{name}", f"expected {n} entries (one per node), got {len(arr)}")
    for i in range(n):
        f = feature[i]
        if isinstance(f, bool) or not isinstance(f, int) or not -1 <= f < n_features:
            raise c.fail(f"{where}.feature[{i}]", f"expected -1 (leaf) or 0..{n_features - 1}, got {f!r}")  # fmt: skip
        if f >= 0:
            for name, arr in (("left", left), ("right", right)):
                child = arr[i]
                # children come after their parent: no cycles, every path ends at a leaf
                if isinstance(child, bool) or not isinstance(child, int) or not i < child < n:
                    raise c.fail(f"{where}.{name}[{i}]", f"expected a node index in {i + 1}..{n - 1}, got {child!r}")  # fmt: skip
        else:
            c.numbers(value[i], f"{where}.value[{i}]", n_outputs)


def _check_actions(c: _Checker, actions: Any, names: Sequence[str], allowed: frozenset[str], where: str) -> None:  # fmt: skip
    if not isinstance(actions, list) or len(actions) != len(names):
        got = len(actions) if isinstance(actions, list) else _kind(actions)
        raise c.fail(where, f"expected {len(names)} actions ({', '.join(names)}), got {got}")
    for i, (action, name) in enumerate(zip(actions, names, strict=True)):
        at = f"{where}[{i}]"
        if not isinstance(action, dict):
            raise c.fail(at, f"expected an object, got {_kind(action)}")
        level = c.get(action, "level", at, str)
        if level != name:
            raise c.fail(f"{at}.level", f"expected {name!r} (actions follow the levels' order), got {level!r}")  # fmt: skip
        if "model" in action:  # actions across models: the model the level's name ends with
            named = name.rpartition("@")[2] if "@" in name else None
            if action["model"] != named:
                raise c.fail(f"{at}.model", f"expected {named!r} (the model the level {name!r} names), got {action['model']!r}")  # fmt: skip
        params = c.get(action, "params", at, dict)
        for key, value in params.items():
            if key not in allowed:
                raise c.fail(f"{at}.params.{key}", f"unknown action parameter (known: {', '.join(sorted(allowed))})")  # fmt: skip
            if (
                key == "reasoning_effort"
                and value is not None
                and (not isinstance(value, str) or value not in REASONING_EFFORTS)
            ):
                raise c.fail(f"{at}.params.{key}", f"unknown reasoning effort {value!r} (known: {', '.join(sorted(REASONING_EFFORTS))})")  # fmt: skip
            if (
                key in ("max_tokens", "n_rewrites")
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, int) or value < 0)
            ):
                raise c.fail(f"{at}.params.{key}", f"expected a non-negative integer or null, got {value!r}")  # fmt: skip
            if key == "verbosity_prompt" and value is not None and not isinstance(value, str):
                raise c.fail(f"{at}.params.{key}", f"expected a string or null, got {_kind(value)}")  # fmt: skip
            if key == "batch" and not isinstance(value, bool):
                raise c.fail(f"{at}.params.{key}", f"expected true/false, got {_kind(value)}")


def validate_artifact(data: Any, source: str = "<artifact>") -> None:
    """Raise :class:`ArtifactError` naming the first field that is wrong."""
    from sleeptime.runtime._features import FEATURE_SPECS, FEATURES_VERSION

    c = _Checker(source)
    if not isinstance(data, dict):
        raise c.fail("(top level)", f"expected a JSON object, got {_kind(data)}")
    fmt = c.get(data, "format", "", str)
    if fmt != FORMAT:
        raise c.fail("format", f"expected {FORMAT!r}, got {fmt!r}: not a sleeptime policy")
    version = c.get(data, "schema_version", "", int)
    if version != SCHEMA_VERSION:
        raise c.fail("schema_version", f"this runtime reads version {SCHEMA_VERSION}, the file has {version}: export it again with this sleeptime, or use the sleeptime release that wrote it ({data.get('package_version', 'unknown')})")  # fmt: skip
    for key in ("package_version", "created_at"):
        c.get(data, key, "", str)
    run_id = data.get("mlflow_run_id", None)
    if "mlflow_run_id" not in data:
        raise c.fail("mlflow_run_id", "missing field (null where no run was recorded)")
    if run_id is not None and not isinstance(run_id, str):
        raise c.fail("mlflow_run_id", f"expected a string or null, got {_kind(run_id)}")
    c.get(data, "config", "", dict)
    prices = c.get(data, "price_book", "", dict)
    for key in ("name", "version", "model"):
        c.get(prices, key, "price_book", str)
    for key in ("input_usd_per_mtok", "output_usd_per_mtok", "batch_discount"):
        c.get(prices, key, "price_book", float)

    features = c.get(data, "features", "", dict)
    fv = c.get(features, "version", "features", str)
    if fv != FEATURES_VERSION:
        raise c.fail("features.version", f"this runtime computes {FEATURES_VERSION!r}, the policy was trained with {fv!r}")  # fmt: skip
    n_inputs = {}
    for part in ("query", "context"):
        specs = c.get(features, part, "features", list)
        if not specs:
            raise c.fail(f"features.{part}", "expected at least one feature")
        seen = set()
        for i, spec in enumerate(specs):
            at = f"features.{part}[{i}]"
            if not isinstance(spec, dict):
                raise c.fail(at, f"expected an object, got {_kind(spec)}")
            name = c.get(spec, "name", at, str)
            src = c.get(spec, "source", at, str)
            c.get(spec, "definition", at, str)
            if name in seen:
                raise c.fail(f"{at}.name", f"feature {name!r} is listed twice")
            seen.add(name)
            if src not in FEATURE_SOURCES:
                raise c.fail(f"{at}.source", f"unknown source {src!r} (known: {', '.join(sorted(FEATURE_SOURCES))})")  # fmt: skip
            if src != "caller" and FEATURE_SPECS.get(name, ("caller",))[0] != src:
                raise c.fail(f"{at}.name", f"this runtime cannot compute {name!r} from {src}")
            if part == "context" and src == "question_text":
                raise c.fail(f"{at}.source", "the sleep decision comes before any question")
        n_inputs[part] = len(specs)

    decision = c.get(data, "decision", "", dict)
    sleep_levels = c.get(decision, "sleep_levels", "decision", list)
    budgets = c.get(decision, "budgets", "decision", list)
    for where, levels in (("sleep_levels", sleep_levels), ("budgets", budgets)):
        if (
            not levels
            or not all(isinstance(x, str) for x in levels)
            or len(set(levels)) != len(levels)
        ):
            raise c.fail(f"decision.{where}", "expected a non-empty list of distinct names")
    if sleep_levels[0] != "none":
        raise c.fail("decision.sleep_levels[0]", f"expected 'none', got {sleep_levels[0]!r}")
    n_s, n_b = len(sleep_levels), len(budgets)
    lam = c.get(decision, "lam", "decision", float)
    if lam < 0:
        raise c.fail("decision.lam", f"expected >= 0, got {lam}")
    test_usd = c.get(decision, "test_usd", "decision", list)
    if len(test_usd) != n_s:
        raise c.fail("decision.test_usd", f"expected {n_s} rows (one per sleep level), got {len(test_usd)}")  # fmt: skip
    for s, row in enumerate(test_usd):
        if not isinstance(row, list) or len(row) != n_b:
            raise c.fail(f"decision.test_usd[{s}]", f"expected {n_b} entries (one per budget)")
        for b, pair in enumerate(row):
            c.numbers(pair, f"decision.test_usd[{s}][{b}]", 2)
    sleep_usd = c.get(decision, "sleep_usd", "decision", list)
    if len(sleep_usd) != n_s:
        raise c.fail("decision.sleep_usd", f"expected {n_s} rows (one per sleep level), got {len(sleep_usd)}")  # fmt: skip
    for s, pair in enumerate(sleep_usd):
        c.numbers(pair, f"decision.sleep_usd[{s}]", 2)
    shares = c.numbers(c.get(decision, "ready_share", "decision", list), "decision.ready_share", n_s)  # fmt: skip
    if any(not 0 <= x <= 1 for x in shares):
        raise c.fail("decision.ready_share", "expected shares between 0 and 1")
    for key in ("question_tokens", "chars_per_token"):
        if c.get(decision, key, "decision", float) <= 0:
            raise c.fail(f"decision.{key}", "expected a positive number")
    draws = c.get(decision, "question_draws", "decision", int)
    if draws < 1:
        raise c.fail("decision.question_draws", f"expected an integer >= 1, got {draws}")
    model = c.get(decision, "model", "decision", dict)
    kind = c.get(model, "kind", "decision.model", str)
    if kind != "tree":
        raise c.fail("decision.model.kind", f"unknown decision model {kind!r} (known: tree)")
    _check_tree(c, c.get(model, "test", "decision.model", dict), "decision.model.test", n_inputs["query"], n_s * n_b)  # fmt: skip
    _check_tree(c, c.get(model, "sleep", "decision.model", dict), "decision.model.sleep", n_inputs["context"], draws * n_s * n_b)  # fmt: skip

    actions = c.get(data, "actions", "", dict)
    c.get(actions, "model", "actions", str)
    c.get(actions, "view", "actions", str)
    _check_actions(c, c.get(actions, "sleep", "actions", list), sleep_levels, SLEEP_PARAMS, "actions.sleep")  # fmt: skip
    _check_actions(c, c.get(actions, "test", "actions", list), budgets, TEST_PARAMS, "actions.test")  # fmt: skip
    # actions across models: each model they name is priced in the price book
    named = {a["model"] for part in ("sleep", "test") for a in actions[part] if a.get("model")}
    if named:
        priced = prices.get("models")
        if not isinstance(priced, dict):
            raise c.fail("price_book.models", f"missing: the actions name the models {sorted(named)}; each needs its prices here")  # fmt: skip
        for m in sorted(named):
            entry = c.get(priced, m, "price_book.models", dict)
            for key in ("input_usd_per_mtok", "output_usd_per_mtok", "batch_discount"):
                c.get(entry, key, f"price_book.models.{m}", float)
