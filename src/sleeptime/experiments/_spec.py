"""Experiments as files: a TOML spec names the workload, model, price book, policies, study and
seeds. ``sleeptime run experiments/NAME.toml`` runs one; ``--reduced`` (or ``SLEEPTIME_REDUCED=1``)
applies the spec's ``[reduced]`` table, a smaller size for CI and a first look."""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError, read_text

KINDS = ("policy", "paper_gsm", "paper_aime", "amortization", "what_if_prices")

#: table -> key -> (type, default). A spec may leave out any key.
SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "workload": {"source": (str, "builtin"), "contexts": (int, 1400)},
    "model": {"benchmark": (str, "stateful-gsm-symbolic-p1"), "name": (str, "gpt-4o-mini")},
    "prices": {"book": (str, "list-2025")},
    "scenario": {"rho_predictability": ((int, float), 0.5), "test_share": ((int, float), 0.4)},
    "policies": {
        "learned": (bool, True),
        "cheap": (bool, True),
        "budget_usd_per_1k": ((int, float), 0.2),
    },
    "study": {"trials": (int, 20), "name": (str, "")},
    "export": {"enabled": (bool, True)},
    "what_if": {"prices": (str, "paper-abstract"), "query_rate": ((int, float), 1.0)},
    "seeds": {"workload": (int, 0), "study": (int, 0), "bootstrap": (int, 0)},
    "reduced": {"contexts": (int, 140), "trials": (int, 4)},
}


class SpecError(SleeptimeError, ValueError):
    """An experiment spec that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class ExperimentSpec:
    """A resolved spec: every table filled with defaults, ``reduced`` applied when asked."""

    name: str
    kind: str
    description: str
    tables: dict[str, dict[str, Any]]
    path: Path | None
    text: str
    reduced: bool

    def __getitem__(self, table: str) -> dict[str, Any]:
        return self.tables[table]

    def to_params(self) -> dict[str, Any]:
        """Flat ``table.key`` params for MLflow."""
        out: dict[str, Any] = {"spec.name": self.name, "spec.kind": self.kind, "spec.reduced": self.reduced}  # fmt: skip
        for table, values in self.tables.items():
            out.update({f"spec.{table}.{k}": v for k, v in values.items()})
        return out


def reduced_from_env() -> bool:
    return os.environ.get("SLEEPTIME_REDUCED", "").strip().lower() in ("1", "true", "yes")


def parse_spec(text: str, *, source: str = "<spec>", reduced: bool = False) -> ExperimentSpec:
    """Parse and check a spec; unknown tables or keys and wrong types are errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}") from None
    name = raw.pop("name", None)
    kind = raw.pop("kind", None)
    description = raw.pop("description", "")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{source}: 'name' is missing (a short name for the run, e.g. name = \"quickstart\")")  # fmt: skip
    if kind not in KINDS:
        raise SpecError(f"{source}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(description, str):
        raise SpecError(f"{source}: 'description' must be a string")
    tables: dict[str, dict[str, Any]] = {}
    for table, keys in SCHEMA.items():
        given = raw.pop(table, {})
        if not isinstance(given, dict):
            raise SpecError(f"{source}: [{table}] must be a table")
        values = {}
        for key, (kind_, default) in keys.items():
            value = given.pop(key, default)
            if isinstance(value, bool) and kind_ is not bool:
                raise SpecError(f"{source}: [{table}] {key} must be a number, got {value!r}")
            if not isinstance(value, kind_):
                raise SpecError(f"{source}: [{table}] {key} has the wrong type: {value!r}")
            values[key] = (
                float(value) if kind_ == (int, float) and isinstance(value, (int, float)) else value
            )
        if given:
            raise SpecError(f"{source}: [{table}] has unknown keys {sorted(given)} (known: {sorted(keys)})")  # fmt: skip
        tables[table] = values
    if raw:
        raise SpecError(f"{source}: unknown tables or keys {sorted(raw)} (known: name, kind, description, {', '.join(SCHEMA)})")  # fmt: skip
    if tables["workload"]["source"] != "builtin":
        raise SpecError(f"{source}: [workload] source: only 'builtin' runs as an experiment so far")
    if tables["workload"]["contexts"] < 20:
        raise SpecError(f"{source}: [workload] contexts must be at least 20")
    if reduced:
        tables = copy.deepcopy(tables)
        tables["workload"]["contexts"] = min(tables["workload"]["contexts"], tables["reduced"]["contexts"])  # fmt: skip
        tables["study"]["trials"] = min(tables["study"]["trials"], tables["reduced"]["trials"])
    return ExperimentSpec(name, kind, description, tables, None, text, reduced)


def load_spec(path: str | Path, *, reduced: bool | None = None) -> ExperimentSpec:
    """Read the spec at ``path`` (``reduced`` defaults to ``$SLEEPTIME_REDUCED``)."""
    p = Path(path)
    text = read_text(p, SpecError, "no such spec (the specs that ship are in experiments/)")
    spec = parse_spec(
        text, source=str(p), reduced=reduced_from_env() if reduced is None else reduced
    )
    return ExperimentSpec(
        spec.name, spec.kind, spec.description, spec.tables, p, spec.text, spec.reduced
    )


def quickstart_spec(*, reduced: bool | None = None) -> ExperimentSpec:
    """``experiments/quickstart.toml`` of the working folder when there is one, else the
    defaults (which are the quickstart's)."""
    path = Path("experiments") / "quickstart.toml"
    if path.is_file():
        return load_spec(path, reduced=reduced)
    text = 'name = "quickstart"\nkind = "policy"\n'
    return parse_spec(
        text,
        source="<quickstart defaults>",
        reduced=reduced_from_env() if reduced is None else reduced,
    )
