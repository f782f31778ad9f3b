"""The review meeting's story — Overview → Segments → Customer value → Playbooks → Channels & scenario → Timeline — and its one-click pack.

Why this package exists: a marketing lead walks a team through the same six views
every review, on a projector, in a deck sent round afterwards and in a workbook the
analyst checks. If each of those computed its own numbers and wrote its own
sentences they would drift apart; here every view is built once, from the data, as
a :class:`StoryView` (title, a headline written from the numbers, 2–4 key numbers,
one table, one Altair chart, speaker notes), and the presentation page, the .pptx
deck, the .xlsx workbook and the CLI (``python -m lib.cli review-pack``) all render
those same views.

How it is put together:

* :func:`gather_facts` does the data work once (KPIs, tiers, playbook economics,
  the scenario and its comparison, the timeline plan); nothing in it depends on the
  language, so both languages can be drawn from one :class:`StoryFacts`.
* One function per view (``overview_view`` … ``timeline_view``) turns facts into a
  :class:`StoryView` in the chosen language; :func:`story` returns the six in order.
* :func:`chart_images` renders each chart to PNG once (vl-convert with the CJK font
  that ``lib.timeline.exports.chart_png`` registers, larger fonts for a projector);
  :func:`review_workbook` and :func:`review_deck` reuse those images.
* The workbook goes through ``lib.exports.workbook_bytes`` (no formulas, ever); the
  deck is python-pptx with native tables and the East Asian font set in every run
  (``a:ea``), so Chinese text renders in PowerPoint, WPS and LibreOffice.

The package, bottom to top: ``model`` (what a view is made of), ``charts`` (the
story's own charts and their projector-sized PNGs), ``facts`` (the data, once),
``story`` (the six views), ``workbook`` (the pack and its .xlsx), ``deck`` (the
.pptx), ``files`` (both files for the CLI). Callers use only the names below
(``from lib import review; review.story(...)``).
"""

from __future__ import annotations

from lib.review.charts import CHART_SCALE, CHART_WIDTH_PX, chart_images, png_size, projector_spec
from lib.review.deck import DECK_EA_FONT, DECK_LATIN_FONT, MAX_SLIDE_ROWS, review_deck
from lib.review.facts import (
    StoryFacts,
    gather_facts,
    period_label,
    resolve_plan,
    resolve_scenario,
    scenario_choice_label,
    story_choices,
)

from lib.review.files import pack_file_stem, write_review_pack
from lib.review.model import (
    DEFAULT_SCENARIO,
    STORY_KEYS,
    ChartRecipe,
    KeyNumber,
    ReviewPackError,
    StoryTable,
    StoryView,
    format_value,
)
from lib.review.story import channels_view, overview_view, playbooks_view, segments_view, story, timeline_view, value_view
from lib.review.workbook import ReviewPack, build_pack, glossary_sheet, review_workbook

__all__ = [
    "build_pack", "channels_view", "chart_images", "CHART_SCALE", "CHART_WIDTH_PX", "ChartRecipe", "DECK_EA_FONT",
    "DECK_LATIN_FONT", "DEFAULT_SCENARIO", "format_value", "gather_facts", "glossary_sheet", "KeyNumber",
    "MAX_SLIDE_ROWS", "overview_view", "pack_file_stem", "period_label", "playbooks_view", "png_size",
    "projector_spec", "resolve_plan", "resolve_scenario", "review_deck", "review_workbook", "ReviewPack",
    "ReviewPackError", "scenario_choice_label", "segments_view", "story", "story_choices", "STORY_KEYS", "StoryFacts",
    "StoryTable", "StoryView", "timeline_view", "value_view", "write_review_pack",
]
