"""The plan's building block: the ``Task`` value, its phases, tiers and channels, and their labels.

Why a module of its own: the page, the chart, the exports, the CLI and the review
pack all work on the same ``Task`` list; this module defines it, reads loose
values into it (a table cell, a saved plan) and names its phases, tiers and
channels in either language. Nothing here draws, renders or stores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lib.i18n import LANGUAGES, catalogs, display_channel, t

DEFAULT_WEEKS = 13

PHASES: tuple[str, ...] = ("prep", "launch", "operation", "optimisation")
#: Phase colours (bars' swimlane bands in the chart, week-grid fills in Excel).
PHASE_COLORS: dict[str, str] = {
    "prep": "#5B7DB1",
    "launch": "#E39B2D",
    "operation": "#2CA58D",
    "optimisation": "#7B4FBF",
}


def tint(hex_color: str, share: float) -> str:
    """``hex_color`` mixed with white (``share`` = how much of the colour is kept): lane bands, Excel fills."""
    value = hex_color.lstrip("#")
    rgb = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return "#" + "".join(f"{round(255 - (255 - c) * share):02X}" for c in rgb)

#: Tiers a campaign task can target ("" = not tier-specific); same keys as lib.palette.TIER_ORDER.
TIERS: tuple[str, ...] = ("new", "active", "lapsing", "dormant", "high_value")

#: Editor-table columns, in order (stable internal names; labels via ``column_labels``).
TABLE_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "phase",
    "owner",
    "channel",
    "tier",
    "start_week",
    "end_week",
    "progress",
    "milestone",
    "depends_on",
)


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One row of the plan: a piece of work (or a milestone) across inclusive weeks.

    ``template`` is the default plan's key for this task (empty for tasks the
    user added); while the name is still the default text, ``display_name``
    shows it in the reader's language.
    """

    id: str
    name: str
    phase: str
    owner: str = ""
    channel: str = ""
    tier: str = ""
    start_week: int = 1
    end_week: int = 1
    progress: float = 0.0
    milestone: bool = False
    depends_on: tuple[str, ...] = ()
    template: str = ""

    @property
    def duration_weeks(self) -> int:
        """Weeks the task occupies (inclusive); 0 for a milestone."""
        if self.milestone:
            return 0
        return max(0, self.end_week - self.start_week + 1)

    def display_name(self, lang: str) -> str:
        """The name in ``lang`` if it is still a default-plan name, else the user's text."""
        if self.template:
            key = f"timeline.task.{self.template}"
            if self.name in {t(key, other) for other in LANGUAGES}:
                return t(key, lang)
        return self.name

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (used for saved plans)."""
        return {
            "id": self.id,
            "name": self.name,
            "phase": self.phase,
            "owner": self.owner,
            "channel": self.channel,
            "tier": self.tier,
            "start_week": self.start_week,
            "end_week": self.end_week,
            "progress": self.progress,
            "milestone": self.milestone,
            "depends_on": list(self.depends_on),
            "template": self.template,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        """Inverse of ``to_dict``; tolerant of missing keys and of loose types."""
        return cls(
            id=clean_text(data.get("id")),
            name=clean_text(data.get("name")),
            phase=clean_text(data.get("phase")),
            owner=clean_text(data.get("owner")),
            channel=clean_text(data.get("channel")),
            tier=clean_text(data.get("tier")),
            start_week=_to_int(data.get("start_week")),
            end_week=_to_int(data.get("end_week")),
            progress=_to_float(data.get("progress")),
            milestone=_to_bool(data.get("milestone")),
            depends_on=parse_depends_on(data.get("depends_on")),
            template=clean_text(data.get("template")),
        )


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if value is pd.NA or value is pd.NaT:
            return True
    except TypeError:  # pragma: no cover - exotic objects
        return False
    return isinstance(value, str) and not value.strip()


def clean_text(value: object) -> str:
    if is_blank(value):
        return ""
    return " ".join(str(value).split())


def _to_int(value: object) -> int:
    """Whole week number; blanks and junk become 0, which validation reports as out of range."""
    if is_blank(value) or isinstance(value, bool):
        return 0
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    if math.isnan(number) or math.isinf(number):
        return 0
    return int(round(number))


def _to_float(value: object) -> float:
    if is_blank(value) or isinstance(value, bool):
        return 0.0
    text = str(value).strip()
    try:
        if isinstance(value, str) and text.endswith("%"):
            return float(text[:-1]) / 100
        number = float(text) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else number


def _to_bool(value: object) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "x", "✓", "是"}
    return bool(value)


_DEPENDS_SPLIT = re.compile(r"[,，;；、\s]+")


def parse_depends_on(value: object) -> tuple[str, ...]:
    """Ids from ``"P1, P2"`` (commas, Chinese commas, semicolons or spaces) or a list; deduplicated."""
    if is_blank(value):
        return ()
    if isinstance(value, str):
        parts: Iterable[object] = _DEPENDS_SPLIT.split(value)
    elif isinstance(value, Iterable):
        parts = value
    else:
        parts = [value]
    ids = [clean_text(part) for part in parts]
    return tuple(dict.fromkeys(i for i in ids if i))


def format_depends_on(ids: Sequence[str]) -> str:
    """The editor's text for a dependency list: ``"P1, P2"``."""
    return ", ".join(ids)


