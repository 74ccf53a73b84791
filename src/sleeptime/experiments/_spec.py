"""Experiments as files: a TOML spec names the workload, model, price book, policies, study and
seeds. ``sleeptime run experiments/NAME.toml`` runs one; ``--reduced`` (or ``SLEEPTIME_REDUCED=1``)
applies the spec's ``[reduced]`` table, a smaller size for CI and a first look.

Each table is a frozen dataclass below; its fields are the keys a spec may set, with their
types, defaults and a line of documentation each (``sleeptime run --help`` and the README list
them). A spec may leave out any key; unknown keys and wrong types stop with the file and the key
named.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError, read_text
from sleeptime.experiments._registry import KINDS
from sleeptime.policy import WhenConfig


class SpecError(SleeptimeError, ValueError):
    """An experiment spec that cannot be run; the message names the file and the key."""


def _key(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class WorkloadTable:
    """``[workload]``: the contexts an experiment runs on."""

    source: str = _key("builtin", "where contexts come from; only 'builtin' (the generator) runs as an experiment so far")  # fmt: skip
    contexts: int = _key(1400, "built-in contexts to generate (at least 20)")


@dataclass(frozen=True)
class ModelTable:
    """``[model]``: the model and the paper's panel its outcome model is calibrated on."""

    benchmark: str = _key("stateful-gsm-symbolic-p1", "calibrated panel of the paper's figures")
    name: str = _key("gpt-4o-mini", "model of the panel and of the price book")
    models: str = _key("", "kind = 'policy': actions across these models, comma-separated (e.g. gpt-4o,gpt-4o-mini), each its own panel on benchmark; empty: name alone")  # fmt: skip
    transfer: float = _key(0.5, "with models: the share of the gap a reader closes with another model's notes (an assumption, stated in the report)")  # fmt: skip


@dataclass(frozen=True)
class PricesTable:
    """``[prices]``: what tokens cost."""

    book: str = _key("list-2025", "a built-in price book (list-2025, paper-abstract) or a TOML/JSON file")  # fmt: skip


@dataclass(frozen=True)
class ScenarioTable:
    """``[scenario]``: how simulated items are drawn and split."""

    rho_predictability: float = _key(0.5, "correlation of the observed (LM) predictability with the simulator's latent one")  # fmt: skip
    test_share: float = _key(0.4, "share of templates held out for evaluation (per domain)")


@dataclass(frozen=True)
class PoliciesTable:
    """``[policies]``: which learned policies to train, and the operating point."""

    learned: bool = _key(True, "train the learned policy on all features")
    cheap: bool = _key(True, "train the variant on features a router computes without an LM")
    budget_usd_per_1k: float = _key(0.2, "operating point: the best fixed strategy within this spend, USD per 1,000 queries")  # fmt: skip


@dataclass(frozen=True)
class StudyTable:
    """``[study]``: the Optuna study of the cheap-feature policy."""

    trials: int = _key(20, "trials to run")
    name: str = _key("", "study name (default: the spec's name and the MLflow run id)")


@dataclass(frozen=True)
class ExportTable:
    """``[export]``: the policy artifact a router loads."""

    enabled: bool = _key(True, "distil and export the study's best policy within the budget")


@dataclass(frozen=True)
class WhatIfTable:
    """``[what_if]``: the other world a what-if experiment replays the policy in."""

    prices: str = _key("paper-abstract", "price book of the what-if")
    query_rate: float = _key(1.0, "multiplier on every domain's mean queries per context")


