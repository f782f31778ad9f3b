"""Per-tier playbooks: who is in each tier, what they need, which plays reach them, what the plays cost and earn, and when they run.

Why this module exists: the plan's "分层运营策略" (domain brief §3) is a table of
needs and plays per tier; the marketing team needs it tied to their own
customers (how many, how valuable, growing or shrinking) and to money (what a
campaign returns at the plan's response rates and incentives), edited to their
own numbers and kept per dataset. The content is data (``playbook_defaults.json``,
versioned, English and Chinese), never code, so the page, the CLI and the export
all read the same plays; this module adds the pure campaign calculator, the tier
profiles (computed in DuckDB through :mod:`lib.segments`' classification, so
every count equals the Segments page), the weeks of the 13-week plan each play
runs in (from a saved timeline plan, else the defaults), and the operations
workbook (through :mod:`lib.exports`' safe writer).

Calculator (all money in CNY; one point is worth ``POINT_VALUE_CNY`` = 0.01). The headline
is *incremental*: what the play adds over what the tier buys anyway::

    held out            = audience × holdout share            (not contacted: the control group)
    contacted           = audience − held out
    responders          = contacted × response rate            (everyone contacted who buys in the window)
    baseline rate       = of the tier's members BASELINE_DAYS before the as-of date (cut-offs frozen
                          at the as-of date), the share who ordered in the BASELINE_DAYS up to it —
                          measured on the ledger (:mod:`lib.metrics`), the tier's own history
    lift                = response rate − baseline rate         (percentage points; below 0 counts as 0)
    incremental buyers  = contacted × lift
    net AOV             = the tier's members' net sales ÷ orders (``kpi.aov`` in lib.metrics) × aov_multiplier
    incremental revenue = incremental buyers × net AOV
    gross revenue       = responders × net AOV                  (shown only as such: it counts people
                                                                 who would have bought anyway)
    incremental profit  = incremental revenue × gross margin
    incentive cost      = responders × redemption_rate × incentive   (coupons go to every buyer)
    points cost         = responders × points_per_responder × 0.01
    contact cost        = contacted × contact_cost
    total cost          = incentive + points + contact cost
    net                 = incremental profit − total cost
    ROI                 = net / total cost   (a percentage, as ``roi`` in lib.metrics; None when nothing is spent)
    cost per responder  = total cost / responders   (None when nobody responds)

Gross margin and the holdout share are the playbook's :class:`CampaignAssumptions`
(editable, saved with the plays). A play whose figures fall outside
:data:`PLAUSIBLE` (incremental ROI above 1,000%, or a response lift above 30
points) is flagged with the reason, as is a play whose response rate does not beat
the baseline or whose tier has no history to measure a baseline from
(:func:`economics_flags`, :func:`flag_reasons`): the page, the workbook and the
review pack all show the same warnings.

A play's audience is the tier's members × ``audience_share`` (or, for the
high-value "silent 3 months" play, the customers who were in the tier 90 days
ago and have not ordered since; its baseline is measured on the same kind of
customers one window earlier). The calculator treats every play as independent:
a customer reached by two plays is counted in both, and a tier's total is the
sum of its plays.

The plan's rule "a high-value recall may cost up to 3× a normal one" is the
``recall_rule``: the normal cost is the dormant-user coupon's cost per
reactivated customer (it does not depend on the audience size), and every play
of a group with ``cost_cap_multiple`` (high-value tier; Champions and Can't Lose
Them) is flagged when its cost per responder exceeds that multiple of it.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from lib import segments as seg
from lib.exports import MAX_DATA_ROWS, SheetSpec, workbook_bytes
from lib.formatting import money, pct, points
from lib.i18n import display_channel, normalize_lang, t
from lib.metrics import metric
from lib.palette import SEGMENT_ORDER, TIER_ORDER
from lib.segments import localised_customers
from lib.timeline import DEFAULT_WEEKS, Task, list_plans, load_plan

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

SETTINGS_KEY = "playbooks.content"
DEFAULTS_PATH = Path(__file__).resolve().parent / "playbook_defaults.json"
POINT_VALUE_CNY = 0.01
PLAN_WEEKS = DEFAULT_WEEKS
#: The "change against four weeks earlier" compares with this many days before the as-of date.
CHANGE_DAYS = 28
#: "Silent 3 months": in the group this many days before the as-of date, no order since.
SILENT_DAYS = 90
#: The window a play's response rate and the tier's baseline purchase rate refer to (a four-week campaign):
#: the baseline is the share of the tier's members this many days before the as-of date who ordered since.
BASELINE_DAYS = CHANGE_DAYS
#: Defaults of the playbook's campaign assumptions (``playbook_defaults.json`` may set others).
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
SCHEMES: tuple[str, ...] = ("plan", "rfm")


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


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

Problem = tuple[str, dict[str, Any]]


class PlaybookError(ValueError):
    """Edited values that cannot be used; ``messages(lang)`` says why in English or Chinese."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(self.messages("en")))

    def messages(self, lang: str = "en") -> list[str]:
        """One readable sentence per problem."""
        return [_problem_text(code, values, lang) for code, values in self.problems]


def _problem_text(code: str, values: Mapping[str, Any], lang: str) -> str:
    shown = dict(values)
    if "field" in shown:
        shown["field"] = field_label(str(shown["field"]), lang)
    return t(f"playbooks.err.{code}", lang, **shown)


def field_label(name: str, lang: str = "en") -> str:
    """The display name of an editable field (calculator inputs, weeks, texts)."""
    return t(f"playbooks.field.{name}", lang)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _calculator_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in values.items():
        if not _is_number(value):
            problems.append(("not_number", {"field": name, "value": value}))
        elif name in RATE_FIELDS and not 0 <= float(value) <= 1:
            problems.append(("rate_range", {"field": name, "value": f"{float(value):g}"}))
        elif name in AMOUNT_FIELDS and float(value) < 0:
            problems.append(("negative", {"field": name, "value": f"{float(value):g}"}))
    return problems


def _assumption_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Gross margin within 0…100%; holdout share from 0% to below 100% (someone must be contacted)."""
    problems: list[Problem] = []
    for name, value in values.items():
        if name not in ASSUMPTION_FIELDS:
            problems.append(("unknown_field", {"field": name}))
        elif not _is_number(value):
            problems.append(("not_number", {"field": name, "value": value}))
        elif not 0 <= float(value) <= 1:
            problems.append(("rate_range", {"field": name, "value": f"{float(value):g}"}))
        elif name == "holdout_share" and float(value) >= 1:
            problems.append(("holdout_all", {}))
    return problems


def _weeks_problems(weeks: Any, plan_weeks: int = PLAN_WEEKS) -> list[Problem]:
    if not isinstance(weeks, Sequence) or isinstance(weeks, str) or len(weeks) != 2:
        return [("weeks_whole", {})]
    start, end = weeks
    if not all(_is_number(w) and float(w) == int(w) for w in (start, end)):
        return [("weeks_whole", {})]
    start, end = int(start), int(end)
    problems: list[Problem] = []
    if not (1 <= start <= plan_weeks and 1 <= end <= plan_weeks):
        problems.append(("weeks_range", {"start": start, "end": end, "weeks": plan_weeks}))
    if start > end:
        problems.append(("weeks_order", {"start": start, "end": end}))
    return problems


def _play_problems(play: Play, plan_weeks: int = PLAN_WEEKS) -> list[Problem]:
    problems: list[Problem] = []
    if not str(play.id).strip():
        problems.append(("play_id", {}))
    for name in TEXT_FIELDS:
        if not getattr(play, name).is_complete():
            problems.append(("text_missing", {"field": name}))
    if not play.kpi_target.text.is_complete():
        problems.append(("text_missing", {"field": "kpi_target"}))
    if play.kpi_target.value is not None and not _is_number(play.kpi_target.value):
        problems.append(("not_number", {"field": "kpi_target", "value": play.kpi_target.value}))
    problems += _calculator_problems(play.calculator.to_dict())
    problems += _weeks_problems(play.weeks, plan_weeks)
    if play.audience_basis not in AUDIENCE_BASES:
        problems.append(("audience_basis", {"value": play.audience_basis}))
    if play.origin not in ORIGINS:
        problems.append(("origin", {"value": play.origin}))
    return problems


def validate_play(play: Play, lang: str = "en", plan_weeks: int = PLAN_WEEKS) -> list[str]:
    """Readable reasons why this play cannot be saved (empty list = fine).

    Rates (response, redemption, audience share) must lie in [0, 1]; coupon
    value, points, contact cost and the order-value multiplier must be ≥ 0;
    weeks whole numbers within 1…13 with start ≤ end; name, description, KPI
    and target need text in both languages.
    """
    return [_problem_text(code, values, lang) for code, values in _play_problems(play, plan_weeks)]


def validate_group(group: GroupContent, lang: str = "en") -> list[str]:
    """Readable reasons why a tier's/segment's content cannot be saved (its plays included)."""
    problems: list[Problem] = []
    for name in ("need", "signal"):
        if not getattr(group, name).is_complete():
            problems.append(("text_missing", {"field": name}))
    ids = [p.id for p in group.plays]
    if len(set(ids)) != len(ids):
        problems.append(("duplicate_play", {"group": group.key}))
    messages = [_problem_text(code, values, lang) for code, values in problems]
    for play in group.plays:
        messages += [f"{play.name.get(lang) or play.id}: {m}" for m in validate_play(play, lang)]
    return messages


def validate_playbook(playbook: Playbook, lang: str = "en") -> list[str]:
    """Every problem of the campaign assumptions and in every group, each prefixed with the group's name."""
    messages = [_problem_text(code, values, lang) for code, values in _assumption_problems(playbook.assumptions.to_dict())]
    for group in playbook.groups.values():
        messages += [f"{group.label(lang)} · {m}" for m in validate_group(group, lang)]
    return messages


