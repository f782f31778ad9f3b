"""The review deck (.pptx): one slide per view with its headline, key numbers, table, chart and notes.

Why a module of its own: python-pptx layout (16:9, native tables, the East Asian
font set in every run so Chinese renders in PowerPoint, WPS and LibreOffice) is
its own craft, apart from what the story says.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from lib.exports import display_width, strip_control
from lib.i18n import t
from lib.review.charts import png_size
from lib.review.model import StoryTable, StoryView
from lib.review.workbook import ReviewPack, build_pack
from lib.workspace import Workspace

# The deck: 16:9, fonts (Latin and East Asian), sizes in points.
DECK_LATIN_FONT = "Arial"
DECK_EA_FONT = "Microsoft YaHei"
TITLE_PT = 32
HEADLINE_PT = 20
NUMBER_PT = 28
BODY_PT = 14
TABLE_PT = 14
MAX_SLIDE_ROWS = 10
_INK = "1F2937"
_MUTED = "6B7280"
_ACCENT = "E4572E"


# -- the deck ----------------------------------------------------------------------------


def _style_run(run: Any, lang: str, *, size: float, bold: bool = False, color: str = _INK,
               italic: bool = False) -> None:
    """Size, weight, colour, and both fonts: Latin (``a:latin``) and East Asian (``a:ea``) — without the
    latter PowerPoint draws Chinese in whatever its default East Asian font is (or as boxes)."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    font = run.font
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.color.rgb = RGBColor.from_string(color)  # type: ignore[no-untyped-call]  # python-pptx is untyped
    font.name = DECK_LATIN_FONT
    r_pr = run._r.get_or_add_rPr()
    r_pr.set("lang", "zh-CN" if lang == "zh" else "en-US")
    latin = r_pr.find(qn("a:latin"))
    ea = r_pr.find(qn("a:ea"))
    if ea is None:
        ea = latin.makeelement(qn("a:ea"), {})
        latin.addnext(ea)
    ea.set("typeface", DECK_EA_FONT)


def _write_paragraphs(text_frame: Any, parts: Sequence[tuple[str, dict[str, Any]]], lang: str,
                      align: Any = None) -> None:
    """Replace a text frame's text with one paragraph per (text, style) part."""
    text_frame.clear()
    text_frame.word_wrap = True
    for index, (text, style) in enumerate(parts):
        paragraph = text_frame.paragraphs[0] if index == 0 else text_frame.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        run = paragraph.add_run()
        run.text = re.sub(r"[\t\r\n]+", " ", strip_control(str(text)))  # user text may hold bytes XML cannot carry
        _style_run(run, lang, **style)


def _textbox(slide: Any, box: tuple[float, float, float, float], parts: Sequence[tuple[str, dict[str, Any]]],
             lang: str, align: Any = None) -> Any:
    from pptx.util import Inches

    left, top, width, height = box
    shape = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    _write_paragraphs(shape.text_frame, parts, lang, align)
    return shape


def _place(shape: Any, box: tuple[float, float, float, float]) -> None:
    from pptx.util import Inches

    shape.left, shape.top, shape.width, shape.height = (Inches(v) for v in box)


def _column_widths(display: pd.DataFrame, max_total: float) -> list[float]:
    """Inches per column: values never wrap, a header may take two lines; CJK counts double."""
    per_unit = TABLE_PT / 72 * 0.6
    padding = 0.3  # the cell's own left and right margins, plus air
    widths = []
    for column in display.columns:
        values = max([display_width(str(v)) for v in display[column]] or [0])
        header = display_width(str(column))
        # A header may wrap, but not inside a word (CJK text wraps between any two characters).
        wraps_anywhere = any(display_width(ch) == 2 for ch in str(column))
        longest_word = max((display_width(w) for w in str(column).split()), default=0)
        unbreakable = min(header, 6) if wraps_anywhere else longest_word
        units = max(values, math.ceil(header * 0.55), unbreakable)
        widths.append(min(units * per_unit + padding, 3.4))
    total = sum(widths)
    if total > max_total:
        widths = [w * max_total / total for w in widths]
    return widths


def _add_table(slide: Any, table: StoryTable, lang: str, box: tuple[float, float, float, float]) -> float:
    """A native table of at most MAX_SLIDE_ROWS rows; returns its width in inches."""
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Inches

    left, top, max_width, _ = box
    display = table.display(lang)
    hidden = max(0, len(display) - MAX_SLIDE_ROWS)
    display = display.head(MAX_SLIDE_ROWS)
    widths = _column_widths(display, max_width)
    row_height = 0.34
    n_rows, n_cols = len(display) + 1, max(1, len(display.columns))
    shape = slide.shapes.add_table(n_rows, n_cols, Inches(left), Inches(top), Inches(sum(widths)),
                                   Inches(row_height * n_rows))
    grid = shape.table
    for index, width in enumerate(widths):
        grid.columns[index].width = Inches(width)
    for index in range(n_rows):
        grid.rows[index].height = Inches(row_height)
    numeric = [table.kinds.get(c, "text") != "text" for c in display.columns]
    for col_index, header in enumerate(display.columns):
        cell = grid.cell(0, col_index)
        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
        _write_paragraphs(cell.text_frame, [(str(header), {"size": TABLE_PT, "bold": True, "color": "FFFFFF"})],
                          lang, PP_ALIGN.RIGHT if numeric[col_index] else PP_ALIGN.LEFT)
    for row_index, row in enumerate(display.itertuples(index=False), start=1):
        for col_index, value in enumerate(row):
            cell = grid.cell(row_index, col_index)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            _write_paragraphs(cell.text_frame, [(str(value), {"size": TABLE_PT})], lang,
                              PP_ALIGN.RIGHT if numeric[col_index] else PP_ALIGN.LEFT)
    if hidden:
        _textbox(slide, (left, top + row_height * n_rows + 0.05, max_width, 0.35),
                 [(t("review.deck.more_rows", lang, count=hidden), {"size": BODY_PT, "color": _MUTED})], lang)
    return sum(widths)