@dataclass(frozen=True)
class LiveTable:
    """``[live]``: a real run (``kind = "collect"`` or ``"live"``) against an endpoint."""

    endpoint: str = _key("local", "'local' (the embedded llama.cpp server), a .gguf file (a local server on it), an OpenAI-compatible base URL, or 'litellm'; several, comma-separated, for a run across models (price_model one per endpoint)")  # fmt: skip
    model: str = _key("", "the model at the endpoint, or a LiteLLM model string with litellm = true; for a local server the name it serves its model under (default: the file's); one per endpoint, comma-separated, across models")  # fmt: skip
    litellm: bool = _key(False, "send through LiteLLM")
    api_key_env: str = _key("", "the environment variable holding the API key (never the key)")
    model_file: str = _key("", "with endpoint = 'local': the .gguf file to serve (default SmolLM2-135M-Instruct)")  # fmt: skip
    prompts: str = _key("auto", "auto (the workload's own family), gsm, aime, document, code, conversation, or a TOML file with the same keys (sleeptime/live/prompts/)")  # fmt: skip
    questions_per_context: int = _key(3, "the first N questions of each context")
    min_questions: int = _key(0, "only contexts with at least N questions (taken before [workload] contexts; 0: all)")  # fmt: skip
    sleep_levels: str = _key("none,k1", "comma-separated: none, kN (N rewrites), low, medium, high")
    budgets: str = _key("0,2,4", "comma-separated budget levels (verbosity 0-4)")
    views: str = _key("c,c_prime,both", "comma-separated: c, c_prime, both")
    concurrency: int = _key(4, "requests in flight at most")
    max_usd: float = _key(0.0, "stop before the run's new spend passes this (0: no cap)")
    price_model: str = _key("gpt-4o-mini", "price the tokens as this model of the price book")
    temperature: float = _key(0.0, "sampling temperature (0: greedy)")
    sleep_max_tokens: int = _key(384, "max_tokens of each sleep-time rewrite")
    stream: bool = _key(
        False, "receive answers as server-sent events (measures the time to the first token)"
    )
    sample: str = _key("first", "which contexts: the first N of the source (first) or one of each template in turn (templates)")  # fmt: skip
    view: str = _key("both", "kind = 'live': what a sleep-time answer of the policies sees, both (c and c') or c_prime")  # fmt: skip
    split: str = _key("context", "kind = 'live': hold out contexts at random (context) or whole templates (template)")  # fmt: skip
    test_share: float = _key(0.5, "kind = 'live': share of contexts held out to judge the policies on")  # fmt: skip
    sleep_price: str = _key("batch", "kind = 'live': price sleep-time work at the book's batch discount (batch) or live")  # fmt: skip
    outcome: str = _key("correct", "kind = 'live': what the policies maximize, the 0/1 verdict (correct) or the graded score, e.g. a span's F1 (score)")  # fmt: skip


def _joined(values: tuple[Any, ...]) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


_WHEN = WhenConfig()


@dataclass(frozen=True)
class WhenTable:
    """``[when]``: the when-to-sleep study (``kind = "when_to_sleep"``); defaults are the
    study's own (:class:`~sleeptime.experiments.WhenConfig`)."""

    sections: str = _key(_joined(_WHEN.sections), "comma-separated sections to run")
    arrivals: str = _key(_joined(_WHEN.arrivals), "arrival laws of the trigger section (gamma-poisson:SHAPE; fitted: the best family fitted to access_log)")  # fmt: skip
    access_log: str = _key("", "a CSV/JSONL (context_id, timestamp) log for 'fitted' (default: a synthetic bursty log)")  # fmt: skip
    edit_rates: str = _key(_joined(_WHEN.edit_rates), "edits per context lifetime")
    edit_arrivals: str = _key(_WHEN.edit_arrivals, "the arrival law of the edits section")
    stale_effect: str = _key(_WHEN.stale_effect, "a stale c' keeps a share of its gain (share) or is wrong on the edited part (wrong)")  # fmt: skip
    stale_loss: float = _key(_WHEN.stale_loss, "share of the sleep-time gain a stale c' loses")
    touched: float = _key(_WHEN.touched, "with stale_effect = 'wrong': share of questions about the edited part")  # fmt: skip
    incremental_cost: float = _key(_WHEN.incremental_cost, "an incremental rewrite's price as a share of a whole one")  # fmt: skip
    cprime_scales: str = _key(_joined(_WHEN.cprime_scales), "c' lengths as multiples of the calibrated one")  # fmt: skip
    query_rates: str = _key(_joined(_WHEN.query_rates), "queries per context in the c' sweep")
    saturation: float = _key(_WHEN.saturation, "c' gain saturation, in multiples of the calibrated length (an assumption)")  # fmt: skip
    fleet_multiples: str = _key(_joined(_WHEN.fleet_multiples), "fleet sizes as multiples of the sleep-time demand")  # fmt: skip
    pass_k: str = _key(_joined(_WHEN.pass_k), "k of the pass@k baseline")
    n_boot: int = _key(_WHEN.n_boot, "bootstrap draws for intervals")