# --------------------------------------------------------------------------------------
# Parsing the data file and saved content
# --------------------------------------------------------------------------------------


def _parse_play(data: Mapping[str, Any], play_id: str | None = None) -> Play:
    calc = data.get("calculator") or {}
    defaults = CalculatorInputs()
    values = {}
    for name in CALCULATOR_FIELDS:
        raw = calc.get(name, getattr(defaults, name))
        if not _is_number(raw):
            raise ValueError(f"calculator value {name}={raw!r} is not a number")
        values[name] = float(raw)
    weeks = data.get("weeks") or (1, PLAN_WEEKS)
    if _weeks_problems(weeks):
        raise ValueError(f"invalid weeks {weeks!r}")
    return Play(
        id=str(play_id or data.get("id") or ""),
        name=Text.from_value(data.get("name")),
        description=Text.from_value(data.get("description")),
        kpi=Text.from_value(data.get("kpi")),
        kpi_target=KpiTarget.from_value(data.get("kpi_target")),
        calculator=CalculatorInputs(**values),
        weeks=(int(weeks[0]), int(weeks[1])),
        origin=str(data.get("origin") or "plan"),
        audience_basis=str(data.get("audience_basis") or "members"),
    )


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it; nested mappings are merged key by key."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_play_entry(entry: Any, library: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A group's play entry (a library id, ``{"use": id, …overrides}`` or a full play) as (id, play data)."""
    if isinstance(entry, str):
        return entry, copy.deepcopy(dict(library[entry]))
    if isinstance(entry, Mapping) and "use" in entry:
        overrides = {k: v for k, v in entry.items() if k != "use"}
        play_id = str(overrides.pop("id", entry["use"]))
        return play_id, _merge(library[entry["use"]], overrides)
    if isinstance(entry, Mapping):
        return str(entry.get("id") or ""), dict(entry)
    raise ValueError(f"cannot read play entry {entry!r}")


def _parse_group(key: str, scheme: str, data: Mapping[str, Any], library: Mapping[str, Any]) -> GroupContent:
    plays = []
    for entry in data.get("plays") or []:
        play_id, play_data = _resolve_play_entry(entry, library)
        plays.append(_parse_play(play_data, play_id))
    cap = data.get("cost_cap_multiple")
    return GroupContent(
        key=key,
        scheme=scheme,
        need=Text.from_value(data.get("need")),
        signal=Text.from_value(data.get("signal")),
        channels=tuple(str(c) for c in data.get("channels") or ()),
        formats=tuple(Text.from_value(f) for f in data.get("formats") or ()),
        plays=tuple(plays),
        origin=str(data.get("origin") or "plan"),
        note=Text.from_value(data["note"]) if data.get("note") else None,
        cost_cap_multiple=None if cap is None else float(cap),
        like_tier=str(data["like_tier"]) if data.get("like_tier") else None,
    )


@lru_cache(maxsize=1)
def _defaults_data() -> dict[str, Any]:
    return json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))


def default_playbook() -> Playbook:
    """The plan's playbooks as shipped in ``playbook_defaults.json`` (parsed once; every call gets its own
    ``groups`` dict, and the content objects are frozen)."""
    cached = _parsed_defaults()
    return replace(cached, groups=dict(cached.groups))


@lru_cache(maxsize=1)
def _parsed_defaults() -> Playbook:
    data = _defaults_data()
    library = data.get("library") or {}
    groups: dict[str, GroupContent] = {}
    for key, group in (data.get("tiers") or {}).items():
        groups[key] = _parse_group(key, "plan", group, library)
    for key, group in (data.get("segments") or {}).items():
        groups[key] = _parse_group(key, "rfm", group, library)
    rule = data["recall_rule"]
    return Playbook(
        version=int(data["version"]),
        groups=groups,
        recall_rule=RecallRule(
            multiple=float(rule["multiple"]),
            reference_group=str(rule["reference_group"]),
            reference_play=str(rule["reference_play"]),
            text=Text.from_value(rule["text"]),
        ),
        about=Text.from_value(data.get("about")),
        point_value_cny=float(data.get("point_value_cny", POINT_VALUE_CNY)),
        assumptions=_parse_assumptions(data.get("assumptions"), CampaignAssumptions()),
    )


def _parse_assumptions(data: Any, base: CampaignAssumptions) -> CampaignAssumptions:
    """Campaign assumptions from stored data, laid over ``base``; a value that cannot be used keeps ``base``'s."""
    if not isinstance(data, Mapping):
        return base
    values = base.to_dict()
    for name in ASSUMPTION_FIELDS:
        if name in data and not _assumption_problems({name: data[name]}):
            values[name] = float(data[name])
    return CampaignAssumptions(**values)


def playbook_from_dict(data: Any) -> Playbook:
    """A playbook from saved content, laid over the defaults.

    Tolerant by design (saved content may come from an older version): unknown
    groups are ignored; a group missing from ``data`` keeps the defaults; within
    a group, a saved play that cannot be read or fails validation falls back to
    the default play of the same id; default plays missing from the saved group
    (added in a newer version) are appended; saved plays the defaults do not
    have are kept.
    """
    defaults = default_playbook()
    if not isinstance(data, Mapping):
        return defaults
    if not isinstance(data.get("groups"), Mapping):
        return replace(defaults, assumptions=_parse_assumptions(data.get("assumptions"), defaults.assumptions))
    groups = dict(defaults.groups)
    for key, saved in data["groups"].items():
        if key not in groups or not isinstance(saved, Mapping):
            continue
        base = groups[key]
        try:
            own = {k: v for k, v in saved.items() if k != "plays"}
            candidate = _parse_group(key, base.scheme, {**base.to_dict(), **own, "plays": []}, {})
        except (TypeError, ValueError, KeyError):
            candidate = base
        if not candidate.need.is_complete() or not candidate.signal.is_complete():
            candidate = replace(candidate, need=base.need, signal=base.signal)
        plays: list[Play] = []
        seen: set[str] = set()
        for entry in saved.get("plays") or []:
            if not isinstance(entry, Mapping):
                continue
            play_id = str(entry.get("id") or "")
            if not play_id or play_id in seen:
                continue
            default_play = next((p for p in base.plays if p.id == play_id), None)
            try:
                play = _parse_play(entry, play_id)
                if _play_problems(play):
                    raise ValueError("invalid saved play")
            except (TypeError, ValueError, KeyError):
                if default_play is None:
                    continue
                play = default_play
            plays.append(play)
            seen.add(play_id)
        plays += [p for p in base.plays if p.id not in seen]
        groups[key] = replace(candidate, plays=tuple(plays))
    return replace(defaults, groups=groups, assumptions=_parse_assumptions(data.get("assumptions"), defaults.assumptions))


# --------------------------------------------------------------------------------------
# Editing and storage
# --------------------------------------------------------------------------------------


def update_play(playbook: Playbook, tier: str, play_id: str, **changes: Any) -> Playbook:
    """A new playbook with one play changed; raises :class:`PlaybookError` (bilingual) if a value is invalid.

    ``tier`` is a tier or segment key. Accepted changes: any calculator input
    (``response_rate=0.2``, ``incentive=30``, …, or ``calculator={…}``),
    ``weeks=(start, end)`` or ``start_week`` / ``end_week``, ``name`` /
    ``description`` / ``kpi`` as ``{"en": …, "zh": …}`` (a missing language is
    kept), ``kpi_target`` as ``{"en", "zh", "value", "unit"}``, and
    ``audience_basis``. Unknown groups or plays raise KeyError.
    """
    group = playbook.group(tier)
    play = group.play(play_id)
    problems: list[Problem] = []
    calc_changes: dict[str, Any] = {}
    if "calculator" in changes:
        raw = changes.pop("calculator")
        if isinstance(raw, CalculatorInputs):
            raw = raw.to_dict()
        if not isinstance(raw, Mapping):
            raise TypeError("calculator must be a mapping of calculator inputs")
        calc_changes.update(raw)
    for name in CALCULATOR_FIELDS:
        if name in changes:
            calc_changes[name] = changes.pop(name)
    unknown_calc = [k for k in calc_changes if k not in CALCULATOR_FIELDS]
    problems += [("unknown_field", {"field": k}) for k in unknown_calc]
    problems += _calculator_problems({k: v for k, v in calc_changes.items() if k in CALCULATOR_FIELDS})

    weeks = list(play.weeks)
    if "weeks" in changes:
        raw_weeks = changes.pop("weeks")
        week_problems = _weeks_problems(raw_weeks) if raw_weeks is not None else [("weeks_whole", {})]
        if week_problems and any(code == "weeks_whole" for code, _ in week_problems):
            problems += week_problems
        else:
            weeks = [int(raw_weeks[0]), int(raw_weeks[1])]
    for index, name in ((0, "start_week"), (1, "end_week")):
        if name in changes:
            value = changes.pop(name)
            if _is_number(value) and float(value) == int(value):
                weeks[index] = int(value)
            else:
                problems.append(("weeks_whole", {}))

    new_fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in changes:
            try:
                new_fields[name] = Text.from_value(changes.pop(name), getattr(play, name))
            except TypeError:
                problems.append(("text_missing", {"field": name}))
    if "kpi_target" in changes:
        try:
            new_fields["kpi_target"] = KpiTarget.from_value(changes.pop("kpi_target"), play.kpi_target)
        except (TypeError, ValueError):
            problems.append(("not_number", {"field": "kpi_target", "value": "?"}))
    if "audience_basis" in changes:
        new_fields["audience_basis"] = str(changes.pop("audience_basis"))
    problems += [("unknown_field", {"field": k}) for k in changes]
    if problems:
        raise PlaybookError(problems)

    calculator = replace(play.calculator, **{k: float(v) for k, v in calc_changes.items()})
    updated = replace(play, calculator=calculator, weeks=(weeks[0], weeks[1]), **new_fields)
    final = _play_problems(updated)
    if final:
        raise PlaybookError(final)
    return _with_play(playbook, tier, updated)


