"""The playbook's content model: tiers' needs and plays, the calculator inputs, the campaign assumptions.

Why a module of its own: every other part of the package (checks, parsing, editing,
the calculator, the tables and the workbook) reads these frozen dataclasses, so they
sit at the bottom of the package with the constants they are defined by and nothing
above them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib import segments as seg
from lib.segments import SCHEMES as SCHEMES  # the one list of schemes (segments owns it)
from lib.i18n import display_channel, normalize_lang
from lib.metrics import metric
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.timeline import DEFAULT_WEEKS

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SETTINGS_KEY = "playbooks.content"
DEFAULTS_PATH = Path(__file__).resolve().parent / "defaults.json"
POINT_VALUE_CNY = 0.01
PLAN_WEEKS = DEFAULT_WEEKS
#: The "change against four weeks earlier" compares with this many days before the as-of date.
CHANGE_DAYS = 28
#: "Silent 3 months": in the group this many days before the as-of date, no order since.
SILENT_DAYS = 90
#: The window a play's response rate and the tier's baseline purchase rate refer to (a four-week campaign):
#: the baseline is the share of the tier's members this many days before the as-of date who ordered since.
BASELINE_DAYS = CHANGE_DAYS
#: Defaults of the playbook's campaign assumptions (``defaults.json`` may set others).
DEFAULT_GROSS_MARGIN = 0.5
DEFAULT_HOLDOUT_SHARE = 0.10
#: How ROI is written everywhere: lib.metrics defines ``roi`` as a percentage (ROAS is the multiple).
ROI_FORMAT_KIND = metric("roi").format_kind

CALCULATOR_FIELDS: tuple[str, ...] = (
    "response_rate",
    "incentive",
    "redemption_rate",
    "points_per_responder",
    "contact_cost",
    "aov_multiplier",
    "audience_share",
)
#: Calculator inputs that are shares (0…1).
RATE_FIELDS: tuple[str, ...] = ("response_rate", "redemption_rate", "audience_share")
#: Calculator inputs that are amounts (≥ 0).
AMOUNT_FIELDS: tuple[str, ...] = ("incentive", "points_per_responder", "contact_cost", "aov_multiplier")
TEXT_FIELDS: tuple[str, ...] = ("name", "description", "kpi")
AUDIENCE_BASES: tuple[str, ...] = ("members", "silent_90d")
ORIGINS: tuple[str, ...] = ("plan", "sop", "ours")
TARGET_UNITS: tuple[str, ...] = ("rate", "points", "ratio", "multiple", "hours", "")


# --------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text in English and Chinese."""

    en: str
    zh: str

    def get(self, lang: str = "en", /, **values: Any) -> str:
        """The text in ``lang`` (English when the Chinese is empty), formatted with ``values`` if given.

        Formatting is forgiving: a text a user typed with stray braces is shown as typed.
        """
        text = (self.zh or self.en) if normalize_lang(lang) == "zh" else (self.en or self.zh)
        if values:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    def is_complete(self) -> bool:
        """Both languages have non-blank text."""
        return bool(self.en.strip()) and bool(self.zh.strip())

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}

    @classmethod
    def from_value(cls, value: Any, previous: Text | None = None) -> Text:
        """A Text from ``{"en", "zh"}`` (missing languages keep ``previous``'s), a Text, or None (→ previous/empty)."""
        if isinstance(value, Text):
            return value
        base = previous or cls("", "")
        if value is None:
            return base
        if not isinstance(value, Mapping):
            raise TypeError("a bilingual text is a mapping with 'en' and 'zh'")
        en = value.get("en", base.en)
        zh = value.get("zh", base.zh)
        return cls(str(en if en is not None else ""), str(zh if zh is not None else ""))


