"""Every registered page, opened in a real browser in English and 简体中文, by deep link and by the sidebar.

Why: a page can pass AppTest and still be broken for a user — a cold deep link
that runs the page without ``app.py``, a sidebar link to the wrong URL, a language
choice lost on the next page, an i18n key shown instead of Chinese text. The
page list comes from ``lib.ui.PAGES``, so a page added there is tested here
without editing this file. Screenshots land in ``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lib.i18n import catalogs, t
from lib.importing.sample_store import SAMPLE_DATASET_NAME
from lib.ui import PAGES, PRESENT_PAGE

from .driver import AppPage, State

pytestmark = pytest.mark.browser

LANGS = ("en", "zh")
LANGUAGE_BUTTON = {"en": "English", "zh": "简体中文"}
CJK = re.compile(r"[\u4e00-\u9fff]")
DEFAULT_PAGE = PAGES[0]


def _english_only_phrases() -> set[str]:
    """English catalog texts of three words or more whose Chinese text differs: none belongs on a Chinese page."""
    cats = catalogs()
    chinese_texts = {text.strip() for text in cats["zh"].values()}  # e.g. "LTV / CAC" is Chinese text too
    phrases = set()
    for english in cats["en"].values():
        plain = english.strip()
        if "{" in plain or "*" in plain or plain in chinese_texts or len(plain.split()) < 3:
            continue
        phrases.add(plain)
    return phrases


def language_option(app: AppPage, lang: str):
    """The sidebar's language choice (a segmented control: one radio per language)."""
    return app.sidebar.get_by_role("radio", name=LANGUAGE_BUTTON[lang], exact=True)


def sample_label(lang: str) -> str:
    """How the sidebar names the bundled sample dataset in ``lang``."""
    return catalogs()[lang].get("sample.display_name") or SAMPLE_DATASET_NAME


def deep_link(entry: tuple[str, str, str, str]) -> str:
    """The URL a user shares for a page: the default page lives at "/" (Streamlit ignores its url_path)."""
    return "/" if entry == DEFAULT_PAGE else f"/{entry[1]}"


def _paths_of(entry: tuple[str, str, str, str]) -> set[str]:
    """Where a page may live: its url path, and "/" for the default page."""
    return {f"/{entry[1]}", "/"} if entry == DEFAULT_PAGE else {f"/{entry[1]}"}


def in_language(app: AppPage, entry: tuple[str, str, str, str], lang: str) -> State:
    """What a run of ``entry`` in ``lang`` draws: that page's browser title and a heading in that language.

    The state a language switch or a page change waits for — it holds once the new run has
    drawn it, however early or late that run started.
    """
    def heading_in_lang() -> bool:
        heading = app.heading_now()
        return bool(heading) and bool(CJK.search(heading)) == (lang == "zh")

    return app.on_page(t(entry[2], lang), _paths_of(entry)) & State(f"a heading in {lang}", heading_in_lang)


def assert_page_shown(app: AppPage, entry: tuple[str, str, str, str], lang: str) -> None:
    """The page is the one asked for, in the language asked for, and nothing on it is broken."""
    _file, _url_path, title_key, _icon = entry
    app.assert_healthy()
    title = t(title_key, lang)
    expect(app.main.locator("h1").first).to_be_visible()
    heading = app.heading()
    assert heading, f"{app.page.url}: the title heading is empty"
    assert app.page.title().startswith(title), f"{app.page.url}: browser title {app.page.title()!r}, expected {title!r}…"
    expect(app.nav_link(title)).to_have_count(1)
    if lang == "zh":
        assert CJK.search(heading), f"{app.page.url}: heading {heading!r} is not Chinese"
        text = app.app_text()
        leftovers = sorted(p for p in _english_only_phrases() if p in text)
        assert not leftovers, f"{app.page.url}: English text on a Chinese page: {leftovers[:10]}"
    else:
        assert not CJK.search(heading), f"{app.page.url}: heading {heading!r} is not English"
    raw = app.raw_keys(set(catalogs()["en"]))
    assert not raw, f"{app.page.url} ({lang}) shows raw i18n keys instead of text: {raw}"
    clipped = app.clipped_texts()
    assert not clipped, f"{app.page.url} ({lang}) cuts these texts off at 1440 px: {clipped[:8]}"
    assert not app.page_errors, f"JavaScript errors on {app.page.url}: {app.page_errors[:5]}"


def test_deep_link_as_the_very_first_request_after_start(fresh_app: AppPage):
    """Right after a server start, with an empty workspace, a deep link to a page that is not the default works,
    and the sample store gets loaded on the way.

    Kept first in the file so that it runs on the session server before any other test has opened a page;
    run on its own or later, it gets a server of its own (see the ``fresh_server`` fixture).
    """
    entry = next((p for p in PAGES if p[1] == "data"), PAGES[-1])
    fresh_app.open(f"/{entry[1]}", lang="zh")
    assert fresh_app.path() == f"/{entry[1]}"
    assert_page_shown(fresh_app, entry, "zh")
    assert sample_label("zh") in fresh_app.sidebar_dataset(), "the sample store was not loaded on first start"
    fresh_app.screenshot(f"{entry[1]}_zh_first_request")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("entry", PAGES, ids=[entry[1] for entry in PAGES])
