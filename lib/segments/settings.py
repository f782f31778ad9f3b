"""Segment definitions and settings: the thresholds, the R×F grid, the saved per-dataset settings and their checks.

Why this module exists: every other part of :mod:`lib.segments` (the SQL engine,
the labels, the exports) and every page reads the same definitions; they live here,
with no SQL and no pandas, so they can be checked and saved on their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from lib.i18n import t
from lib.palette import SEGMENT_ORDER, TIER_ORDER

if TYPE_CHECKING:
    from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SETTINGS_KEY = "segments.settings"
DEFAULT_WINDOW_DAYS = 365
NOT_YET_CUSTOMER = "not_yet_customer"
TAG_KEYS: tuple[str, ...] = ("new", "active", "lapsing", "dormant", "high_value")
# Precedence that turns overlapping tags into one tier (first match wins).
TIER_PRECEDENCE: tuple[str, ...] = ("high_value", "new", "active", "lapsing", "dormant")
Scheme = Literal["plan", "rfm"]
SCHEMES: tuple[str, ...] = ("plan", "rfm")
SCORE_BASES: tuple[str, ...] = ("all_time", "window")
DISTRIBUTION_MEASURES: tuple[str, ...] = ("days_since_last_order", "window_revenue", "revenue")
MAX_BINS = 100
MIN_CUSTOMERS = 200
MIN_HISTORY_DAYS = 90
F_COLLAPSE_SHARE = 0.20

assert set(TIER_PRECEDENCE) == set(TIER_ORDER), "tier keys must match lib.palette.TIER_ORDER"

# R×F grid: rows R=5 (most recent) … R=1, columns F=1 … F=5.
_DEFAULT_GRID_ROWS: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "loyal_customers"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
}


def grid_key(r_score: int, f_score: int) -> str:
    """The grid cell name for an R and an F score, e.g. ``grid_key(5, 1) == "R5F1"``."""
    return f"R{int(r_score)}F{int(f_score)}"


GRID_CELLS: tuple[str, ...] = tuple(grid_key(r, f) for r in range(5, 0, -1) for f in range(1, 6))
DEFAULT_GRID: dict[str, str] = {
    grid_key(r, f): _DEFAULT_GRID_ROWS[r][f - 1] for r in range(5, 0, -1) for f in range(1, 6)
}


# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The plan's band edges; every comparison is stated in :func:`band_rules`.

    R (days since last order): recent ``d ≤ recent_max_days``; middle
    ``recent_max_days < d ≤ lapsing_max_days``; lapsed ``d > lapsing_max_days``.
    F (orders in the window): high ``f ≥ f_high_min``; mid ``f_mid_min ≤ f < f_high_min``;
    low ``f < f_mid_min``. M (spend in the window): ``m_mode="tertiles"`` computes the
    cut-offs from data; ``m_mode="amounts"`` uses ``m_high_min`` and ``m_mid_min``:
    high ``m ≥ m_high_min``; mid ``m_mid_min ≤ m < m_high_min``; low otherwise.
    """

    recent_max_days: int = 30
    lapsing_max_days: int = 90
    f_high_min: int = 5
    f_mid_min: int = 2
    m_mode: Literal["tertiles", "amounts"] = "tertiles"
    m_high_min: float | None = None
    m_mid_min: float | None = None