def _with_play(playbook: Playbook, group_key: str, play: Play) -> Playbook:
    group = playbook.group(group_key)
    plays = tuple(play if p.id == play.id else p for p in group.plays)
    groups = dict(playbook.groups)
    groups[group_key] = replace(group, plays=plays)
    return replace(playbook, groups=groups)


def update_group(playbook: Playbook, tier: str, **changes: Any) -> Playbook:
    """A new playbook with a tier's/segment's own content changed: ``need``, ``signal``, ``note``
    (``{"en", "zh"}``), ``channels`` (platform names), ``formats`` (list of ``{"en", "zh"}``).
    Raises :class:`PlaybookError` when need or signal would lose a language."""
    group = playbook.group(tier)
    fields: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in ("need", "signal", "note"):
        if name in changes:
            previous = getattr(group, name)
            try:
                fields[name] = Text.from_value(changes.pop(name), previous)
            except TypeError:
                problems.append(("text_missing", {"field": name}))
    if "channels" in changes:
        fields["channels"] = tuple(str(c).strip() for c in changes.pop("channels") or () if str(c).strip())
    if "formats" in changes:
        try:
            fields["formats"] = tuple(Text.from_value(f) for f in changes.pop("formats") or ())
        except TypeError:
            problems.append(("text_missing", {"field": "formats"}))
    problems += [("unknown_field", {"field": k}) for k in changes]
    for name in ("need", "signal"):
        if name in fields and not fields[name].is_complete():
            problems.append(("text_missing", {"field": name}))
    if problems:
        raise PlaybookError(problems)
    groups = dict(playbook.groups)
    groups[tier] = replace(group, **fields)
    return replace(playbook, groups=groups)


def update_assumptions(playbook: Playbook, **changes: Any) -> Playbook:
    """A new playbook with campaign assumptions changed (``gross_margin=0.45``, ``holdout_share=0.1``);
    raises :class:`PlaybookError` (bilingual) for an unknown name or a value out of range."""
    problems = _assumption_problems(changes)
    if problems:
        raise PlaybookError(problems)
    return replace(playbook, assumptions=replace(playbook.assumptions, **{k: float(v) for k, v in changes.items()}))


def reset_play(playbook: Playbook, tier: str, play_id: str) -> Playbook:
    """A new playbook with one play back at the plan's defaults."""
    return _with_play(playbook, tier, default_playbook().play(tier, play_id))


def edited_plays(playbook: Playbook) -> list[tuple[str, str]]:
    """(group, play id) of every play that differs from the plan's defaults (or is not in them)."""
    defaults = default_playbook()
    out = []
    for key, group in playbook.groups.items():
        base = defaults.groups.get(key)
        for play in group.plays:
            try:
                same = base is not None and base.play(play.id) == play
            except KeyError:
                same = False
            if not same:
                out.append((key, play.id))
    return out


def is_default(playbook: Playbook) -> bool:
    """True when nothing (plays or group texts) differs from the plan's defaults."""
    return playbook.to_dict() == default_playbook().to_dict()


def load_playbook(ws: Any, dataset_id: int) -> Playbook:
    """The dataset's saved playbook (laid over the defaults, see :func:`playbook_from_dict`), else the defaults."""
    return playbook_from_dict(ws.get_setting(dataset_id, SETTINGS_KEY))


def save_playbook(ws: Any, dataset_id: int, playbook: Playbook) -> None:
    """Store the playbook for the dataset; raises :class:`PlaybookError` if any play is invalid."""
    problems: list[Problem] = _assumption_problems(playbook.assumptions.to_dict())
    for group in playbook.groups.values():
        for play in group.plays:
            problems += _play_problems(play)
    if problems:
        raise PlaybookError(problems)
    ws.set_setting(dataset_id, SETTINGS_KEY, playbook.to_dict())


def reset_playbook(ws: Any, dataset_id: int) -> Playbook:
    """Forget the dataset's edits and return the plan's defaults."""
    ws.delete_setting(dataset_id, SETTINGS_KEY)
    return default_playbook()


# --------------------------------------------------------------------------------------
# The campaign calculator (pure)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignEconomics:
    """What one campaign (or a tier's plays together) adds, costs and returns, in CNY.

    The headline numbers are incremental over the tier's baseline (see the module
    docstring): ``incremental_revenue``, ``incremental_profit`` (× gross margin),
    ``net`` (incremental profit − total cost) and ``roi`` (net / total cost, None when
    nothing is spent). ``gross_revenue`` is every responder's orders, including those
    who would have bought anyway — shown only under that name. ``baseline_rate`` is
    None when it could not be measured (then counted as 0 and flagged). ``lift`` is the
    response rate minus the baseline (negative when the play does not beat it; the
    incremental figures then count 0). ``cost_per_responder`` is total cost /
    responders (None when nobody responds) — the cost per reactivated customer for
    recall plays; ``points_roi`` is gross revenue / points cost (the plan wants ≥ 3,
    "1:3"). ``cost_cap`` is the most a responder may cost under the recall rule and
    ``over_cost_cap`` whether this campaign exceeds it. ``flags`` are the
    :data:`FLAG_CODES` that apply (:func:`economics_flags`).
    """

    audience: float
    responders: float
    aov: float
    incremental_revenue: float
    incentive_cost: float
    points_cost: float
    contact_cost: float
    total_cost: float
    net: float
    roi: float | None
    cost_per_responder: float | None
    points_roi: float | None = None
    cost_cap: float | None = None
    over_cost_cap: bool = False
    held_out: float = 0.0
    contacted: float = 0.0
    response_rate: float = 0.0
    baseline_rate: float | None = 0.0
    lift: float = 0.0
    incremental_responders: float = 0.0
    gross_revenue: float = 0.0
    gross_margin: float = DEFAULT_GROSS_MARGIN
    holdout_share: float = 0.0
    incremental_profit: float = 0.0
    flags: tuple[str, ...] = ()