def display_order(tasks: Sequence[Task]) -> list[Task]:
    """Tasks grouped by phase (plan order), then by start week, end week and original position."""
    phase_rank = {phase: i for i, phase in enumerate(PHASES)}
    indexed = list(enumerate(tasks))
    indexed.sort(
        key=lambda pair: (
            phase_rank.get(pair[1].phase, len(PHASES)),
            pair[1].start_week,
            pair[1].end_week,
            pair[0],
        )
    )
    return [task for _, task in indexed]


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def phase_label(phase: str, lang: str) -> str:
    """A phase key's name in ``lang`` ("launch" → "Launch" / "启动期"); unknown text unchanged."""
    return t(f"timeline.phase.{phase}", lang) if phase in PHASES else phase


def tier_label(tier: str, lang: str) -> str:
    """A tier's name in ``lang``; empty for no tier."""
    if not tier:
        return ""
    return t(f"timeline.tier.{tier}", lang) if tier in TIERS else tier


def phase_options(lang: str) -> list[str]:
    """Choices for the editor's phase column (labels in ``lang``)."""
    return [phase_label(p, lang) for p in PHASES]


def tier_options(lang: str) -> list[str]:
    """Choices for the editor's tier column: blank first, then the tiers in ``lang``."""
    return [""] + [tier_label(tier, lang) for tier in TIERS]


def column_labels(lang: str) -> dict[str, str]:
    """Header text for each of ``TABLE_COLUMNS`` in ``lang`` (editor and exports)."""
    return {column: t(f"timeline.column.{column}", lang) for column in TABLE_COLUMNS}


def _key_for_label(value: str, keys: Sequence[str], prefix: str) -> str:
    """Map a key or a label in any language back to its key (case-insensitive); unknown text is kept."""
    text = clean_text(value)
    if not text:
        return ""
    folded = text.casefold()
    for key in keys:
        if folded == key.casefold():
            return key
        for lang in LANGUAGES:
            if folded == t(f"{prefix}{key}", lang).casefold():
                return key
    return text


def phase_key(value: str) -> str:
    """``"Launch"``, ``"启动期"`` or ``"launch"`` → ``"launch"``; unknown text returned unchanged."""
    return _key_for_label(value, PHASES, "timeline.phase.")


def tier_key(value: str) -> str:
    """``"Dormant"``, ``"沉睡用户"`` or ``"dormant"`` → ``"dormant"``; unknown text returned unchanged."""
    return _key_for_label(value, TIERS, "timeline.tier.")


# ---------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------

# Channels are stored under lib.palette's (Chinese) names in both languages, so a
# task's channel matches the orders/channel_spend data and keeps its colour;
# ``channel_label`` shows the English name to English readers (lib.i18n.display_channel).
#: Extra spellings of a channel → its stored name (English names from the core
#: catalog are recognised too, see ``canonical_channel``).
CHANNEL_ALIASES: dict[str, str] = {
    "red": "小红书",
    "rednote": "小红书",
    "xhs": "小红书",
    "tiktok": "抖音",
    "wechat": "微信私域",
    "微信": "微信私域",
    "jd.com": "京东",
    "stores": "线下门店",
}


def canonical_channel(name: str) -> str:
    """The stored name of a channel spelled any known way ("Douyin", "douyin" → "抖音"); unknown text unchanged."""
    text = clean_text(name)
    if not text:
        return ""
    folded = text.casefold()
    if folded in CHANNEL_ALIASES:
        return CHANNEL_ALIASES[folded]
    prefix = "channel_name."
    for lang in LANGUAGES:
        for key, label in catalogs()[lang].items():
            if key.startswith(prefix) and label.casefold() == folded:
                return key[len(prefix):]
    return text


def channel_label(name: str, lang: str) -> str:
    """A stored channel name as the reader sees it ("小红书" → "Xiaohongshu" in English)."""
    return display_channel(name, lang) if name else ""