@dataclass(frozen=True)
class KpiTarget:
    """The target a play is measured against: display text, a number and its unit, and where it comes from.

    ``unit``: ``rate`` (0.35 = 35%), ``points`` (0.25 = +25 percentage points),
    ``ratio`` (3 = 1:3), ``multiple`` (3 = 3×), ``hours``. ``source`` is
    ``plan`` (a number the plan states) or ``ours`` (our starting assumption).
    """

    text: Text
    value: float | None = None
    unit: str = ""
    source: str = "ours"

    def to_dict(self) -> dict[str, Any]:
        return {**self.text.to_dict(), "value": self.value, "unit": self.unit, "source": self.source}

    @classmethod
    def from_value(cls, value: Any, previous: KpiTarget | None = None) -> KpiTarget:
        if isinstance(value, KpiTarget):
            return value
        base = previous or cls(Text("", ""))
        if value is None:
            return base
        if not isinstance(value, Mapping):
            raise TypeError("a KPI target is a mapping with 'en', 'zh' and optionally 'value', 'unit', 'source'")
        number = value.get("value", base.value)
        return cls(
            text=Text.from_value(value, base.text),
            value=None if number is None else float(number),
            unit=str(value.get("unit", base.unit) or ""),
            source=str(value.get("source", base.source) or "ours"),
        )


@dataclass(frozen=True)
class CalculatorInputs:
    """A play's campaign-calculator inputs (see the module docstring for the formulas)."""

    response_rate: float = 0.0
    incentive: float = 0.0
    redemption_rate: float = 0.0
    points_per_responder: float = 0.0
    contact_cost: float = 0.0
    aov_multiplier: float = 1.0
    audience_share: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in CALCULATOR_FIELDS}


@dataclass(frozen=True)
class Play:
    """One play of a tier: what it is, the KPI it moves, its calculator defaults and its default weeks."""

    id: str
    name: Text
    description: Text
    kpi: Text
    kpi_target: KpiTarget
    calculator: CalculatorInputs
    weeks: tuple[int, int]
    origin: str = "plan"
    audience_basis: str = "members"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name.to_dict(),
            "description": self.description.to_dict(),
            "kpi": self.kpi.to_dict(),
            "kpi_target": self.kpi_target.to_dict(),
            "origin": self.origin,
            "audience_basis": self.audience_basis,
            "calculator": self.calculator.to_dict(),
            "weeks": [int(self.weeks[0]), int(self.weeks[1])],
        }


@dataclass(frozen=True)
class GroupContent:
    """A tier's (scheme ``plan``) or RFM segment's (scheme ``rfm``) playbook content.

    ``signal`` may contain ``{recent}``, ``{lo}``, ``{lapsing}``, ``{f_high}``,
    ``{f_mid}`` and ``{window}``, filled from the segmentation thresholds by
    :meth:`signal_text`. ``origin`` is ``ours`` for rows the plan does not have
    (the lapsing tier), explained in ``note``. ``like_tier`` (segments only) is
    the plan tier whose timeline tasks schedule the segment's plays.
    """

    key: str
    scheme: str
    need: Text
    signal: Text
    channels: tuple[str, ...]
    formats: tuple[Text, ...]
    plays: tuple[Play, ...]
    origin: str = "plan"
    note: Text | None = None
    cost_cap_multiple: float | None = None
    like_tier: str | None = None

    def play(self, play_id: str) -> Play:
        """The play with this id; raises KeyError."""
        for play in self.plays:
            if play.id == play_id:
                return play
        raise KeyError(f"{self.key} has no play {play_id!r}")

    def label(self, lang: str = "en") -> str:
        """The tier's or segment's display name."""
        return seg.group_label(self.key, self.scheme, lang)

    def signal_text(self, lang: str = "en", thresholds: seg.Thresholds | None = None, window_days: int | None = None) -> str:
        """The signal sentence with the thresholds' numbers filled in (defaults when not given)."""
        return self.signal.get(lang, **_threshold_values(thresholds, window_days))

    def note_text(self, lang: str = "en", thresholds: seg.Thresholds | None = None, window_days: int | None = None) -> str:
        """The note (why this row exists when it is our addition), or ``""``."""
        return self.note.get(lang, **_threshold_values(thresholds, window_days)) if self.note else ""

    def channel_names(self, lang: str = "en") -> list[str]:
        """The channels' display names in ``lang``."""
        return [display_channel(c, lang) for c in self.channels]

    def format_names(self, lang: str = "en") -> list[str]:
        return [f.get(lang) for f in self.formats]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "origin": self.origin,
            "need": self.need.to_dict(),
            "signal": self.signal.to_dict(),
            "channels": list(self.channels),
            "formats": [f.to_dict() for f in self.formats],
            "plays": [p.to_dict() for p in self.plays],
        }
        if self.note is not None:
            data["note"] = self.note.to_dict()
        if self.cost_cap_multiple is not None:
            data["cost_cap_multiple"] = self.cost_cap_multiple
        if self.like_tier is not None:
            data["like_tier"] = self.like_tier
        return data