def _check_input(name: str, value: Any, *, rate: bool = False) -> float:
    if not _is_number(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    number = float(value)
    if number < 0:
        raise ValueError(f"{name} cannot be negative ({number:g})")
    if rate and number > 1:
        raise ValueError(f"{name} is a share between 0 and 1 ({number:g})")
    return number


def recall_cost_rule(normal_cost_per_customer: float | None, multiple: float = 3.0) -> float | None:
    """The most a high-value recall may cost per reactivated customer: ``multiple`` × the normal cost.

    None when the normal cost is unknown (e.g. the reference play has a 0% response rate).
    """
    if normal_cost_per_customer is None:
        return None
    return _check_input("normal_cost_per_customer", normal_cost_per_customer) * _check_input("multiple", multiple)


def economics_flags(
    roi: float | None, lift: float, baseline_rate: float | None, contacted: float,
    bounds: PlausibilityBounds = PLAUSIBLE,
) -> tuple[str, ...]:
    """Why a campaign's figures should not be believed as they stand (:data:`FLAG_CODES` order).

    ``roi_high``: incremental ROI above ``bounds.max_roi``; ``lift_high``: response rate
    more than ``bounds.max_lift`` above the baseline; ``no_lift``: the response rate does
    not beat the baseline (the play adds no sales); ``no_baseline``: the tier has no
    history to measure a baseline from (the figures then assume nobody would have bought
    anyway). Nothing is flagged for a campaign that contacts nobody.
    """
    if contacted <= 0:
        return ()
    found = {
        "roi_high": roi is not None and roi > bounds.max_roi + 1e-12,
        "lift_high": lift > bounds.max_lift + 1e-12,
        "no_lift": lift <= 1e-12,
        "no_baseline": baseline_rate is None,
    }
    return tuple(code for code in FLAG_CODES if found[code])


def campaign_economics(
    audience: float,
    response_rate: float,
    aov: float | None,
    incentive: float,
    redemption_rate: float,
    points_per_responder: float,
    contact_cost: float,
    aov_multiplier: float = 1.0,
    cost_cap_multiple: float | None = None,
    *,
    normal_cost_per_responder: float | None = None,
    baseline_rate: float | None = 0.0,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
    holdout_share: float = 0.0,
    bounds: PlausibilityBounds = PLAUSIBLE,
) -> CampaignEconomics:
    """One campaign's incremental revenue and profit over the baseline, its costs, net, ROI and flags.

    ``aov`` is the tier's net average order value (None counts as 0);
    ``baseline_rate`` the share of the audience that buys in the window anyway (None:
    not measurable — counted as 0 and flagged); ``holdout_share`` of the audience is
    not contacted (and costs nothing). With ``cost_cap_multiple`` and
    ``normal_cost_per_responder`` the cap (:func:`recall_cost_rule`) is set and
    ``over_cost_cap`` flags a cost per responder above it. Raises ValueError for
    negative or non-finite inputs, rates above 1 and a holdout of 100%.
    """
    audience = _check_input("audience", audience)
    response_rate = _check_input("response_rate", response_rate, rate=True)
    aov_value = 0.0 if aov is None or (isinstance(aov, float) and math.isnan(aov)) else _check_input("aov", aov)
    incentive = _check_input("incentive", incentive)
    redemption_rate = _check_input("redemption_rate", redemption_rate, rate=True)
    points_per_responder = _check_input("points_per_responder", points_per_responder)
    contact_cost = _check_input("contact_cost", contact_cost)
    aov_multiplier = _check_input("aov_multiplier", aov_multiplier)
    baseline = None if baseline_rate is None else _check_input("baseline_rate", baseline_rate, rate=True)
    gross_margin = _check_input("gross_margin", gross_margin, rate=True)
    holdout_share = _check_input("holdout_share", holdout_share, rate=True)
    if holdout_share >= 1:
        raise ValueError("holdout_share must leave someone to contact (below 1)")

    held_out = float(math.floor(audience * holdout_share + 0.5)) if holdout_share > 0 else 0.0
    contacted = audience - held_out
    responders = contacted * response_rate
    lift = response_rate - (baseline or 0.0)
    incremental_responders = contacted * max(lift, 0.0)
    effective_aov = aov_value * aov_multiplier
    gross_revenue = responders * effective_aov
    revenue = incremental_responders * effective_aov
    profit = revenue * gross_margin
    incentive_cost = responders * redemption_rate * incentive
    points_cost = responders * points_per_responder * POINT_VALUE_CNY
    contact_total = contacted * contact_cost
    total = incentive_cost + points_cost + contact_total
    net = profit - total
    roi = net / total if total > 0 else None
    per_responder = total / responders if responders > 0 else None
    cap = None
    if cost_cap_multiple is not None and normal_cost_per_responder is not None:
        cap = recall_cost_rule(normal_cost_per_responder, cost_cap_multiple)
    return CampaignEconomics(
        audience=audience,
        responders=responders,
        aov=effective_aov,
        incremental_revenue=revenue,
        incentive_cost=incentive_cost,
        points_cost=points_cost,
        contact_cost=contact_total,
        total_cost=total,
        net=net,
        roi=roi,
        cost_per_responder=per_responder,
        points_roi=gross_revenue / points_cost if points_cost > 0 else None,
        cost_cap=cap,
        over_cost_cap=bool(cap is not None and per_responder is not None and per_responder > cap + 1e-9),
        held_out=held_out,
        contacted=contacted,
        response_rate=response_rate,
        baseline_rate=baseline,
        lift=lift,
        incremental_responders=incremental_responders,
        gross_revenue=gross_revenue,
        gross_margin=gross_margin,
        holdout_share=holdout_share,
        incremental_profit=profit,
        flags=economics_flags(roi, lift, baseline, contacted, bounds),
    )


def sum_economics(parts: Sequence[CampaignEconomics], cost_cap: float | None = None) -> CampaignEconomics:
    """Several campaigns added up (a tier's total): audiences, buyers, revenue, profit and costs summed,
    ratios recomputed; ``aov`` is gross revenue per responder, ``response_rate`` and ``baseline_rate`` are
    per contacted customer (the baseline None if any part's is unknown), ``lift`` their difference.
    ``over_cost_cap`` is True if any part is over; ``flags`` are every part's flags."""
    audience = sum(p.audience for p in parts)
    contacted = sum(p.contacted for p in parts)
    responders = sum(p.responders for p in parts)
    gross_revenue = sum(p.gross_revenue for p in parts)
    revenue = sum(p.incremental_revenue for p in parts)
    profit = sum(p.incremental_profit for p in parts)
    incentive_cost = sum(p.incentive_cost for p in parts)
    points_cost = sum(p.points_cost for p in parts)
    contact_cost = sum(p.contact_cost for p in parts)
    total = incentive_cost + points_cost + contact_cost
    net = profit - total
    known = all(p.baseline_rate is not None for p in parts)
    baseline_buyers = sum(p.contacted * (p.baseline_rate or 0.0) for p in parts)
    response = responders / contacted if contacted > 0 else 0.0
    baseline = (baseline_buyers / contacted if contacted > 0 else 0.0) if known else None
    flags = {code for p in parts for code in p.flags}
    return CampaignEconomics(
        audience=audience,
        responders=responders,
        aov=gross_revenue / responders if responders > 0 else 0.0,
        incremental_revenue=revenue,
        incentive_cost=incentive_cost,
        points_cost=points_cost,
        contact_cost=contact_cost,
        total_cost=total,
        net=net,
        roi=net / total if total > 0 else None,
        cost_per_responder=total / responders if responders > 0 else None,
        points_roi=gross_revenue / points_cost if points_cost > 0 else None,
        cost_cap=cost_cap,
        over_cost_cap=any(p.over_cost_cap for p in parts),
        held_out=sum(p.held_out for p in parts),
        contacted=contacted,
        response_rate=response,
        baseline_rate=baseline,
        lift=response - (baseline or 0.0),
        incremental_responders=sum(p.incremental_responders for p in parts),
        gross_revenue=gross_revenue,
        gross_margin=profit / revenue if revenue > 0 else (parts[0].gross_margin if parts else DEFAULT_GROSS_MARGIN),
        holdout_share=sum(p.held_out for p in parts) / audience if audience > 0 else 0.0,
        incremental_profit=profit,
        flags=tuple(code for code in FLAG_CODES if code in flags),
    )


def flag_reasons(economics: CampaignEconomics, lang: str = "en", bounds: PlausibilityBounds = PLAUSIBLE) -> list[str]:
    """One sentence per flag of ``economics``, with its numbers, in ``lang`` (empty list = nothing to flag)."""
    values = {
        "roi": pct(economics.roi, decimals=0),
        "max_roi": pct(bounds.max_roi, decimals=0),
        "response": pct(economics.response_rate),
        "baseline": pct(economics.baseline_rate),
        "lift": points(economics.lift, lang),
        "max_lift": points(bounds.max_lift, lang, decimals=0).lstrip("+"),
        "days": BASELINE_DAYS,
    }
    return [t(f"playbooks.flag.{code}", lang, **values) for code in economics.flags]


def cost_per_responder(inputs: CalculatorInputs) -> float | None:
    """A play's cost per responder, which does not depend on the audience size:
    contact cost / response rate + redemption rate × incentive + points × 0.01 (None at a 0% response rate)."""
    return campaign_economics(
        1.0, inputs.response_rate, 0.0, inputs.incentive, inputs.redemption_rate,
        inputs.points_per_responder, inputs.contact_cost, inputs.aov_multiplier,
    ).cost_per_responder


def normal_recall_cost(playbook: Playbook) -> float | None:
    """The normal customer's recall cost per reactivated customer: the recall rule's reference play
    (the dormant-user coupon by default). None if that play is missing or has a 0% response rate."""
    rule = playbook.recall_rule
    try:
        play = playbook.play(rule.reference_group, rule.reference_play)
    except KeyError:
        return None
    return cost_per_responder(play.calculator)


def high_value_recall_cap(playbook: Playbook) -> float | None:
    """The recall rule's cap per reactivated customer (3 × the normal recall cost by default)."""
    return recall_cost_rule(normal_recall_cost(playbook), playbook.recall_rule.multiple)


# --------------------------------------------------------------------------------------
# Who: tier profiles (DuckDB, through lib.segments' classification)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierProfile:
    """Who is in a tier (or segment) at the as-of date.

    ``aov`` = revenue / orders of the members, all orders up to the as-of date
    (as on the Segments page); ``repurchase_rate`` = members with ≥ 2 orders in
    the window / members; ``share_revenue`` is of window revenue. The 4-week
    comparison classifies customers at ``compare_as_of`` (as-of − 28 days) with
    the thresholds frozen at the as-of date (:func:`lib.segments.resolve_cuts`),
    so a change means customers moved, not the yardstick: ``member_change`` =
    ``members_now_frozen`` − ``members_4_weeks_ago``, both under those frozen
    cut-offs. For tiers ``members_now_frozen`` always equals ``members``; for RFM
    segments it can differ a lot when F collapses (many one-time buyers: NTILE
    spreads tied customers over several scores by id, frozen edges put them all
    in the lowest), so show ``member_change`` rather than members − members 4
    weeks ago.
    ``silent_90d`` = customers who were in the group 90 days before the as-of
    date and have not ordered since (the audience of the high-value "silent 3
    months" play). Shares and rates are None when undefined.

    The baseline the plays are measured against (:data:`BASELINE_DAYS` = 28 days):
    ``baseline_buyers`` of the ``members_4_weeks_ago`` (the tier at the compare date,
    cut-offs frozen) ordered between the compare date (exclusive) and the as-of date
    (inclusive); ``baseline_rate`` is their share. For the "silent 3 months" audience
    the same is measured one window earlier: ``silent_baseline_customers`` were in the
    group 90 days before the compare date and had not ordered since by then;
    ``silent_baseline_buyers`` of them ordered in the 28 days that followed.
    """

    group: str
    scheme: str
    as_of: date | None
    members: int
    share_customers: float | None
    window_revenue: float
    share_revenue: float | None
    revenue: float
    orders: int
    aov: float | None
    repurchase_rate: float | None
    median_days_since_last_order: float | None
    compare_as_of: date | None
    members_now_frozen: int
    members_4_weeks_ago: int
    member_change: int
    member_change_pct: float | None
    silent_90d: int
    baseline_buyers: int = 0
    silent_baseline_customers: int = 0
    silent_baseline_buyers: int = 0

    @property
    def baseline_rate(self) -> float | None:
        """Share of the tier's members 28 days ago who ordered since (None when there were none)."""
        return self.baseline_buyers / self.members_4_weeks_ago if self.members_4_weeks_ago else None

    @property
    def silent_baseline_rate(self) -> float | None:
        """The same share for customers silent for 90 days, one window earlier (None when there were none)."""
        return self.silent_baseline_buyers / self.silent_baseline_customers if self.silent_baseline_customers else None


def _resolve_settings(ws: Any, dataset_id: Any, settings: seg.SegmentSettings | None) -> seg.SegmentSettings:
    if settings is not None:
        return settings
    if isinstance(dataset_id, int) and not isinstance(dataset_id, bool):
        return seg.load_settings(ws, dataset_id)
    return seg.SegmentSettings()


def _optional(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def all_tier_profiles(
    ws: Any,
    dataset_id: seg.SourceLike,
    scheme: str = "plan",
    as_of: date | datetime | str | None = None,
    settings: seg.SegmentSettings | None = None,
) -> dict[str, TierProfile]:
    """Every tier's (``plan``) or segment's (``rfm``) profile, in display order, from one SQL query
    (plus the query that resolves the frozen cut-offs).

    ``settings`` default to the dataset's saved segmentation settings; ``as_of``
    to the last purchase day. An empty dataset gives zero members everywhere.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    settings = _resolve_settings(ws, dataset_id, settings)
    src, settings, as_of_d = seg.prepare_run(ws, dataset_id, settings, as_of)
    order = list(seg.group_order(scheme))
    column = "tier" if scheme == "plan" else "segment"
    rows: dict[str, dict[str, Any]] = {}
    compare = as_of_d - timedelta(days=CHANGE_DAYS) if as_of_d else None
    if as_of_d is not None:
        cuts = seg.resolve_cuts(ws, src, settings, as_of_d)
        frozen_mode = "cuts" if cuts.r_cuts else "rank"
        # Current members exactly as lib.segments counts them (rank quintiles; the M edges passed in
        # are the ones resolved at this date, so they equal the data-derived ones) …
        sql_now = seg.classify_sql(src, score_mode="rank", m_cut_mode="params")
        # … and three classifications with every cut-off frozen at the as-of date.
        sql_now_frozen = seg.classify_sql(src, score_mode=frozen_mode, m_cut_mode="params")
        sql_before = seg.classify_sql(src, sfx="_b4", score_mode=frozen_mode, m_cut_mode="params")
        sql_silent = seg.classify_sql(src, sfx="_s", score_mode=frozen_mode, m_cut_mode="params")
        # The baseline of the "silent 3 months" audience: the same selection one window earlier.
        sql_silent_before = seg.classify_sql(src, sfx="_sb", score_mode=frozen_mode, m_cut_mode="params")
        params = {
            **src.params,
            **seg.date_params(as_of_d, settings.window_days),
            **seg.date_params(compare, settings.window_days, "_b4"),  # type: ignore[arg-type]
            **seg.date_params(as_of_d - timedelta(days=SILENT_DAYS), settings.window_days, "_s"),
            **seg.date_params(compare - timedelta(days=SILENT_DAYS), settings.window_days, "_sb"),  # type: ignore[operator]
            **seg.threshold_params(settings, cuts),
            "profile_groups": order,
            "silent_days": SILENT_DAYS,
        }
        df = seg.run_query(
            ws,
            f"""
            WITH now_c AS ({sql_now}),
            now_f AS ({sql_now_frozen}),
            before_c AS ({sql_before}),
            silent_c AS ({sql_silent}),
            silent_b AS ({sql_silent_before}),
            activity AS (
                -- per customer known at the compare date: ordered in the baseline window (compare date,
                -- as-of date] (their last order by the as-of date is after the compare date), and silent
                -- for 90 days at the compare date (the silent audience's baseline)
                SELECT b.customer_id, c.last_order_date > CAST($as_of_b4 AS DATE) AS bought,
                       b.days_since_last_order < $silent_days AS active_before
                FROM before_c AS b JOIN now_c AS c USING (customer_id)
            ),
            grp AS (SELECT unnest(CAST($profile_groups AS VARCHAR[])) AS g),
            stats AS (
                SELECT "{column}" AS g, count(*) AS members, sum(window_revenue) AS window_revenue,
                       sum(revenue) AS revenue, sum(orders) AS orders,
                       count(*) FILTER (WHERE window_orders >= 2) AS repeaters,
                       median(days_since_last_order) AS median_days
                FROM now_c GROUP BY ALL
            ),
            nf AS (SELECT "{column}" AS g, count(*) AS n FROM now_f GROUP BY ALL),
            bf AS (
                SELECT b."{column}" AS g, count(*) AS n, count(*) FILTER (WHERE a.bought) AS buyers
                FROM before_c AS b LEFT JOIN activity AS a USING (customer_id)
                GROUP BY ALL
            ),
            sl AS (
                SELECT s."{column}" AS g, count(*) AS n
                FROM silent_c AS s JOIN now_c AS c ON s.customer_id = c.customer_id
                WHERE c.days_since_last_order >= $silent_days
                GROUP BY ALL
            ),
            sb AS (
                SELECT s."{column}" AS g, count(*) AS n, count(*) FILTER (WHERE a.bought) AS buyers
                FROM silent_b AS s LEFT JOIN activity AS a USING (customer_id)
                WHERE NOT coalesce(a.active_before, FALSE)
                GROUP BY ALL
            )
            SELECT grp.g,
                   coalesce(stats.members, 0) AS members, coalesce(stats.window_revenue, 0) AS window_revenue,
                   coalesce(stats.revenue, 0) AS revenue, coalesce(stats.orders, 0) AS orders,
                   coalesce(stats.repeaters, 0) AS repeaters, stats.median_days,
                   coalesce(nf.n, 0) AS members_now_frozen, coalesce(bf.n, 0) AS members_before,
                   coalesce(sl.n, 0) AS silent, coalesce(bf.buyers, 0) AS baseline_buyers,
                   coalesce(sb.n, 0) AS silent_baseline_customers, coalesce(sb.buyers, 0) AS silent_baseline_buyers
            FROM grp
            LEFT JOIN stats ON stats.g = grp.g
            LEFT JOIN nf ON nf.g = grp.g
            LEFT JOIN bf ON bf.g = grp.g
            LEFT JOIN sl ON sl.g = grp.g
            LEFT JOIN sb ON sb.g = grp.g
            """,
            params,
        )
        rows = {str(r["g"]): r for r in df.to_dict("records")}
    total_members = sum(int(r["members"]) for r in rows.values())
    total_window_revenue = sum(float(r["window_revenue"]) for r in rows.values())
    profiles: dict[str, TierProfile] = {}
    for key in order:
        r = rows.get(key, {})
        members = int(r.get("members", 0) or 0)
        orders = int(r.get("orders", 0) or 0)
        revenue = float(r.get("revenue", 0.0) or 0.0)
        window_revenue = float(r.get("window_revenue", 0.0) or 0.0)
        before = int(r.get("members_before", 0) or 0)
        now_frozen = int(r.get("members_now_frozen", 0) or 0)
        change = now_frozen - before
        profiles[key] = TierProfile(
            group=key,
            scheme=scheme,
            as_of=as_of_d,
            members=members,
            share_customers=members / total_members if total_members else None,
            window_revenue=window_revenue,
            share_revenue=window_revenue / total_window_revenue if total_window_revenue else None,
            revenue=revenue,
            orders=orders,
            aov=revenue / orders if orders else None,
            repurchase_rate=int(r.get("repeaters", 0) or 0) / members if members else None,
            median_days_since_last_order=_optional(r.get("median_days")),
            compare_as_of=compare,
            members_now_frozen=now_frozen,
            members_4_weeks_ago=before,
            member_change=change,
            member_change_pct=change / before if before else None,
            silent_90d=int(r.get("silent", 0) or 0),
            baseline_buyers=int(r.get("baseline_buyers", 0) or 0),
            silent_baseline_customers=int(r.get("silent_baseline_customers", 0) or 0),
            silent_baseline_buyers=int(r.get("silent_baseline_buyers", 0) or 0),
        )
    return profiles


def tier_profile(
    ws: Any,
    dataset_id: seg.SourceLike,
    tier: str,
    scheme: str = "plan",
    as_of: date | datetime | str | None = None,
    settings: seg.SegmentSettings | None = None,
) -> TierProfile:
    """One tier's (or segment's) profile; see :func:`all_tier_profiles` (which computes them all at once)."""
    profiles = all_tier_profiles(ws, dataset_id, scheme, as_of, settings)
    if tier not in profiles:
        raise KeyError(f"{tier!r} is not a {'tier' if scheme == 'plan' else 'segment'}")
    return profiles[tier]


# --------------------------------------------------------------------------------------
# Money per play and per tier
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayResult:
    """A play's calculator result for its tier's profile."""

    group: str
    play: Play
    audience: int
    aov: float | None
    economics: CampaignEconomics


@dataclass(frozen=True)
class TierSummary:
    """All plays of a tier with their economics, the tier total, and the recall rule's numbers.

    ``cost_cap`` is set for groups under the recall rule (high-value; Champions,
    Can't Lose Them); ``over_cap`` lists the plays whose cost per responder exceeds it;
    ``flagged`` the plays with any :data:`FLAG_CODES` (figures outside :data:`PLAUSIBLE`, no lift, no baseline).
    """

    group: str
    profile: TierProfile | None
    plays: tuple[PlayResult, ...]
    total: CampaignEconomics
    normal_recall_cost: float | None
    cost_cap: float | None
    over_cap: tuple[str, ...]
    flagged: tuple[str, ...] = ()


def play_audience(play: Play, profile: TierProfile | None) -> int:
    """Customers a play contacts: the members (or the 90-day-silent former members, for that basis)
    × the audience share, rounded to whole customers."""
    if profile is None:
        return 0
    base = profile.silent_90d if play.audience_basis == "silent_90d" else profile.members
    return int(math.floor(base * play.calculator.audience_share + 0.5))


def play_baseline(play: Play, profile: TierProfile | None) -> float | None:
    """The share of a play's audience that buys in the window anyway: the tier's baseline rate, or the
    90-day-silent customers' for that audience (None when the history cannot measure it)."""
    if profile is None:
        return None
    return profile.silent_baseline_rate if play.audience_basis == "silent_90d" else profile.baseline_rate


def play_economics(
    play: Play,
    profile: TierProfile | None,
    *,
    group: str = "",
    cost_cap_multiple: float | None = None,
    normal_cost_per_responder: float | None = None,
    assumptions: CampaignAssumptions | None = None,
) -> PlayResult:
    """The calculator run for one play on a tier's profile (audience, net AOV and baseline from the data;
    gross margin and holdout from ``assumptions``, the defaults when not given)."""
    assumptions = assumptions or CampaignAssumptions()
    audience = play_audience(play, profile)
    aov = profile.aov if profile is not None else None
    c = play.calculator
    economics = campaign_economics(
        audience, c.response_rate, aov, c.incentive, c.redemption_rate, c.points_per_responder,
        c.contact_cost, c.aov_multiplier, cost_cap_multiple, normal_cost_per_responder=normal_cost_per_responder,
        baseline_rate=play_baseline(play, profile), gross_margin=assumptions.gross_margin,
        holdout_share=assumptions.holdout_share,
    )
    return PlayResult(group=group or (profile.group if profile else ""), play=play, audience=audience, aov=aov,
                      economics=economics)


def tier_summary(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile] | TierProfile | None,
    tier: str,
) -> TierSummary:
    """Every play of ``tier`` (a tier or segment key) run through the calculator, and their total.

    ``profiles`` is :func:`all_tier_profiles`' result (or the tier's own
    profile). A missing profile counts as an empty tier.
    """
    group = playbook.group(tier)
    if isinstance(profiles, TierProfile):
        profile: TierProfile | None = profiles if profiles.group == tier else None
    else:
        profile = (profiles or {}).get(tier)
    normal = normal_recall_cost(playbook)
    multiple = group.cost_cap_multiple
    cap = recall_cost_rule(normal, multiple) if multiple is not None else None
    results = tuple(
        play_economics(p, profile, group=tier, cost_cap_multiple=multiple, normal_cost_per_responder=normal,
                       assumptions=playbook.assumptions)
        for p in group.plays
    )
    total = sum_economics([r.economics for r in results], cost_cap=cap)
    return TierSummary(
        group=tier,
        profile=profile,
        plays=results,
        total=total,
        normal_recall_cost=normal,
        cost_cap=cap,
        over_cap=tuple(r.play.id for r in results if r.economics.over_cost_cap),
        flagged=tuple(r.play.id for r in results if r.economics.flags),
    )


# --------------------------------------------------------------------------------------
# When: weeks of the 13-week plan
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayWeeks:
    """The weeks a play runs: from the timeline's tasks for its tier (``source="timeline"``, with their
    ids) or the play's default weeks (``source="default"``)."""

    start: int
    end: int
    source: str
    task_ids: tuple[str, ...] = ()

    def text(self, lang: str = "en") -> str:
        """``"W5–W8"`` / ``"第5–8周"`` (one week alone when start = end)."""
        if self.start == self.end:
            return t("playbooks.week_one", lang, week=self.start)
        return t("playbooks.weeks_range", lang, start=self.start, end=self.end)


def group_tier(group: GroupContent) -> str:
    """The plan tier whose timeline tasks schedule this group's plays (itself for tiers)."""
    return group.key if group.scheme == "plan" else (group.like_tier or "")


def play_weeks(playbook: Playbook, tasks: Sequence[Task] | None = None) -> dict[str, dict[str, PlayWeeks]]:
    """``{group: {play id: PlayWeeks}}`` for every tier and segment.

    With ``tasks`` (a saved timeline plan): a tier's plays run over the span of
    that plan's tasks for the tier (first start week to last end week; segments
    use their ``like_tier``); a tier the plan has no task for (lapsing, by
    default) keeps the plays' default weeks. Without tasks every play keeps its
    default weeks, which follow the default plan's tier campaigns
    (:func:`lib.timeline.default_plan`).
    """
    spans: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    for task in tasks or ():
        if not task.tier:
            continue
        start, end = int(task.start_week), int(task.end_week)
        if start > end:
            start, end = end, start
        if task.tier in spans:
            s, e, ids = spans[task.tier]
            spans[task.tier] = (min(s, start), max(e, end), (*ids, task.id))
        else:
            spans[task.tier] = (start, end, (task.id,))
    out: dict[str, dict[str, PlayWeeks]] = {}
    for key, group in playbook.groups.items():
        span = spans.get(group_tier(group))
        weeks: dict[str, PlayWeeks] = {}
        for play in group.plays:
            if span is not None:
                weeks[play.id] = PlayWeeks(span[0], span[1], "timeline", span[2])
            else:
                weeks[play.id] = PlayWeeks(play.weeks[0], play.weeks[1], "default")
        out[key] = weeks
    return out


def plan_tasks(ws: Any, dataset_id: int, plan_name: str | None = None) -> tuple[list[Task], str] | None:
    """A saved timeline plan's tasks and name: ``plan_name`` if given, else the most recently saved
    plan; None when the dataset has no saved plan (the playbooks then use their default weeks)."""
    if plan_name:
        plan = load_plan(ws, dataset_id, plan_name)
        return list(plan.tasks), plan.name
    latest = None
    for name in list_plans(ws, dataset_id):
        plan = load_plan(ws, dataset_id, name)
        if latest is None or plan.saved_at > latest.saved_at:
            latest = plan
    return (list(latest.tasks), latest.name) if latest is not None else None


# --------------------------------------------------------------------------------------
# Tables for the page and the export
# --------------------------------------------------------------------------------------

#: Columns of :func:`playbook_table`, with the export's number format for each.
PLAYBOOK_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("group", None),
    ("need", None),
    ("signal", None),
    ("channels", None),
    ("formats", None),
    ("play", None),
    ("description", None),
    ("origin", None),
    ("kpi", None),
    ("kpi_target", None),
    ("target_source", None),
    ("weeks", None),
    ("weeks_source", None),
    ("audience", "int"),
    ("held_out", "int"),
    ("contacted", "int"),
    ("aov", "money"),
    ("baseline_rate", "percent"),
    ("response_rate", "percent"),
    ("lift", "percent"),
    ("gross_margin", "percent"),
    ("holdout_share", "percent"),
    ("incentive", "money"),
    ("redemption_rate", "percent"),
    ("points_per_responder", "int"),
    ("contact_cost", "money"),
    ("aov_multiplier", "number"),
    ("audience_share", "percent"),
    ("responders", "number"),
    ("incremental_responders", "int"),
    ("incremental_revenue", "money"),
    ("incremental_profit", "money"),
    ("gross_revenue", "money"),
    ("incentive_cost", "money"),
    ("points_cost", "money"),
    ("contact_cost_total", "money"),
    ("total_cost", "money"),
    ("net", "money"),
    ("roi", ROI_FORMAT_KIND),
    ("cost_per_responder", "money"),
    ("cost_cap", "money"),
    ("over_cost_cap", None),
    ("warnings", None),
)

#: Columns of :func:`tier_table`, with their number formats.
TIER_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("group", None),
    ("members", "int"),
    ("share_customers", "percent"),
    ("share_revenue", "percent"),
    ("aov", "money"),
    ("repurchase_rate", "percent"),
    ("median_days_since_last_order", "number"),
    ("member_change", "int"),
    ("member_change_pct", "percent"),
    ("silent_90d", "int"),
    ("baseline_rate", "percent"),
    ("plays", "int"),
    ("contacted", "int"),
    ("incremental_responders", "int"),
    ("incremental_revenue", "money"),
    ("total_cost", "money"),
    ("net", "money"),
    ("roi", ROI_FORMAT_KIND),
    ("cost_per_responder", "money"),
    ("cost_cap", "money"),
    ("flagged_plays", "int"),
)