def test_every_page_opens_by_deep_link(app: AppPage, entry, lang):
    """/<page>?lang=… opened cold in a new browser session shows that page, healthy, in that language."""
    app.open(deep_link(entry), lang=lang)
    assert app.path() == deep_link(entry)
    assert_page_shown(app, entry, lang)
    app.screenshot(f"{entry[1]}_{lang}")


def test_sidebar_links_reach_every_page(app: AppPage):
    """In Chinese (English labels are covered by the deep-link tests): every link, its URL, its page."""
    lang = "zh"
    app.open("/", lang=lang)
    # Away from the default page, then back to it. Presentation mode comes last: it hides the
    # sidebar on purpose, and its own "exit" link leads back.
    working = [e for e in PAGES[1:] if e[0] != PRESENT_PAGE]
    for entry in [*working, DEFAULT_PAGE, next(e for e in PAGES if e[0] == PRESENT_PAGE)]:
        link = app.nav_link(t(entry[2], lang))
        expect(link).to_have_count(1)
        app.act(link.click, until=in_language(app, entry, lang))
        assert app.path() in _paths_of(entry), f"the link {t(entry[2], lang)!r} went to {app.page.url}"
        assert app.query().get("lang") == lang, f"the language was dropped from the URL: {app.page.url}"
        assert_page_shown(app, entry, lang)
    assert not app.page.locator('[data-testid="stSidebar"]').is_visible(), "presentation mode hides the sidebar"
    app.act(app.main.get_by_role("link", name=t("present.exit", lang)).click, until=in_language(app, DEFAULT_PAGE, lang))
    assert app.path() in _paths_of(DEFAULT_PAGE) and app.query().get("lang") == lang


def test_language_switch_survives_a_page_change(app: AppPage):
    first = DEFAULT_PAGE
    second = PAGES[1] if len(PAGES) > 1 else DEFAULT_PAGE
    app.open(deep_link(first))  # no ?lang: the browser says en-US
    assert_page_shown(app, first, "en")

    app.act(language_option(app, "zh").click, until=in_language(app, first, "zh"))
    assert app.query().get("lang") == "zh"
    assert_page_shown(app, first, "zh")
    expect(language_option(app, "zh")).to_have_attribute("aria-checked", "true")
    app.screenshot("language_switched_zh")

    app.act(app.nav_link(t(second[2], "zh")).click, until=in_language(app, second, "zh"))
    assert app.path() in _paths_of(second)
    assert_page_shown(app, second, "zh")
    expect(language_option(app, "zh")).to_have_attribute("aria-checked", "true")

    app.open(app.page.url)  # a reload (or a shared link) keeps the choice too
    assert_page_shown(app, second, "zh")

    app.act(language_option(app, "en").click, until=in_language(app, second, "en"))
    assert app.query().get("lang") == "en"
    assert_page_shown(app, second, "en")


@pytest.mark.parametrize("url_path, prefix, lang", [("segments", "segments_page.tab.", "en"),
                                                     ("scenarios", "scenarios_page.tab.", "zh"),
                                                     ("channels", "channels_page.tab.", "zh")])
def test_every_tab_opens_in_the_browser(app: AppPage, url_path, prefix, lang):
    """Tabs compute only when opened (ui.lazy_tabs): a click reruns the page and fills the tab, nothing breaks."""
    app.open(f"/{url_path}", lang=lang)
    keys = sorted(key for key in catalogs()["en"] if key.startswith(prefix))
    if url_path == "channels":  # the model's tab is named in its own catalogue
        keys.append("mmm_page.tab")
    for key in keys:
        tab = app.main.get_by_role("tab", name=t(key, lang), exact=True)
        expect(tab).to_have_count(1)
        panel = app.main.locator('[role="tabpanel"]:visible')
        if tab.get_attribute("aria-selected") != "true":  # the open tab does not rerun when clicked
            filled = State(f"the tab {key} open and filled", lambda tab=tab, panel=panel: tab.get_attribute("aria-selected") == "true"
                           and (any(text.strip() for text in panel.all_inner_texts())
                                or panel.locator("canvas, svg").count() > 0))
            app.act(tab.click, until=filled)
        expect(tab).to_have_attribute("aria-selected", "true")
        app.assert_healthy()
        assert panel.inner_text().strip() or panel.locator("canvas, svg").count(), f"{key}: an empty tab"
        app.screenshot(f"{url_path}_tab_{key.rsplit('.', 1)[-1]}_{lang}")
    assert not app.page_errors, app.page_errors[:5]