@dataclass(frozen=True)
class OffPolicyTable:
    """``[off_policy]``: estimators validated against the simulator's truth, and the update loop
    under drift: a price change, the batch discount withdrawn, or the traffic moving to another
    domain (``kind = "off_policy"``)."""

    lam: float = _key(1500.0, "the behaviour policy's price of cost (accuracy per USD per query)")
    epsilons: str = _key("0.05,0.1,0.2", "comma-separated exploration rates of the validation")
    seeds: int = _key(50, "logs per exploration rate (each a seed)")
    n_boot: int = _key(200, "bootstrap draws of each estimate's interval")
    drift_contexts: int = _key(2800, "contexts of the drift scenario (its held-out ones arrive in periods)")  # fmt: skip
    periods: int = _key(4, "periods of the drift scenario; the world changes halfway")
    drift: str = _key("price", "what changes halfway: price (the model's prices x price_ratio), batch (sleep-time work pays batch_discount of the list price), domain (the traffic moves to drift_benchmark)")  # fmt: skip
    price_ratio: float = _key(4.0, "drift price: the model's token prices times this from the middle period on")  # fmt: skip
    batch_discount: float = _key(1.0, "drift batch: the fraction of the list price sleep-time work pays from the middle period on (1: the batch discount withdrawn)")  # fmt: skip
    drift_benchmark: str = _key("stateful-gsm-symbolic-p2", "drift domain: the benchmark the traffic moves to (its own scenario, seed + 1)")  # fmt: skip
    epsilon: float = _key(0.1, "the updating policy's exploration rate in the drift scenario")


@dataclass(frozen=True)
class SeedsTable:
    """``[seeds]``: every random choice of a run."""

    workload: int = _key(0, "workload, arrivals, latents and the template split")
    study: int = _key(0, "Optuna's sampler")
    bootstrap: int = _key(0, "bootstrap intervals")


@dataclass(frozen=True)
class ReducedTable:
    """``[reduced]``: the size ``--reduced`` (or ``SLEEPTIME_REDUCED=1``) runs at."""

    contexts: int = _key(140, "contexts at most (a real run: the spec's contexts are a cap too)")
    trials: int = _key(4, "study trials at most")
    questions_per_context: int = _key(1, "a real run's questions per context at most")
    endpoint: str = _key("", "a real run's endpoints at reduced size (default: the spec's), e.g. 'local,local': the default model under two names where a run across models has its model files")  # fmt: skip
    model: str = _key("", "with endpoint: the names (or models) of those endpoints, one per endpoint")  # fmt: skip
    seeds: int = _key(3, "off-policy validation seeds at most (the drift scenario's contexts: contexts at most)")  # fmt: skip


#: The attribute of :class:`ExperimentSpec` that holds a TOML table, where the names differ.
_ATTRIBUTE = {"reduced": "reduced_size"}
#: Kinds that run against a real endpoint: they read any workload file.
REAL_KINDS = frozenset({"collect", "live"})
_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_VALUE_NAMES = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}


@dataclass(frozen=True)
class ExperimentSpec:
    """A resolved spec: every table filled with its defaults, ``[reduced]`` applied when asked
    (``reduced`` says so)."""

    name: str
    kind: str
    description: str = ""
    workload: WorkloadTable = WorkloadTable()
    model: ModelTable = ModelTable()
    prices: PricesTable = PricesTable()
    scenario: ScenarioTable = ScenarioTable()
    policies: PoliciesTable = PoliciesTable()
    study: StudyTable = StudyTable()
    export: ExportTable = ExportTable()
    what_if: WhatIfTable = WhatIfTable()
    live: LiveTable = LiveTable()
    when: WhenTable = WhenTable()
    off_policy: OffPolicyTable = OffPolicyTable()
    seeds: SeedsTable = SeedsTable()
    reduced_size: ReducedTable = ReducedTable()
    path: Path | None = None
    text: str = ""
    reduced: bool = False

    def table(self, name: str) -> Any:
        """The table called ``name`` in TOML."""
        return getattr(self, _ATTRIBUTE.get(name, name))

    def to_params(self) -> dict[str, Any]:
        """Flat ``spec.table.key`` params for MLflow."""
        out: dict[str, Any] = {"spec.name": self.name, "spec.kind": self.kind, "spec.reduced": self.reduced}  # fmt: skip
        for name in TABLES:
            out.update({f"spec.{name}.{k}": v for k, v in dataclasses.asdict(self.table(name)).items()})  # fmt: skip
        return out


#: TOML table name -> its dataclass, in the order of :class:`ExperimentSpec`'s fields (the
#: attribute has the table's name; ``[reduced]`` is ``reduced_size``).
TABLES: Mapping[str, type] = {
    {v: k for k, v in _ATTRIBUTE.items()}.get(f.name, f.name): type(f.default)
    for f in dataclasses.fields(ExperimentSpec)
    if dataclasses.is_dataclass(f.default)
}