#: The calculator's formulas, in the order the workbook's About sheet and the page list them.
FORMULA_KEYS: tuple[str, ...] = (
    "holdout", "responders", "baseline", "lift", "revenue", "gross_revenue", "profit", "incentive", "points",
    "contact", "net", "roi", "per_responder", "independent",
)


def column_label(key: str, lang: str = "en") -> str:
    """The header of a playbook/tier table column."""
    return t(f"playbooks.col.{key}", lang)


def _list_sep(lang: str) -> str:
    return "、" if normalize_lang(lang) == "zh" else ", "


def playbook_table(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile],
    lang: str = "en",
    *,
    scheme: str = "plan",
    tasks: Sequence[Task] | None = None,
    settings: seg.SegmentSettings | None = None,
    localised: bool = False,
) -> pd.DataFrame:
    """One row per play of every tier (or segment): content, weeks, calculator inputs and results.

    Column keys are :data:`PLAYBOOK_COLUMNS`; ``localised=True`` renames them to
    headers in ``lang``. Texts are in ``lang``; numbers stay numbers.
    """
    settings = settings or seg.SegmentSettings()
    weeks = play_weeks(playbook, tasks)
    sep = _list_sep(lang)
    rows = []
    for group in playbook.groups_for(scheme):
        summary = tier_summary(playbook, profiles, group.key)
        for result in summary.plays:
            play, econ = result.play, result.economics
            w = weeks[group.key][play.id]
            rows.append(
                {
                    "group": group.label(lang),
                    "need": group.need.get(lang),
                    "signal": group.signal_text(lang, settings.thresholds, settings.window_days),
                    "channels": sep.join(group.channel_names(lang)),
                    "formats": sep.join(group.format_names(lang)),
                    "play": play.name.get(lang),
                    "description": play.description.get(lang),
                    "origin": t(f"playbooks.origin.{play.origin}", lang),
                    "kpi": play.kpi.get(lang),
                    "kpi_target": play.kpi_target.text.get(lang),
                    "target_source": t(f"playbooks.target_source.{play.kpi_target.source}", lang),
                    "weeks": w.text(lang),
                    "weeks_source": t(f"playbooks.weeks_source.{w.source}", lang),
                    "audience": result.audience,
                    "held_out": econ.held_out,
                    "contacted": econ.contacted,
                    "aov": result.aov,
                    "baseline_rate": econ.baseline_rate,
                    "lift": econ.lift,
                    "gross_margin": econ.gross_margin,
                    "holdout_share": econ.holdout_share,
                    **{name: getattr(play.calculator, name) for name in CALCULATOR_FIELDS},
                    "responders": econ.responders,
                    "incremental_responders": econ.incremental_responders,
                    "incremental_revenue": econ.incremental_revenue,
                    "incremental_profit": econ.incremental_profit,
                    "gross_revenue": econ.gross_revenue,
                    "incentive_cost": econ.incentive_cost,
                    "points_cost": econ.points_cost,
                    "contact_cost_total": econ.contact_cost,
                    "total_cost": econ.total_cost,
                    "net": econ.net,
                    "roi": econ.roi,
                    "cost_per_responder": econ.cost_per_responder,
                    "cost_cap": econ.cost_cap,
                    "over_cost_cap": t("playbooks.over_cap_flag", lang, multiple=f"{group.cost_cap_multiple:g}")
                    if econ.over_cost_cap
                    else "",
                    "warnings": " ".join(flag_reasons(econ, lang)),
                }
            )
    frame = pd.DataFrame(rows, columns=[k for k, _ in PLAYBOOK_COLUMNS])
    if localised:
        frame.columns = [column_label(k, lang) for k, _ in PLAYBOOK_COLUMNS]
    return frame