def _threshold_values(thresholds: seg.Thresholds | None, window_days: int | None) -> dict[str, Any]:
    th = thresholds or seg.Thresholds()
    return {
        "recent": th.recent_max_days,
        "lo": th.recent_max_days + 1,
        "lapsing": th.lapsing_max_days,
        "f_high": th.f_high_min,
        "f_mid": th.f_mid_min,
        "window": window_days or seg.DEFAULT_WINDOW_DAYS,
    }


@dataclass(frozen=True)
class RecallRule:
    """The plan's "a high-value recall may cost up to ``multiple``× a normal one"; normal = the reference play."""

    multiple: float
    reference_group: str
    reference_play: str
    text: Text


@dataclass(frozen=True)
class CampaignAssumptions:
    """What every play's economics assume beyond its own inputs; editable and saved with the playbook.

    ``gross_margin``: the share of incremental revenue left after the cost of goods
    (0…1). ``holdout_share``: the share of each audience deliberately not contacted
    (0 ≤ share < 1), the control group the measured lift will come from.
    """

    gross_margin: float = DEFAULT_GROSS_MARGIN
    holdout_share: float = DEFAULT_HOLDOUT_SHARE

    def to_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in ASSUMPTION_FIELDS}


ASSUMPTION_FIELDS: tuple[str, ...] = ("gross_margin", "holdout_share")


@dataclass(frozen=True)
class PlausibilityBounds:
    """What campaigns achieve: beyond these a play's figures are flagged, with the reason.

    ``max_roi`` is the incremental ROI (net / cost, 10 = 1,000%) and ``max_lift`` the
    response rate above the tier's baseline (0.30 = 30 percentage points). Retention
    campaigns measured against a holdout typically lift purchase rates by a few points
    and return a few times their cost at most; figures past these bounds come from an
    optimistic response rate, an AOV the responders will not reach, or a cost left out,
    and should be tested on a holdout before anyone counts on them.
    """

    max_roi: float = 10.0
    max_lift: float = 0.30


#: The one place the plausibility bounds are defined (page, workbook and review pack read it).
PLAUSIBLE = PlausibilityBounds()
#: Reasons a play's economics are flagged, in the order they are listed.
FLAG_CODES: tuple[str, ...] = ("roi_high", "lift_high", "no_lift", "no_baseline")


@dataclass(frozen=True)
class Playbook:
    """Every tier's and segment's content (read-only; edit with :func:`update_play` / :func:`update_group`)."""

    version: int
    groups: Mapping[str, GroupContent]
    recall_rule: RecallRule
    about: Text
    point_value_cny: float = POINT_VALUE_CNY
    assumptions: CampaignAssumptions = CampaignAssumptions()

    def group(self, key: str) -> GroupContent:
        """A tier's or segment's content; raises KeyError."""
        try:
            return self.groups[key]
        except KeyError:
            raise KeyError(f"no playbook for {key!r}") from None

    def play(self, group: str, play_id: str) -> Play:
        return self.group(group).play(play_id)

    def groups_for(self, scheme: str = "plan") -> list[GroupContent]:
        """The tiers (``plan``) or segments (``rfm``) in display order."""
        order = TIER_ORDER if scheme == "plan" else SEGMENT_ORDER if scheme == "rfm" else None
        if order is None:
            raise ValueError(f"unknown scheme {scheme!r}")
        return [self.groups[k] for k in order if k in self.groups]

    def to_dict(self) -> dict[str, Any]:
        """What :func:`save_playbook` stores: the version, the campaign assumptions and every group's content."""
        return {
            "version": self.version,
            "assumptions": self.assumptions.to_dict(),
            "groups": {k: g.to_dict() for k, g in self.groups.items()},
        }
