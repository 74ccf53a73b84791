"""Price books: what tokens cost per model, and how fast they come.

Prices are USD per million tokens. Sleep-time work runs through a batch API and pays
``batch_discount`` times the list price (0.5 = half price). Test-time prompts that repeat a
cached prefix pay ``cache_read_multiplier`` times the input price for it, and writing the cache
costs ``cache_write_multiplier`` times. Latency of an answer is ``ttft_s`` plus its output tokens
over ``decode_tokens_per_s``; sleep-time work finishes ``batch_latency_s`` after it is submitted
plus its own decode time.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError


class PriceBookError(SleeptimeError, ValueError):
    """A price book (or one of its entries) is invalid."""


@dataclass(frozen=True)
class ModelPrice:
    """Prices and speeds of one model. USD per million tokens; multipliers are fractions."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float
    batch_discount: float = 0.5
    cache_read_multiplier: float = 1.0
    cache_write_multiplier: float = 1.0
    cache_ttl_s: float = 300.0
    decode_tokens_per_s: float = 80.0
    ttft_s: float = 0.5
    batch_latency_s: float = 600.0
    live_sleep_discount: float = 1.0
    fleet_tokens_per_s: float = 0.0
    fleet_usd_per_mtok: float = 0.0
    fleet_deadline_s: float = 3600.0
    fleet_load: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        load = self.fleet_load
        if not isinstance(load, (list, tuple)) or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1 for v in load):  # fmt: skip
            raise PriceBookError(f"fleet_load must be a list of shares of capacity busy (0..1), one per hour of the day, got {load!r}")  # fmt: skip
        if load and len(load) != 24:
            raise PriceBookError(f"fleet_load must have 24 values (hours 0-23), got {len(load)}")
        object.__setattr__(self, "fleet_load", tuple(float(v) for v in load))
        for f in fields(self):
            if f.name == "fleet_load":
                continue
            value = getattr(self, f.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise PriceBookError(f"{f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise PriceBookError(f"{f.name} must not be negative, got {value}")
        if self.decode_tokens_per_s <= 0:
            raise PriceBookError("decode_tokens_per_s must be positive")
        if self.live_sleep_discount > 1:
            raise PriceBookError(f"live_sleep_discount is a fraction of the list price (1 = full price), got {self.live_sleep_discount}")  # fmt: skip
        if self.batch_discount > 1:
            raise PriceBookError(
                f"batch_discount is the fraction of the list price paid (0.5 = half price), got {self.batch_discount}"
            )


_KEYS = {f.name for f in fields(ModelPrice)}

#: What each key of a price book's model entry means (units in the names).
PRICE_KEYS: Mapping[str, str] = {
    "input_usd_per_mtok": "USD per million input (prompt) tokens; required",
    "output_usd_per_mtok": "USD per million output tokens; required",
    "batch_discount": "fraction of the list price that sleep-time work pays through a batch API (0.5 = half price; default 0.5)",
    "cache_read_multiplier": "input price multiplier for a prompt prefix read from the provider's cache (default 1)",
    "cache_write_multiplier": "input price multiplier for a prefix written to the cache (default 1)",
    "cache_ttl_s": "seconds a cached prefix lives; a context's next query within it reads the cache (default 300)",
    "decode_tokens_per_s": "output tokens per second, for latency (default 80)",
    "ttft_s": "seconds to the first token, for latency (default 0.5)",
    "batch_latency_s": "seconds from submitting sleep-time work until it starts (default 600)",
    "fleet_tokens_per_s": "a self-hosted fleet's capacity in tokens per second (sleep-time work in and out); 0: no fleet (default 0)",
    "fleet_usd_per_mtok": "marginal USD per million tokens of sleep-time work run in the fleet's idle capacity, e.g. energy (default 0)",
    "fleet_deadline_s": "seconds after a context arrives by which its sleep-time work must finish in the fleet, else it goes to the batch API (default 3600)",
    "fleet_load": "24 shares of the fleet's capacity busy with live traffic, by hour 0-23 (default: a diurnal curve, 0.2 at 3:00 to 0.9 at 15:00)",
    "live_sleep_discount": "fraction of the list price that sleep-time work pays when it runs live, not through a batch API: real runs only (default 1, full price; e.g. idle self-hosted capacity)",
}  # fmt: skip


@dataclass(frozen=True)
class PriceBook:
    """Prices per model name. ``version`` identifies the book in every artifact."""

    models: Mapping[str, ModelPrice]
    version: str
    note: str = ""
    source: str = "builtin"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def price(self, model: str) -> ModelPrice:
        """The prices of ``model``; a clear error names the models the book has."""
        try:
            return self.models[model]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise PriceBookError(
                f"price book {self.version!r} has no model {model!r}; it has: {known}. "
                "Add it to your price book file or pick one of those."
            ) from None

    def with_price_ratio(self, model: str, base: str, ratio: float) -> PriceBook:
        """This book with ``model``'s input and output token prices set to ``ratio`` times
        ``base``'s (its other entries kept): a what-if of the price gap between two models.
        The version names the change (``list-2025 (gpt-4o = 4x gpt-4o-mini)``)."""
        if not ratio > 0:
            raise PriceBookError(f"a price ratio must be positive, got {ratio}")
        b = self.price(base)
        new = replace(self.price(model), input_usd_per_mtok=ratio * b.input_usd_per_mtok, output_usd_per_mtok=ratio * b.output_usd_per_mtok)  # fmt: skip
        return replace(self, models={**self.models, model: new}, version=f"{self.version} ({model} = {ratio:g}x {base})")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The book as :meth:`from_dict` reads it (``version``, ``note``, ``models``; USD per
        million tokens); ``source`` and ``meta`` are left out."""
        return {
            "version": self.version,
            "note": self.note,
            "models": {name: asdict(p) for name, p in self.models.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "dict") -> PriceBook:
        """Build from ``{"version": ..., "note": ..., "models": {name: {field: value}}}``."""
        if not isinstance(data, Mapping):
            raise PriceBookError(f"{source}: a price book must be a table/object")
        unknown_top = set(data) - {"version", "note", "models"}
        if unknown_top:
            raise PriceBookError(
                f"{source}: unknown top-level keys {sorted(unknown_top)}; expected version, note, models"
            )
        models = data.get("models")
        if not isinstance(models, Mapping) or not models:
            raise PriceBookError(
                f"{source}: 'models' must be a non-empty table of model name -> prices"
            )
        parsed = {}
        for name, entry in models.items():
            if not isinstance(entry, Mapping):
                raise PriceBookError(f"{source}: models.{name} must be a table of prices")
            unknown = set(entry) - _KEYS
            if unknown:
                raise PriceBookError(
                    f"{source}: models.{name} has unknown keys {sorted(unknown)}; known keys: {sorted(_KEYS)}"
                )
            missing = {"input_usd_per_mtok", "output_usd_per_mtok"} - set(entry)
            if missing:
                raise PriceBookError(f"{source}: models.{name} is missing {sorted(missing)}")
            try:
                parsed[str(name)] = ModelPrice(**dict(entry))
            except PriceBookError as exc:
                raise PriceBookError(f"{source}: models.{name}: {exc}") from None
        return cls(
            parsed, str(data.get("version", Path(source).stem)), str(data.get("note", "")), source
        )

    @classmethod
    def from_file(cls, path: str | Path) -> PriceBook:
        """Read a price book from a ``.toml`` or ``.json`` file."""
        p = Path(path)
        if not p.is_file():
            raise PriceBookError(f"{p}: no such price book file")
        try:
            if p.suffix.lower() == ".toml":
                data: Any = tomllib.loads(p.read_text(encoding="utf-8"))
            elif p.suffix.lower() == ".json":
                data = json.loads(p.read_text(encoding="utf-8"))
            else:
                raise PriceBookError(f"{p}: a price book must be a .toml or .json file")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PriceBookError(f"{p}: cannot parse: {exc}") from exc
        return cls.from_dict(data, source=str(p))


# Public list prices (USD / 1M tokens) as of 2025, to verify before relying on them. Decode
# speeds, time to first token and batch latency are assumptions for latency estimates.
_LIST_2025: dict[str, dict[str, Any]] = {
    "gpt-4o": {"input_usd_per_mtok": 2.50, "output_usd_per_mtok": 10.00, "cache_read_multiplier": 0.5, "decode_tokens_per_s": 90, "ttft_s": 0.5},
    "gpt-4o-mini": {"input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.60, "cache_read_multiplier": 0.5, "decode_tokens_per_s": 80, "ttft_s": 0.4},
    "o1": {"input_usd_per_mtok": 15.0, "output_usd_per_mtok": 60.0, "cache_read_multiplier": 0.5, "decode_tokens_per_s": 60, "ttft_s": 2.0},
    "o3-mini": {"input_usd_per_mtok": 1.10, "output_usd_per_mtok": 4.40, "cache_read_multiplier": 0.5, "decode_tokens_per_s": 150, "ttft_s": 1.0},
    "claude-3.7-sonnet": {"input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0, "cache_read_multiplier": 0.1, "cache_write_multiplier": 1.25, "decode_tokens_per_s": 70, "ttft_s": 1.0},
    "deepseek-r1": {"input_usd_per_mtok": 0.55, "output_usd_per_mtok": 2.19, "cache_read_multiplier": 0.25, "decode_tokens_per_s": 30, "ttft_s": 2.0},
}  # fmt: skip


def list_prices_2025() -> PriceBook:
    """The paper's models at public list prices (2025; verify before relying on them).

    Sleep-time work gets the 50% batch discount of OpenAI Batch and Anthropic Message Batches.
    Speeds and latencies are assumptions, not measurements.
    """
    models = {name: ModelPrice(**values) for name, values in _LIST_2025.items()}
    return PriceBook(models, "list-2025", "public list prices, 2025; verify before relying on them")


def paper_abstract_prices(models: tuple[str, ...] = tuple(_LIST_2025)) -> PriceBook:
    """The paper's abstract cost: one test-time token costs as much as ten sleep-time tokens.

    Output tokens cost 10 USD per million at test time and, through ``batch_discount=0.1``, 1 USD
    per million at sleep time; input tokens are free. So USD per query divided by 1e-5 is the
    paper's cost in test-token units (Fig. 9).
    """
    entry = ModelPrice(
        input_usd_per_mtok=0.0,
        output_usd_per_mtok=10.0,
        batch_discount=0.1,
        decode_tokens_per_s=80.0,
    )
    return PriceBook(
        dict.fromkeys(models, entry),
        "paper-abstract",
        "test token = 10 sleep tokens (the paper's abstract cost)",
    )


def builtin_price_books() -> dict[str, PriceBook]:
    """The built-in books by version name."""
    return {b.version: b for b in (list_prices_2025(), paper_abstract_prices())}


def load_price_book(spec: str | Path | None) -> PriceBook:
    """A built-in book by name (``list-2025``, ``paper-abstract``), or a TOML/JSON file."""
    if spec is None:
        return list_prices_2025()
    books = builtin_price_books()
    if str(spec) in books:
        return books[str(spec)]
    return PriceBook.from_file(spec)
