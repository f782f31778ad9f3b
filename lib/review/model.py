"""What a view of the review story is made of: key numbers, tables, a chart recipe, speaker notes.

Why a module of its own: the page, the workbook and the deck all render the same
:class:`StoryView`; these small types (and the formatting of a cell) are what they
share, so they sit below everything else in the package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import altair as alt
import pandas as pd

from lib import segments as seg
from lib.exports import SheetImage, SheetSpec
from lib.formatting import NUMBER_KINDS, by_kind, current_currency, use_currency
from lib.i18n import LocalizedError, t

#: The fixed order of the story.
STORY_KEYS: tuple[str, ...] = ("overview", "segments", "value", "playbooks", "channels", "timeline")
DEFAULT_SCENARIO = "base"
#: Below this many customers every number is flagged as fragile (as on the Segments page).
SMALL_DATA_CUSTOMERS = seg.MIN_CUSTOMERS

# Value kinds of a table column and the workbook number format each one gets.
_XLSX_FORMATS: dict[str, str | None] = {
    "text": None, "money": "money", "count": "int", "percent": "percent", "points": "percent",
    "ratio": "number", "number": "number", "date": "date",
}
# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class ReviewPackError(LocalizedError):
    """The pack cannot be made (no orders, unknown scenario or plan); ``message(lang)`` explains it."""


# --------------------------------------------------------------------------------------
# What a view is made of
# --------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def format_value(value: Any, kind: str, lang: str = "en") -> str:
    """A cell as the reader sees it: money with 万/亿 in Chinese, counts with separators, shares in %."""
    if _missing(value):
        return "—"
    if kind in NUMBER_KINDS:
        return by_kind(value, kind, lang)
    if kind == "date" and isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


@dataclass(frozen=True)
class KeyNumber:
    """A number the room should remember: its label, the formatted value, and an optional context line."""

    label: str
    value: str
    detail: str = ""

    def line(self) -> str:
        """``"GMV: ¥6.00M (+3.2% vs previous period)"`` — what the speaker notes carry."""
        return f"{self.label}: {self.value}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, eq=False)
class StoryTable:
    """A table with translated headers; numbers stay numbers, ``kinds`` says how each column reads.

    ``kinds`` maps a header to ``text``, ``money``, ``count``, ``percent``, ``points``,
    ``ratio``, ``number`` or ``date``. ``display(lang)`` gives the strings a page or a
    slide shows; ``sheet()`` the workbook sheet (with Excel number formats).
    """

    key: str
    title: str
    frame: pd.DataFrame
    kinds: Mapping[str, str] = field(default_factory=dict)

    def display(self, lang: str = "en") -> pd.DataFrame:
        """Every cell formatted for reading, in ``lang``."""
        out = pd.DataFrame(index=self.frame.index)
        for column in self.frame.columns:
            kind = self.kinds.get(column, "text")
            out[column] = [format_value(v, kind, lang) for v in self.frame[column]]
        return out.reset_index(drop=True)

    def sheet(self, images: Sequence[SheetImage] = ()) -> SheetSpec:
        """The workbook sheet: the frame with number formats, plus ``images`` beside it."""
        formats = {c: f for c, k in self.kinds.items() if (f := _XLSX_FORMATS.get(k)) and c in self.frame.columns}
        return SheetSpec(title=self.title, frame=self.frame.reset_index(drop=True), formats=formats, images=images)


@dataclass(frozen=True, eq=False)
class ChartRecipe:
    """How a view's chart is built: a module-level builder, its arguments, and the currency its labels are in.

    A recipe rather than a built chart: the presentation page draws it through
    ``ui.chart`` (built and serialised once per distinct input, like every other
    page's chart), and the pack builds it once for its PNG images.
    """

    build: Callable[..., alt.TopLevelMixin]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    currency: str = field(default_factory=current_currency)

    def chart(self) -> alt.TopLevelMixin:
        """The Altair chart, its money in the recipe's currency."""
        with use_currency(self.currency):
            return self.build(*self.args, **self.kwargs)


@dataclass(frozen=True, eq=False)
class StoryView:
    """One view of the story, everything in one language.

    ``table`` is what the page and the slide show (compact); ``details`` are the
    fuller tables the workbook adds. ``notice`` is an empty-state or caveat sentence
    (shown under the headline); ``recipe`` (and so ``chart``) is None only when there is nothing to draw.
    """

    key: str
    title: str
    headline: str
    numbers: tuple[KeyNumber, ...]
    table: StoryTable
    recipe: ChartRecipe | None
    notes: str
    details: tuple[StoryTable, ...] = ()
    notice: str = ""

    @cached_property
    def chart(self) -> alt.TopLevelMixin | None:
        """The view's chart, built on first use (None when there is nothing to draw)."""
        return self.recipe.chart() if self.recipe is not None else None


def speaker_notes(headline: str, numbers: Sequence[KeyNumber], lang: str, extra: Sequence[str] = ()) -> str:
    lines = [headline, "", t("review.notes.key_numbers", lang)]
    lines += [f"• {n.line()}" for n in numbers]
    extra = [e for e in extra if e]
    if extra:
        lines += ["", *extra]
    return "\n".join(lines)