def tier_table(
    playbook: Playbook,
    profiles: Mapping[str, TierProfile],
    lang: str = "en",
    *,
    scheme: str = "plan",
    localised: bool = False,
) -> pd.DataFrame:
    """One row per tier (or segment): its profile and the total of its plays (:data:`TIER_COLUMNS`)."""
    rows = []
    for group in playbook.groups_for(scheme):
        summary = tier_summary(playbook, profiles, group.key)
        p, total = summary.profile, summary.total
        rows.append(
            {
                "group": group.label(lang),
                "members": p.members if p else 0,
                "share_customers": p.share_customers if p else None,
                "share_revenue": p.share_revenue if p else None,
                "aov": p.aov if p else None,
                "repurchase_rate": p.repurchase_rate if p else None,
                "median_days_since_last_order": p.median_days_since_last_order if p else None,
                "member_change": p.member_change if p else 0,
                "member_change_pct": p.member_change_pct if p else None,
                "silent_90d": p.silent_90d if p else 0,
                "baseline_rate": p.baseline_rate if p else None,
                "plays": len(summary.plays),
                "contacted": total.contacted,
                "incremental_responders": total.incremental_responders,
                "incremental_revenue": total.incremental_revenue,
                "total_cost": total.total_cost,
                "net": total.net,
                "roi": total.roi,
                "cost_per_responder": total.cost_per_responder,
                "cost_cap": summary.cost_cap,
                "flagged_plays": len(summary.flagged),
            }
        )
    frame = pd.DataFrame(rows, columns=[k for k, _ in TIER_COLUMNS])
    if localised:
        frame.columns = [column_label(k, lang) for k, _ in TIER_COLUMNS]
    return frame