@dataclass(frozen=True)
class SegmentSettings:
    """Everything a user can change about segmentation, saved per dataset."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    grid: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_GRID))
    scheme: Scheme = "plan"
    window_days: int = DEFAULT_WINDOW_DAYS
    score_basis: Literal["all_time", "window"] = "all_time"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what :func:`save_settings` stores)."""
        return {
            "thresholds": asdict(self.thresholds),
            "grid": dict(self.grid),
            "scheme": self.scheme,
            "window_days": int(self.window_days),
            "score_basis": self.score_basis,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SegmentSettings:
        """Settings from stored JSON; unknown keys are ignored and invalid parts fall back to defaults."""
        if not isinstance(data, Mapping):
            return cls()
        default = cls()
        raw = data.get("thresholds")
        th_data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        known = {f for f in Thresholds.__dataclass_fields__}
        try:
            thresholds = Thresholds(**{k: v for k, v in th_data.items() if k in known})
        except TypeError:
            thresholds = Thresholds()
        if validate_thresholds(thresholds):
            thresholds = Thresholds()
        grid = data.get("grid")
        if not isinstance(grid, Mapping) or validate_grid(grid):
            grid = dict(DEFAULT_GRID)
        scheme: Scheme = data["scheme"] if data.get("scheme") in SCHEMES else default.scheme
        basis: Literal["all_time", "window"] = (
            data["score_basis"] if data.get("score_basis") in SCORE_BASES else default.score_basis
        )
        try:
            window = int(data.get("window_days", DEFAULT_WINDOW_DAYS))
        except (TypeError, ValueError):
            window = DEFAULT_WINDOW_DAYS
        if window < 1:
            window = DEFAULT_WINDOW_DAYS
        return cls(thresholds=thresholds, grid=dict(grid), scheme=scheme, window_days=window, score_basis=basis)


def load_settings(ws: Workspace, dataset_id: int) -> SegmentSettings:
    """The dataset's saved settings, or the defaults."""
    return SegmentSettings.from_dict(ws.get_setting(dataset_id, SETTINGS_KEY))


def save_settings(ws: Workspace, dataset_id: int, settings: SegmentSettings) -> None:
    """Store the settings for the dataset; raises ValueError (with every reason) if they are invalid."""
    check_settings(settings)
    ws.set_setting(dataset_id, SETTINGS_KEY, settings.to_dict())


def validate_thresholds(th: Thresholds, lang: str = "en") -> list[str]:
    """Readable reasons why these thresholds cannot be used (empty list = fine)."""
    errors: list[str] = []

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not all(is_int(v) for v in (th.recent_max_days, th.lapsing_max_days, th.f_high_min, th.f_mid_min)):
        return [t("segments.err.whole_numbers", lang)]
    if th.recent_max_days < 0:
        errors.append(t("segments.err.recent_negative", lang))
    if th.lapsing_max_days <= th.recent_max_days:
        errors.append(t("segments.err.r_order", lang, recent=th.recent_max_days, lapsing=th.lapsing_max_days))
    if th.f_mid_min < 1:
        errors.append(t("segments.err.f_mid_min", lang))
    if th.f_high_min <= th.f_mid_min:
        errors.append(t("segments.err.f_order", lang, mid=th.f_mid_min, high=th.f_high_min))
    if th.m_mode not in ("tertiles", "amounts"):
        errors.append(t("segments.err.m_mode", lang))
    elif th.m_mode == "amounts":
        values = (th.m_high_min, th.m_mid_min)
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) for v in values):
            errors.append(t("segments.err.m_amounts_missing", lang))
        elif th.m_mid_min >= th.m_high_min:  # type: ignore[operator]
            errors.append(t("segments.err.m_order", lang, mid=th.m_mid_min, high=th.m_high_min))
    return errors


def validate_grid(grid: Any, lang: str = "en") -> list[str]:
    """Reasons why an R×F grid is unusable: every one of the 25 cells must map to exactly one known segment.

    Accepts a mapping ``{"R5F1": "new_customers", …}``. A cell value that is a
    list/tuple counts as "exactly one" only if it holds a single segment.
    """
    if not isinstance(grid, Mapping):
        return [t("segments.err.grid_type", lang)]
    errors: list[str] = []
    for key in grid:
        if key not in GRID_CELLS:
            errors.append(t("segments.err.grid_unknown_cell", lang, cell=str(key)))
    for cell in GRID_CELLS:
        if cell not in grid:
            errors.append(t("segments.err.grid_missing_cell", lang, cell=cell))
            continue
        value = grid[cell]
        if isinstance(value, (list, tuple, set)):
            if len(value) != 1:
                errors.append(t("segments.err.grid_not_one", lang, cell=cell, n=len(value)))
                continue
            value = next(iter(value))
        if value not in SEGMENT_ORDER:
            errors.append(t("segments.err.grid_unknown_segment", lang, cell=cell, segment=str(value)))
    return errors


def grid_list(grid: Mapping[str, Any]) -> list[str]:
    """The grid as a 25-element list indexed by ``(r - 1) * 5 + f`` (1-based, for SQL)."""
    out = []
    for r in range(1, 6):
        for f in range(1, 6):
            value = grid[grid_key(r, f)]
            if isinstance(value, (list, tuple, set)):
                value = next(iter(value))
            out.append(str(value))
    return out


def check_settings(settings: SegmentSettings) -> None:
    errors = validate_thresholds(settings.thresholds) + validate_grid(settings.grid)
    if settings.scheme not in SCHEMES:
        errors.append(f"unknown scheme {settings.scheme!r}")
    if settings.score_basis not in SCORE_BASES:
        errors.append(f"unknown score basis {settings.score_basis!r}")
    if not isinstance(settings.window_days, int) or settings.window_days < 1:
        errors.append("window_days must be a whole number ≥ 1")
    if errors:
        raise ValueError("; ".join(errors))


@dataclass(frozen=True)
class FrozenCuts:
    """Numeric cut-offs resolved at one as-of date, to apply unchanged at other dates.

    ``m_high_min``/``m_mid_min`` are the M band edges (typed or tertiles).
    ``r_cuts``/``f_cuts``/``m_cuts`` hold the quintile edges: ``r_cuts[k]`` is the
    smallest days-since-last-order in R score bucket k+1 (1…4), ``f_cuts[k]`` and
    ``m_cuts[k]`` the largest value in bucket k+1. Applied by value, a customer
    tied with a bucket edge goes to the lower score (as the rank quintiles do: a tie is never split
    by customer id).
    """

    as_of: date | None
    m_high_min: float | None
    m_mid_min: float | None
    r_cuts: tuple[float, ...] = ()
    f_cuts: tuple[float, ...] = ()
    m_cuts: tuple[float, ...] = ()
