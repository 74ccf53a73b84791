"""What the when-to-sleep study reads (:class:`WhenConfig`: its sections and every parameter,
logged as its parameters; a spec's ``[when]`` table and ``sleeptime when-to-sleep`` build one)
and what it finds (:class:`WhenResult`, section by section)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sleeptime.policy._passk import PassKPoint
from sleeptime.policy._refresh import EditEffect
from sleeptime.policy._trigger_eval import TriggerSection
from sleeptime.policy._when_eval import CprimeSweep, EditRow, IdleRow, passk_at_equal_tokens
from sleeptime.workloads import parse_count_law

#: Sections of the study, in report order.
SECTIONS = ("triggers", "edits", "cprime", "idle", "passk")


@dataclass(frozen=True)
class WhenConfig:
    """Everything the study reads; logged as its parameters."""

    contexts: int = 1400
    seed: int = 0
    prices: str = "list-2025"
    benchmark: str = "stateful-gsm-symbolic-p1"
    model: str = "gpt-4o-mini"
    #: arrival laws of the trigger section: geometric, gamma-poisson:SHAPE, self-exciting,
    #: fitted (the best family fitted to ``access_log``, or to a synthetic bursty log)
    arrivals: tuple[str, ...] = ("geometric", "gamma-poisson:2", "gamma-poisson:0.5", "gamma-poisson:0.25", "self-exciting", "fitted")  # fmt: skip
    access_log: str | None = None
    edit_rates: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    edit_arrivals: str = "gamma-poisson:0.5"
    stale_effect: str = "share"
    stale_loss: float = 0.5
    touched: float = 0.3
    incremental_cost: float = 0.3
    incremental_quality: float = 1.0
    cprime_scales: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    query_rates: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    saturation: float = 0.5
    fleet_multiples: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    energy_usd_per_mtok: float | None = None
    deadline_s: float | None = None
    pass_k: tuple[int, ...] = (1, 2, 4, 8)
    sections: tuple[str, ...] = SECTIONS
    n_boot: int = 500

    def __post_init__(self) -> None:
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
        for a in (*self.arrivals, self.edit_arrivals):
            parse_count_law(a)
        EditEffect(
            self.stale_effect,
            self.stale_loss,
            self.touched,
            self.incremental_cost,
            self.incremental_quality,
        )

    def to_params(self) -> dict[str, Any]:
        """The config as flat run parameters (MLflow's): every field, tuples joined by
        commas."""
        return {k: (",".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}  # fmt: skip


@dataclass
class WhenResult:
    """The study's numbers, section by section (None where a section was not run)."""

    config: WhenConfig
    triggers: list[TriggerSection] = field(default_factory=list)
    fitted: dict[str, Any] | None = None
    edits: list[EditRow] | None = None
    cprime: CprimeSweep | None = None
    idle: list[IdleRow] | None = None
    idle_setup: dict[str, Any] | None = None
    passk: tuple[list[PassKPoint], list[PassKPoint]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict of the config and every section that was run, as ``--json``
        prints it."""
        out: dict[str, Any] = {"simulated": True, "config": self.config.to_params()}
        if self.triggers:
            out["triggers"] = [s.to_json() for s in self.triggers]
        if self.fitted is not None:
            out["fitted_access_log"] = self.fitted
        if self.edits is not None:
            out["edits"] = [r.to_json() for r in self.edits]
        if self.cprime is not None:
            out["cprime"] = self.cprime.to_json()
        if self.idle is not None:
            out["idle"] = {**(self.idle_setup or {}), "rows": [r.to_json() for r in self.idle]}
        if self.passk is not None:
            pk, sl = self.passk
            out["passk"] = {"pass_at_k": [p.to_json() for p in pk],
                            "sleep_time": [{**p.to_json(), "best_pass_at_k_at_equal_tokens": passk_at_equal_tokens(pk, p)} for p in sl]}  # fmt: skip
        return out
