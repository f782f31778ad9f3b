"""The review pack: facts, views and chart images for one language, and the .xlsx workbook made from them.

Why a module of its own: the workbook is the analyst's copy of the story (every
view's table with its chart, the detail tables, the glossary), written through
``lib.exports.workbook_bytes`` so no cell is ever a formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from lib.exports import SheetImage, SheetSpec, workbook_bytes
from lib.formatting import use_currency
from lib.i18n import normalize_lang, t
from lib.metrics import glossary
from lib.review.charts import CHART_SCALE, chart_images
from lib.review.facts import StoryFacts, gather_facts
from lib.review.model import StoryView
from lib.review.story import story
from lib.workspace import Workspace

# --------------------------------------------------------------------------------------
# The pack: story + images, then the workbook and the deck
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReviewPack:
    """The facts, the views in one language and their chart images: all the workbook and deck need."""

    facts: StoryFacts
    lang: str
    views: tuple[StoryView, ...]
    images: Mapping[str, bytes]


def build_pack(
    ws: Workspace,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    facts: StoryFacts | None = None,
) -> ReviewPack:
    """Facts, views and chart images for one language (images cost 1–3 s per chart)."""
    lang = normalize_lang(lang)
    facts = facts or gather_facts(ws, dataset_id, scenario=scenario, plan=plan, as_of=as_of)
    views = story(ws, facts.dataset_id, lang, facts=facts)
    with use_currency(facts.currency):
        return ReviewPack(facts=facts, lang=lang, views=tuple(views), images=chart_images(views))


def _about_rows(pack: ReviewPack, generated_at: datetime) -> list[list[Any]]:
    facts, lang = pack.facts, pack.lang
    rows: list[list[Any]] = [
        [t("review.about.title", lang)],
        [t("review.about.dataset", lang), facts.dataset_name],
        [t("review.about.period", lang), f"{facts.period_label(lang)} ({facts.period.start} – {facts.period.end})"],
        [t("review.about.as_of", lang), facts.as_of.isoformat()],
        [t("review.about.scenario", lang), facts.scenario_label(lang)],
        [t("review.about.plan", lang), facts.plan_label(lang)],
        [t("review.about.language", lang), t("review.about.language_name", lang)],
        [t("review.about.generated", lang), generated_at.strftime("%Y-%m-%d %H:%M")],
        [],
        [t("review.about.headlines", lang)],
    ]
    rows += [[view.title, view.headline] for view in pack.views]
    rows += [[], ["•", t("review.about.numbers", lang)]]
    return rows


def review_workbook(
    ws: Workspace,
    dataset_id: int,
    lang: str = "en",
    *,
    scenario: str | None = None,
    plan: str | None = None,
    as_of: date | None = None,
    pack: ReviewPack | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The story's tables as an .xlsx: an About sheet with every headline, then each view's table (its chart
    beside it as a PNG) followed by its detail tables — KPIs, tiers, tier and play economics, the scenario's
    channel plan, channel performance, the scenario comparison, the timeline's phases and tasks."""
    pack = pack or build_pack(ws, dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    sheets = [SheetSpec(title=t("review.sheet.about", pack.lang), rows=_about_rows(pack, generated_at or datetime.now()))]
    for view in pack.views:
        png = pack.images.get(view.key)
        images = [SheetImage(png, scale=CHART_SCALE)] if png else []
        sheets.append(view.table.sheet(images))
        sheets.extend(detail.sheet() for detail in view.details)
    sheets.append(glossary_sheet(pack.lang))
    return workbook_bytes(sheets)


def glossary_sheet(lang: str) -> SheetSpec:
    """Every number's definition (from :func:`lib.metrics.glossary`), so the workbook explains itself."""
    frame = pd.DataFrame(glossary(lang)).drop(columns="key")
    frame.columns = [t(f"metrics.col.{c}", lang) for c in frame.columns]
    return SheetSpec(title=t("metrics.glossary_sheet", lang), frame=frame, formats={c: "text" for c in frame.columns})
