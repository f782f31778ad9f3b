"""A scenario's inputs: the targets, their limits, the plan's presets, and the scenario errors.

Why it exists: every other part of the package (baseline, evaluation, texts, saved
scenarios, the CLI) validates and names inputs the same way; the plan's ranges
("three up, one down": sales +15–20 %, CAC −10–15 %, repurchase +5 points) and the
three presets live here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from lib.formatting import pct, points
from lib.i18n import LocalizedError, t
from lib.metrics import LOOKBACK_DAYS as METRICS_LOOKBACK_DAYS

NewCustomersSource = Literal["channel_data", "first_order_channel"]
Verdict = Literal["met", "over_cac", "unreachable"]

QUARTER_WEEKS = 13
LTV_CAC_RULE = 3.0  # the plan's rule: LTV at least three times the CAC
LOOKBACK_DAYS = METRICS_LOOKBACK_DAYS  # the customer base looks back one year (lib.metrics)
INPUT_FIELDS: tuple[str, ...] = ("growth", "cac_cut", "repurchase_up", "aov_change", "weeks")
# The plan's ranges (domain §1): sales +15–20 %, CAC −10–15 %, repurchase +5 points.
PLAN_RANGES: dict[str, tuple[float, float]] = {
    "growth": (0.15, 0.20),
    "cac_cut": (0.10, 0.15),
    "repurchase_up": (0.05, 0.05),
}
# Where the tornado chart moves each input (low, high).
SENSITIVITY_RANGES: dict[str, tuple[float, float]] = {
    "growth": (0.15, 0.20),
    "repurchase_up": (0.03, 0.07),
    "aov_change": (-0.05, 0.05),
    "cac_cut": (0.10, 0.15),
}
# Hard limits: beyond these a number is a typo, not a scenario.
INPUT_LIMITS: dict[str, tuple[float, float]] = {
    "growth": (-0.5, 2.0),
    "cac_cut": (-1.0, 0.9),
    "repurchase_up": (-0.5, 0.5),
    "aov_change": (-0.5, 1.0),
    "weeks": (4, 26),
}


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ScenarioError(LocalizedError):
    """A scenario cannot be measured, evaluated or stored; ``key`` is the i18n message key."""


class ScenarioInputError(ScenarioError):
    """An input is outside what a scenario can mean (e.g. a 300 % CAC cut)."""

    def __init__(self, field_name: str, value: float, low: float, high: float) -> None:
        self.field = field_name
        self.value, self.low, self.high = value, low, high
        super().__init__("scenarios.error.out_of_range")

    def message(self, lang: str = "en") -> str:
        return t(
            self.key, lang,
            field=t(f"scenarios.input.{self.field}", lang),
            value=_format_input_value(self.field, self.value, lang),
            low=_format_input_value(self.field, self.low, lang),
            high=_format_input_value(self.field, self.high, lang),
        )


def _format_input_value(field_name: str, value: float, lang: str = "en") -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if field_name == "weeks":
        return f"{value:g}"
    if field_name == "repurchase_up":
        return points(value, lang)
    return pct(value, signed=True)


# ---------------------------------------------------------------------------
# Inputs and presets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioInputs:
    """The targets of one scenario, as fractions: growth 0.175 = +17.5 % sales, cac_cut 0.125 = −12.5 % CAC.

    ``repurchase_up`` is in rate points (0.05 = +5 points); ``aov_change`` moves new and
    returning customers' AOV alike; ``weeks`` is how many weeks the quarter's budget is
    spent over (the curves are evaluated at that spend per week). Validated on creation:
    values beyond ``INPUT_LIMITS`` raise ``ScenarioInputError``.
    """

    growth: float = 0.175
    cac_cut: float = 0.125
    repurchase_up: float = 0.05
    aov_change: float = 0.0
    weeks: int = QUARTER_WEEKS

    def __post_init__(self) -> None:
        for name in INPUT_FIELDS:
            raw = getattr(self, name)
            try:
                value = float(raw)
            except (TypeError, ValueError):
                low, high = INPUT_LIMITS[name]
                raise ScenarioInputError(name, math.nan, low, high) from None
            low, high = INPUT_LIMITS[name]
            if not math.isfinite(value) or not low <= value <= high:
                raise ScenarioInputError(name, value, low, high)
            if name == "weeks":
                if value != int(value):
                    raise ScenarioInputError(name, value, low, high)
                object.__setattr__(self, name, int(value))
            else:
                object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScenarioInputs:
        return cls(**{k: data[k] for k in INPUT_FIELDS if k in data and data[k] is not None})

    def preset_name(self) -> str | None:
        """The preset these inputs equal, if any."""
        for name, preset in PRESETS.items():
            if all(math.isclose(getattr(self, f), getattr(preset, f), abs_tol=1e-9) for f in INPUT_FIELDS):
                return name
        return None

    def outside_plan(self) -> list[str]:
        """Inputs outside the plan's ranges (allowed, but worth a note)."""
        out = []
        for name, (low, high) in PLAN_RANGES.items():
            value = getattr(self, name)
            if value < low - 1e-9 or value > high + 1e-9:
                out.append(name)
        return out

    def plan_notes(self, lang: str = "en") -> list[str]:
        """One sentence per input outside the plan's range."""
        notes = []
        for name in self.outside_plan():
            low, high = PLAN_RANGES[name]
            plan = _format_input_value(name, low, lang) if low == high else (
                f"{_format_input_value(name, low, lang)} – {_format_input_value(name, high, lang)}")
            notes.append(t("scenarios.note.outside_plan", lang, field=t(f"scenarios.input.{name}", lang),
                           value=_format_input_value(name, getattr(self, name), lang), plan=plan))
        return notes


PRESETS: dict[str, ScenarioInputs] = {
    "conservative": ScenarioInputs(growth=0.15, cac_cut=0.10, repurchase_up=0.05),
    "base": ScenarioInputs(growth=0.175, cac_cut=0.125, repurchase_up=0.05),
    "aggressive": ScenarioInputs(growth=0.20, cac_cut=0.15, repurchase_up=0.05),
}


def preset(name: str) -> ScenarioInputs:
    """A preset by name: conservative, base or aggressive."""
    if name not in PRESETS:
        raise ScenarioError("scenarios.error.unknown_preset", name=name, known=", ".join(PRESETS))
    return PRESETS[name]