# --------------------------------------------------------------------------------------
# The operations workbook
# --------------------------------------------------------------------------------------


def _about_rows(
    *,
    lang: str,
    dataset_name: str,
    as_of: date | None,
    settings: seg.SegmentSettings,
    scheme: str,
    playbook: Playbook,
    weeks_source: str,
    total_customers: int,
    warnings: Sequence[str],
    notes: Sequence[str],
    generated_at: datetime,
) -> list[list[Any]]:
    normal = normal_recall_cost(playbook)
    cap = recall_cost_rule(normal, playbook.recall_rule.multiple)
    edited = edited_plays(playbook)
    rows: list[list[Any]] = [
        [t("playbooks.about.title", lang)],
        [t("playbooks.about.dataset", lang), dataset_name],
        [t("playbooks.about.as_of", lang), as_of.isoformat() if as_of else "—"],
        [t("playbooks.about.compare", lang),
         (as_of - timedelta(days=CHANGE_DAYS)).isoformat() if as_of else "—"],
        [t("playbooks.about.window", lang), t("playbooks.about.window_value", lang, days=settings.window_days)],
        [t("playbooks.about.scheme", lang), t(f"segments.scheme.{scheme}", lang)],
        [t("playbooks.about.customers", lang), total_customers],
        [t("playbooks.about.content", lang),
         t("playbooks.about.content_value", lang, version=playbook.version, edited=len(edited))],
        [t("playbooks.about.weeks", lang), weeks_source],
        [t("playbooks.about.generated", lang), generated_at.strftime("%Y-%m-%d %H:%M")],
        [t("playbooks.about.language", lang), t(f"playbooks.lang_name.{normalize_lang(lang)}", lang)],
        [],
        [t("playbooks.about.source_title", lang)],
        [t("playbooks.about.source", lang), playbook.about.get(lang)],
        [],
        [t("playbooks.about.calculator", lang)],
    ]
    for key in FORMULA_KEYS:
        rows.append([t(f"playbooks.formula.{key}.label", lang), t(f"playbooks.formula.{key}", lang, days=BASELINE_DAYS)])
    assumptions = playbook.assumptions
    rows += [
        [],
        [t("playbooks.about.assumptions", lang)],
        [field_label("gross_margin", lang), pct(assumptions.gross_margin)],
        [field_label("holdout_share", lang), pct(assumptions.holdout_share)],
        [t("playbooks.about.baseline_window", lang), t("playbooks.about.window_value", lang, days=BASELINE_DAYS)],
        [t("playbooks.about.bounds", lang), t("playbooks.about.bounds_value", lang,
                                             roi=pct(PLAUSIBLE.max_roi, decimals=0),
                                             lift=points(PLAUSIBLE.max_lift, lang, decimals=0).lstrip("+"))],
    ]
    rows += [
        [],
        [t("playbooks.about.recall_rule", lang)],
        [t("playbooks.about.rule", lang), playbook.recall_rule.text.get(lang)],
        [t("playbooks.about.normal_cost", lang), money(normal, lang, decimals=2)],
        [t("playbooks.about.cost_cap", lang), money(cap, lang, decimals=2)],
        [],
        [t("playbooks.about.tiers", lang)],
    ]
    for item in seg.tier_definitions(settings.thresholds, lang):
        rows.append([item["label"], item["definition"]])
    lapsing = playbook.groups.get("lapsing")
    if lapsing is not None and lapsing.note is not None:
        rows.append([t("playbooks.about.lapsing_note", lang), lapsing.note_text(lang, settings.thresholds)])
    if warnings or notes:
        rows += [[], [t("playbooks.about.notes", lang)]]
        rows += [["•", text] for text in [*warnings, *notes]]
    return rows