def reduced_from_env() -> bool:
    return os.environ.get("SLEEPTIME_REDUCED", "").strip().lower() in ("1", "true", "yes")


def spec_keys() -> list[tuple[str, str, str, Any, str]]:
    """Every key a spec may set: (table, key, type, default, doc), for help and the README."""
    out = []
    for name, cls in TABLES.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append((name, f.name, hints[f.name].__name__, f.default, f.metadata["doc"]))
    return out


def _value(source: str, table: str, key: str, kind: type, value: Any) -> Any:
    what = _VALUE_NAMES.get(type(value), type(value).__name__)
    wrong = f"{source}: [{table}] {key} has the wrong type: it must be {_TYPE_NAMES[kind]}, got {value!r} ({what})"  # fmt: skip
    if isinstance(value, bool) != (kind is bool):
        raise SpecError(wrong)
    if kind is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, kind):
        raise SpecError(wrong)
    return value


def _table(source: str, name: str, cls: type, given: Any) -> Any:
    if not isinstance(given, dict):
        raise SpecError(f"{source}: [{name}] must be a table")
    given = dict(given)
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            values[f.name] = _value(source, name, f.name, hints[f.name], given.pop(f.name))
    if given:
        known = sorted(f.name for f in dataclasses.fields(cls))
        raise SpecError(f"{source}: [{name}] has unknown keys {sorted(given)} (known: {known})")
    return cls(**values)


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
    tables = {_ATTRIBUTE.get(t, t): _table(source, t, cls, raw.pop(t, {})) for t, cls in TABLES.items()}  # fmt: skip
    if raw:
        raise SpecError(f"{source}: unknown tables or keys {sorted(raw)} (known: name, kind, description, {', '.join(TABLES)})")  # fmt: skip
    spec = ExperimentSpec(name, kind, description, **tables, text=text)
    if spec.workload.source != "builtin" and kind not in REAL_KINDS:
        raise SpecError(f"{source}: [workload] source: only 'builtin' runs as a simulated experiment so far (a file: kind = 'collect' or 'live')")  # fmt: skip
    if spec.live.outcome not in ("correct", "score"):
        raise SpecError(f"{source}: [live] outcome must be 'correct' (the 0/1 verdict) or 'score' (the graded score), got {spec.live.outcome!r}")  # fmt: skip
    if spec.workload.contexts < 20:
        raise SpecError(f"{source}: [workload] contexts must be at least 20")
    if spec.off_policy.drift not in ("price", "batch", "domain"):
        raise SpecError(f"{source}: [off_policy] drift must be 'price', 'batch' or 'domain', got {spec.off_policy.drift!r}")  # fmt: skip
    if reduced:
        size = spec.reduced_size
        live = dataclasses.replace(spec.live, questions_per_context=min(spec.live.questions_per_context, size.questions_per_context))  # fmt: skip
        if size.endpoint:
            live = dataclasses.replace(live, endpoint=size.endpoint, model=size.model)
        spec = dataclasses.replace(
            spec,
            workload=dataclasses.replace(spec.workload, contexts=min(spec.workload.contexts, size.contexts)),
            study=dataclasses.replace(spec.study, trials=min(spec.study.trials, size.trials)),
            live=live,
            reduced=True,
        )  # fmt: skip
    return spec


def load_spec(path: str | Path, *, reduced: bool | None = None) -> ExperimentSpec:
    """Read the spec at ``path`` (``reduced`` defaults to ``$SLEEPTIME_REDUCED``). A relative
    workload path that is not found from the working folder is read from the folder above the
    spec's (the checkout, for ``experiments/NAME.toml``)."""
    p = Path(path)
    text = read_text(p, SpecError, "no such spec (the specs that ship are in experiments/)")
    spec = parse_spec(
        text, source=str(p), reduced=reduced_from_env() if reduced is None else reduced
    )
    source = Path(spec.workload.source)
    beside = p.resolve().parent.parent / source
    if spec.workload.source != "builtin" and not source.is_absolute() and not source.exists() and beside.exists():  # fmt: skip
        spec = dataclasses.replace(spec, workload=dataclasses.replace(spec.workload, source=str(beside)))  # fmt: skip
    return dataclasses.replace(spec, path=p)


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