def _add_picture(slide: Any, png: bytes, box: tuple[float, float, float, float]) -> None:
    """The chart image, as large as fits in ``box`` without distortion, centred in it."""
    from pptx.util import Inches

    left, top, width, height = box
    pixels_w, pixels_h = png_size(png)
    scale = min(width / pixels_w, height / pixels_h)
    shown_w, shown_h = pixels_w * scale, pixels_h * scale
    slide.shapes.add_picture(io.BytesIO(png), Inches(left + (width - shown_w) / 2), Inches(top + (height - shown_h) / 2),
                             Inches(shown_w), Inches(shown_h))


_SLIDE_W, _SLIDE_H, _MARGIN = 13.333, 7.5, 0.5


def _view_slide(prs: Any, view: StoryView, png: bytes | None, lang: str) -> None:
    from pptx.enum.text import PP_ALIGN

    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only": a real title placeholder
    inner = _SLIDE_W - 2 * _MARGIN
    title = slide.shapes.title
    _place(title, (_MARGIN, 0.3, inner, 0.75))
    _write_paragraphs(title.text_frame, [(view.title, {"size": TITLE_PT, "bold": True})], lang, PP_ALIGN.LEFT)
    headline_parts: list[tuple[str, dict[str, Any]]] = [(view.headline, {"size": HEADLINE_PT, "color": _INK})]
    _textbox(slide, (_MARGIN, 1.05, inner, 0.85), headline_parts, lang)
    if view.numbers:
        width = inner / len(view.numbers)
        for index, number in enumerate(view.numbers):
            parts = [(number.value, {"size": NUMBER_PT, "bold": True, "color": _ACCENT}),
                     (number.label, {"size": BODY_PT, "color": _MUTED})]
            if number.detail:
                parts.append((number.detail, {"size": BODY_PT, "color": _MUTED}))
            _textbox(slide, (_MARGIN + index * width, 1.95, width - 0.15, 1.15), parts, lang)
    content_top, content_height = 3.2, _SLIDE_H - 3.2 - 0.25
    table_width = _add_table(slide, view.table, lang, (_MARGIN, content_top, inner * 0.6, content_height))
    chart_left = _MARGIN + table_width + 0.3
    chart_box = (chart_left, content_top, _SLIDE_W - _MARGIN - chart_left, content_height)
    if png:
        _add_picture(slide, png, chart_box)
    else:
        _textbox(slide, chart_box, [(view.notice or t("review.deck.no_chart", lang),
                                     {"size": BODY_PT, "color": _MUTED, "italic": True})], lang)
    notes = slide.notes_slide.notes_text_frame
    _write_paragraphs(notes, [(line, {"size": BODY_PT}) for line in view.notes.split("\n")], lang)


def review_deck(
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
    """A 16:9 .pptx: a title slide, then one slide per view with its title, headline, key numbers, a native
    table, the chart image and speaker notes carrying the key numbers. Every run names a Latin and an East
    Asian font; body text ≥ 14 pt, titles 32 pt."""
    from pptx import Presentation
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Inches

    pack = pack or build_pack(ws, dataset_id, lang, scenario=scenario, plan=plan, as_of=as_of)
    lang, facts = pack.lang, pack.facts
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(_SLIDE_W), Inches(_SLIDE_H)
    prs.core_properties.title = t("review.deck.title", lang, dataset=facts.dataset_name)
    prs.core_properties.language = "zh-CN" if lang == "zh" else "en-US"

    cover = prs.slides.add_slide(prs.slide_layouts[0])
    _place(cover.shapes.title, (0.8, 2.2, _SLIDE_W - 1.6, 1.4))
    _write_paragraphs(cover.shapes.title.text_frame,
                      [(t("review.deck.title", lang, dataset=facts.dataset_name), {"size": 40, "bold": True})],
                      lang, PP_ALIGN.LEFT)
    subtitle = cover.placeholders[1]
    _place(subtitle, (0.8, 3.8, _SLIDE_W - 1.6, 1.6))
    when = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    _write_paragraphs(subtitle.text_frame, [
        (t("review.deck.subtitle", lang, period=facts.period_label(lang), scenario=facts.scenario_label(lang),
           plan=facts.plan_label(lang)), {"size": HEADLINE_PT, "color": _MUTED}),
        (t("review.deck.generated", lang, when=when), {"size": BODY_PT, "color": _MUTED}),
    ], lang, PP_ALIGN.LEFT)
    cover_notes = [view.headline for view in pack.views]
    _write_paragraphs(cover.notes_slide.notes_text_frame, [(line, {"size": BODY_PT}) for line in cover_notes], lang)

    for view in pack.views:
        _view_slide(prs, view, pack.images.get(view.key), lang)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