def playbook_workbook(
    ws: Any,
    dataset_id: int,
    lang: str = "en",
    settings: seg.SegmentSettings | None = None,
    *,
    scheme: str | None = None,
    as_of: date | datetime | str | None = None,
    playbook: Playbook | None = None,
    tasks: Sequence[Task] | None = None,
    plan_name: str | None = None,
    dataset_name: str | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The playbook for the operations team as .xlsx bytes, every label in ``lang``.

    Sheets: About (dataset, dates, scheme, where the weeks come from, the
    calculator's formulas, the recall rule with its numbers, tier definitions,
    data warnings); Playbook (one row per play: tier, need, signal, channels,
    formats, play, KPI and target, weeks, calculator inputs and results); Tiers
    (profiles and plan totals); then one member list per tier/segment (every
    group, empty ones with headers only), sorted by spend in the window. Written
    by :func:`lib.exports.workbook_bytes`: no formula in any cell.

    Defaults: ``settings`` the dataset's saved segmentation settings,
    ``scheme`` theirs, ``playbook`` the dataset's saved playbook, ``tasks`` the
    saved timeline plan ``plan_name`` (else the latest saved plan, else the
    plays' default weeks).
    """
    lang = normalize_lang(lang)
    settings = _resolve_settings(ws, dataset_id, settings)
    scheme = scheme or settings.scheme
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    playbook = playbook or load_playbook(ws, dataset_id)
    as_of_d = seg.resolve_as_of(ws, seg.as_source(dataset_id, ws), as_of)
    if dataset_name is None:
        try:
            dataset_name = ws.get_dataset(dataset_id).name
        except Exception:  # a plain connection or an unknown id: name it by its id
            dataset_name = str(dataset_id)
    if tasks is None:
        found = plan_tasks(ws, dataset_id, plan_name)
        if found is not None:
            tasks, plan_name = found
    weeks_source = (
        t("playbooks.about.weeks_plan", lang, name=plan_name or "—")
        if tasks is not None
        else t("playbooks.about.weeks_default", lang)
    )
    profiles = all_tier_profiles(ws, dataset_id, scheme, as_of_d, settings)
    warnings = seg.data_warnings(ws, dataset_id, as_of_d, settings, lang)

    column = "tier" if scheme == "plan" else "segment"
    members = (
        seg.segment_members(ws, dataset_id, settings, as_of_d, scheme=scheme, order_by="window_revenue", limit=None)
        if as_of_d is not None
        else pd.DataFrame()
    )
    notes: list[str] = []
    member_sheets: list[SheetSpec] = []
    for group in playbook.groups_for(scheme):
        label = group.label(lang)
        part = members[members[column] == group.key] if len(members) else members
        if len(part) > MAX_DATA_ROWS:
            notes.append(t("playbooks.about.truncated", lang, sheet=label, shown=f"{MAX_DATA_ROWS:,}", total=f"{len(part):,}"))
            part = part.head(MAX_DATA_ROWS)
        if len(part):
            frame, formats = localised_customers(part, lang)
        else:
            frame, formats = localised_customers(_empty_members(), lang)
        member_sheets.append(SheetSpec(title=label, frame=frame, formats=formats))

    table = playbook_table(playbook, profiles, lang, scheme=scheme, tasks=tasks, settings=settings, localised=True)
    tiers = tier_table(playbook, profiles, lang, scheme=scheme, localised=True)
    about = _about_rows(
        lang=lang,
        dataset_name=dataset_name,
        as_of=as_of_d,
        settings=settings,
        scheme=scheme,
        playbook=playbook,
        weeks_source=weeks_source,
        total_customers=sum(p.members for p in profiles.values()),
        warnings=warnings,
        notes=notes,
        generated_at=generated_at or datetime.now(),
    )
    sheets = [
        SheetSpec(title=t("playbooks.sheet.about", lang), rows=about),
        SheetSpec(
            title=t("playbooks.sheet.playbook", lang),
            frame=table,
            formats={column_label(k, lang): f for k, f in PLAYBOOK_COLUMNS if f},
        ),
        SheetSpec(
            title=t("playbooks.sheet.tiers" if scheme == "plan" else "playbooks.sheet.segments", lang),
            frame=tiers,
            formats={column_label(k, lang): f for k, f in TIER_COLUMNS if f},
        ),
        *member_sheets,
    ]
    return workbook_bytes(sheets)


def _empty_members() -> pd.DataFrame:
    """A customer frame with no rows but every column the member sheets localise."""
    columns = {
        "customer_id": "object", "tier": "object", "segment": "object", "days_since_last_order": "int64",
        "window_orders": "int64", "window_revenue": "float64", "orders": "int64", "revenue": "float64",
        "aov": "float64", "first_order_date": "object", "last_order_date": "object", "r_band": "object",
        "f_band": "object", "m_band": "object", "r_score": "int64", "f_score": "int64", "m_score": "int64",
        **{f"tag_{k}": "bool" for k in seg.TAG_KEYS},
    }
    return pd.DataFrame({k: pd.Series([], dtype=v) for k, v in columns.items()})


def write_playbook_export(
    ws: Any,
    dataset_id: int,
    path: str | Path,
    *,
    lang: str = "en",
    scheme: str | None = None,
    as_of: date | datetime | str | None = None,
    plan_name: str | None = None,
) -> Path:
    """Write :func:`playbook_workbook` to ``path`` (must end in .xlsx) and return the path
    (what ``python -m lib.cli playbook --dataset NAME --export FILE.xlsx`` needs)."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"export the playbook to .xlsx, not {target.suffix or 'a file without extension'}")
    data = playbook_workbook(ws, dataset_id, lang, scheme=scheme, as_of=as_of, plan_name=plan_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def missing_translations(playbook: Playbook) -> list[str]:
    """Where the content lacks a language: ``"group"`` / ``"group.play"`` entries (empty list = complete)."""
    gaps = []
    for key, group in playbook.groups.items():
        texts = [group.need, group.signal, *group.formats] + ([group.note] if group.note else [])
        if not all(x.is_complete() for x in texts) or not group.plays:
            gaps.append(key)
        for play in group.plays:
            if not all(x.is_complete() for x in (play.name, play.description, play.kpi, play.kpi_target.text)):
                gaps.append(f"{key}.{play.id}")
    return gaps


__all__ = [
    "ASSUMPTION_FIELDS", "BASELINE_DAYS", "CampaignAssumptions", "DEFAULT_GROSS_MARGIN", "DEFAULT_HOLDOUT_SHARE",
    "FLAG_CODES", "FORMULA_KEYS", "PLAUSIBLE", "PlausibilityBounds", "ROI_FORMAT_KIND", "economics_flags",
    "flag_reasons", "play_baseline", "update_assumptions",
    "AMOUNT_FIELDS", "AUDIENCE_BASES", "CALCULATOR_FIELDS", "CHANGE_DAYS", "PLAYBOOK_COLUMNS", "POINT_VALUE_CNY",
    "RATE_FIELDS", "SETTINGS_KEY", "SILENT_DAYS", "TIER_COLUMNS", "CalculatorInputs", "CampaignEconomics",
    "GroupContent", "KpiTarget", "Play", "PlayResult", "PlayWeeks", "Playbook", "PlaybookError", "RecallRule",
    "Text", "TierProfile", "TierSummary", "all_tier_profiles", "campaign_economics", "column_label",
    "missing_translations", "cost_per_responder", "default_playbook", "edited_plays", "field_label",
    "group_tier", "high_value_recall_cap", "is_default", "load_playbook", "normal_recall_cost", "plan_tasks",
    "play_audience", "play_economics", "play_weeks", "playbook_from_dict", "playbook_table",
    "playbook_workbook", "recall_cost_rule", "reset_play", "reset_playbook", "save_playbook", "sum_economics",
    "tier_profile", "tier_summary", "tier_table", "update_group", "update_play", "validate_group",
    "validate_play", "validate_playbook", "write_playbook_export",
]
