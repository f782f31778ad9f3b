"""The one module that imports Streamlit: bootstrap, sidebar, shared widgets and caching.

Why: every page must work when opened cold by a deep link (Streamlit then runs the
page without ``app.py``), so each page starts with ``ctx = bootstrap(...)``. That
call opens the workspace, loads the sample store on first start, resolves the
language (``?lang=`` → the session's choice → browser locale → English), draws the
sidebar (navigation, language, dataset) and returns a ``PageContext``. Pages stay
thin: they ask ``lib`` for numbers and use the helpers here to show them.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import streamlit as st
from streamlit import dataframe_util

from lib import auth, chart_specs, formatting
from lib.i18n import LANGUAGES, Translator, normalize_lang
from lib.importing import ImportFailed
from lib.importing import load_sample_store
from lib.importing.sample_store import SAMPLE_DATASET_NAME
from lib.workspace import Dataset, Workspace, WorkspaceError, resolve_db_path

ROOT = Path(__file__).resolve().parent.parent

# The page registry: (file, url path, title key, sidebar icon). app.py and the sidebar both read it.
# Material icons are drawn from Streamlit's bundled font in the sidebar; app.py registers pages
# without icons because a page icon becomes the favicon, which Streamlit would fetch from Google.
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/overview.py", "overview", "nav.overview", ":material/dashboard:"),
    ("pages/segments.py", "segments", "nav.segments", ":material/groups:"),
    ("pages/playbooks.py", "playbooks", "nav.playbooks", ":material/menu_book:"),
    ("pages/channels.py", "channels", "nav.channels", ":material/campaign:"),
    ("pages/scenarios.py", "scenarios", "nav.scenarios", ":material/flag:"),
    ("pages/timeline.py", "timeline", "nav.timeline", ":material/view_timeline:"),
    ("pages/data.py", "data", "nav.data", ":material/upload_file:"),
    ("pages/present.py", "present", "nav.present", ":material/slideshow:"),
]
PRESENT_PAGE = "pages/present.py"

# Presentation mode: no sidebar, no toolbar, projector-sized numbers. Static CSS, no user data.
_PRESENTATION_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stToolbar"],
[data-testid="stHeader"] {display: none;}
[data-testid="stMetricValue"] {font-size: 3.2rem;}
[data-testid="stMetricLabel"] p {font-size: 1.25rem;}
.block-container {padding-top: 3rem; max-width: 1800px;}
h1 {font-size: 3rem;} h2 {font-size: 2.1rem; font-weight: 600;}
</style>
"""

LANG_KEY = "lang"
DATASET_KEY = "dataset"


@dataclass
class PageContext:
    """What a page needs: the workspace, the language, a translator and the active dataset."""

    ws: Workspace
    lang: str
    t: Translator
    datasets: list[Dataset]
    dataset: Dataset | None

    def money(self, value: float | None, **kw: Any) -> str:
        return formatting.money(value, self.lang, **kw)

    def count(self, value: float | None) -> str:
        return formatting.count(value, self.lang)


@st.cache_resource(show_spinner=False)
def get_workspace(path: str) -> Workspace:
    """One Workspace (one DuckDB connection) per process and file."""
    return Workspace(path)


def workspace() -> Workspace:
    return get_workspace(str(resolve_db_path()))


def current_lang() -> str:
    """The session's language: URL parameter first, then the saved choice, then the browser."""
    param = st.query_params.get("lang")
    if param:
        st.session_state[LANG_KEY] = normalize_lang(param)
    if LANG_KEY not in st.session_state:
        locale = getattr(st.context, "locale", None)
        st.session_state[LANG_KEY] = normalize_lang(locale)
    return str(st.session_state[LANG_KEY])


def _set_lang() -> None:
    choice = st.session_state.get("ui.lang_widget")
    st.session_state[LANG_KEY] = normalize_lang(choice)
    st.query_params["lang"] = st.session_state[LANG_KEY]


def _set_dataset() -> None:
    st.session_state[DATASET_KEY] = st.session_state.get("ui.dataset_widget")
    if st.session_state[DATASET_KEY]:
        st.query_params["dataset"] = st.session_state[DATASET_KEY]


_SAMPLE_LOCK = threading.Lock()
_HEAP_LOCK = threading.Lock()
_heap_frozen = False
_WARM_UP_LOCK = threading.Lock()
_warm_up_started = False
# What the pages import: loaded before the freeze so the collector never walks them again.
_PAGE_LIBRARIES = (
    "lib.segments", "lib.segments.charts", "lib.playbooks", "lib.channels", "lib.value",
    "lib.scenarios", "lib.scenarios.charts", "lib.timeline",
    "lib.timeline.charts", "lib.exports", "lib.timeline.exports", "lib.review", "lib.kpis",
)


def _freeze_start_up_heap() -> None:
    """Once per process: load the pages' libraries, collect, and move what is alive to the permanent generation.

    The ~180k objects of Streamlit, pandas, pyarrow, Altair and SciPy live as long as
    the process; without this every full collection walks them again (~0.1 s holding
    the GIL). Objects created later, sessions included, are collected as usual.
    """
    global _heap_frozen
    with _HEAP_LOCK:
        if _heap_frozen:
            return
        for name in _PAGE_LIBRARIES:
            importlib.import_module(name)
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def warm_up_after_run() -> None:
    """After the process's first script run: load the other pages' libraries and freeze the heap, in the background.

    Why not before the first page: loading every page's libraries (SciPy alone is
    most of it) took 5.9 of the 9.7 s a cold Overview spent on the server
    (bench/bench_browser.py; cProfile of one run), for modules that page never uses.
    app.py calls this when its run is over, so the first page is drawn first; a page
    that needs one of these libraries before the thread got to it imports it itself
    (Python's import lock makes the two wait for each other, never import twice).
    """
    global _warm_up_started
    with _WARM_UP_LOCK:
        if _warm_up_started:
            return
        _warm_up_started = True
    threading.Thread(target=_freeze_start_up_heap, name="growth-planner-warm-up", daemon=True).start()


def _needs_sample(ws: Workspace) -> bool:
    marked = ws.query_rows("SELECT value FROM meta WHERE key = 'sample_loaded'")
    return not marked and not ws.query_rows("SELECT 1 FROM datasets LIMIT 1")


#: Workspaces this process has seen with the sample store loaded or with data: the mark is never taken back,
#: so later runs skip the two queries (every page run asked them again).
_SAMPLE_SETTLED: weakref.WeakSet[Workspace] = weakref.WeakSet()


def _ensure_sample(ws: Workspace, t: Translator) -> None:
    """Load the bundled sample store the first time an empty workspace file is opened."""
    if ws in _SAMPLE_SETTLED:
        return
    if not _needs_sample(ws):
        _SAMPLE_SETTLED.add(ws)
        return
    placeholder = st.empty()
    with _SAMPLE_LOCK, placeholder.status(t("sample.loading"), expanded=False):
        if _needs_sample(ws):  # another session may have loaded it while we waited
            bar = st.progress(0.0)

            def _progress(fraction: float, _message: str) -> None:
                bar.progress(min(1.0, fraction))

            load_sample_store(ws, progress=_progress)
    placeholder.empty()  # the page itself now shows the data; no leftover status box


def bootstrap(page_title_key: str, *, wide: bool = True, presentation: bool = False) -> PageContext:
    """Set up a page: config, workspace, language, sidebar. Call first on every page.

    ``presentation`` hides the sidebar and toolbar and enlarges numbers (review meetings);
    ``?present=1`` on any page's URL opens presentation mode.
    """
    lang = current_lang()
    t = Translator(lang)
    try:
        st.set_page_config(
            page_title=f"{t(page_title_key)} · {t('app.name')}",
            page_icon="📈",
            layout="wide" if wide else "centered",
            initial_sidebar_state="collapsed" if presentation else "auto",
        )
    except st.errors.StreamlitAPIException:
        pass  # already set by app.py in this run
    if presentation:
        st.html(_PRESENTATION_CSS)
    elif st.query_params.get("present") in ("1", "true", "yes"):
        try:
            st.switch_page(PRESENT_PAGE, query_params=_carried_params())
        except st.errors.StreamlitAPIException:
            pass  # page run on its own (tests): stay here
    if not login_gate(t):  # a team instance with a login: nothing of the workspace before sign-in
        st.stop()
    try:
        ws = workspace()
        _ensure_sample(ws, t)
        datasets = ws.list_datasets()
    except WorkspaceError as exc:
        st.error(t("error.workspace", detail=str(exc)))
        st.stop()
    except Exception as exc:  # noqa: BLE001 - start-up failures get the same one sentence as a page's
        if type(exc).__name__ in {"StopException", "RerunException"}:
            raise
        st.error(t("error.unexpected"))
        log_exception()
        st.stop()
    dataset = _sidebar(t, lang, datasets)
    formatting.set_currency(dataset.currency if dataset else formatting.DEFAULT_CURRENCY)
    with st.sidebar:
        account_panel(t)
    return PageContext(ws=ws, lang=lang, t=t, datasets=datasets, dataset=dataset)


def _secrets_config() -> Mapping[str, Any]:
    """``.streamlit/secrets.toml`` (or ``--secrets.files``) when there is one, else nothing."""
    return st.secrets if st.secrets.load_if_toml_exists() else {}


def login_gate(t: Translator) -> bool:
    """Let the session through, or draw the login prompt and return False (the caller then stops the page).

    Which login (none, OIDC, a shared password) is ``lib.auth``'s decision, from the configuration.
    """
    config = _secrets_config()
    mode = auth.login_required(config)
    if mode is None:
        return True
    if mode == "oidc":
        return _oidc_gate(t, config["auth"])
    return _password_gate(t, auth.shared_password(config) or "")


def account_panel(t: Translator) -> None:
    """Who is signed in and a "Sign out" button (sidebar); nothing when login is off."""
    mode = auth.login_required(_secrets_config())
    if mode is None:
        return
    st.divider()
    if mode == "oidc":
        claims = st.user.to_dict()
        who = auth.display_name(claims) or str(claims.get("sub") or "?")
        st.caption(t("auth.signed_in_as", who=auth.markdown_text(who)))  # the provider's text, as text
        if st.button(t("auth.sign_out"), key="auth.sign_out", icon=":material/logout:"):
            st.logout()
        return
    st.caption(t("auth.signed_in_password"))
    if st.button(t("auth.sign_out"), key="auth.sign_out", icon=":material/logout:"):
        st.session_state.pop(auth.SESSION_KEY, None)
        st.rerun()


def _oidc_gate(t: Translator, auth_section: Mapping[str, Any]) -> bool:
    user = st.user
    if getattr(user, "is_logged_in", False):
        if auth.token_expired(user.to_dict()):
            st.logout()  # clears st.user and sends the browser through the provider's logout
            return False
        return True
    st.title(t("auth.title"))
    st.caption(t("auth.oidc_prompt"))
    for provider in auth.oidc_providers(auth_section):
        label = t("auth.oidc_button") if provider is None else t("auth.oidc_button_named", provider=provider)
        if st.button(label, key=f"auth.login.{provider or 'default'}", type="primary"):
            if provider is None:
                st.login()
            else:
                st.login(provider)
    return False


def _password_gate(t: Translator, expected: str) -> bool:
    if auth.proof_is_valid(st.session_state.get(auth.SESSION_KEY), expected):
        return True
    st.title(t("auth.title"))
    st.caption(t("auth.password_prompt"))
    with st.form("auth.form", clear_on_submit=True):
        given = st.text_input(t("auth.password"), type="password", key="auth.password_input")
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if submitted:
        if auth.password_matches(given or "", expected):
            st.session_state[auth.SESSION_KEY] = auth.password_proof(expected)
            st.rerun()
        time.sleep(auth.FAILED_ATTEMPT_DELAY_S)  # read at call time: tests set it to 0
        st.error(t("auth.wrong_password"))
    return False


def _sidebar(t: Translator, lang: str, datasets: list[Dataset]) -> Dataset | None:
    with st.sidebar:
        st.markdown(f"### {t('app.name')}")
        for file, _url, title_key, icon in PAGES:
            try:
                st.page_link(file, label=t(title_key), icon=icon, query_params=_carried_params())
            except st.errors.StreamlitPageNotFoundError:
                break  # a page run on its own (no navigation registered): no links to draw
        st.divider()
        labels = {"en": "English", "zh": "简体中文"}
        st.session_state["ui.lang_widget"] = lang
        st.segmented_control(
            t("sidebar.language"), options=list(LANGUAGES), format_func=lambda code: labels[code],
            key="ui.lang_widget", on_change=_set_lang, selection_mode="single",
        )
        names = [d.name for d in datasets]
        if not names:
            st.info(t("sidebar.no_datasets"))
            return None
        wanted = st.query_params.get("dataset") or st.session_state.get(DATASET_KEY)
        if wanted not in names:
            wanted = names[0]
        st.session_state[DATASET_KEY] = wanted
        st.session_state["ui.dataset_widget"] = wanted
        st.selectbox(
            t("sidebar.dataset"), names, key="ui.dataset_widget", on_change=_set_dataset,
            format_func=lambda n: dataset_label(n, datasets, t),
            help=t("sidebar.dataset_help"),
        )
        dataset = next(d for d in datasets if d.name == wanted)
        st.caption(t(
            "sidebar.dataset_caption", orders=formatting.count(dataset.orders, lang),
            customers=formatting.count(dataset.customers, lang),
            first=dataset.first_order or dataset.first_period or "—",
            last=dataset.last_order or dataset.last_period or "—",
        ))
        return dataset


def dataset_label(name: str, datasets: list[Dataset], t: Translator, *, tagged: bool = True) -> str:
    """A dataset's name for display; the bundled sample store is named in the user's language."""
    if any(d.name == name and d.is_sample for d in datasets):
        if name == SAMPLE_DATASET_NAME:
            return t("sample.display_name")  # the translated name already says "sample"
        return f"{name} ({t('sidebar.sample')})" if tagged else name
    return name


def _carried_params() -> dict[str, str]:
    """Query parameters that follow the user from page to page (language, dataset)."""
    params = {LANG_KEY: st.session_state.get(LANG_KEY, "en")}
    if st.session_state.get(DATASET_KEY):
        params["dataset"] = st.session_state[DATASET_KEY]
    for shared in ("as_of", "scenario", "plan"):  # state other pages (and the presentation) read
        if st.query_params.get(shared):
            params[shared] = st.query_params[shared]
    return params


def exit_presentation_link(ctx: PageContext) -> None:
    """A link back to the overview, keeping language and dataset."""
    params = {k: v for k, v in _carried_params().items() if k != "present"}
    try:
        st.page_link(PAGES[0][0], label=ctx.t("present.exit"), icon=":material/close:", query_params=params)
    except st.errors.StreamlitPageNotFoundError:
        pass


def story_picker(ctx: PageContext, dataset: Dataset) -> tuple[str | None, str | None]:
    """The scenario and plan the review story is told about: (scenario, plan), None meaning the default.

    The query parameters ``scenario`` and ``plan`` are the one place the choice lives:
    this picker writes them, :func:`present_link` sets them, and a shared link carries
    them — so a link and the picker always agree.
    """
    from lib import review as review_pack  # the story's module; only the pages that tell it load it

    scenarios, plans = review_pack.story_choices(ctx.ws, dataset.dataset_id)
    left, right = st.columns(2)
    scenario = _query_choice(left, "scenario", [None, *scenarios], ctx.t("present.pick.scenario"),
                             lambda c: ctx.t("present.pick.default_scenario") if c is None
                             else review_pack.scenario_choice_label(c, ctx.lang))
    plan = _query_choice(right, "plan", [None, *plans], ctx.t("present.pick.plan"),
                         lambda c: ctx.t("present.pick.default_plan") if c is None else c)
    return scenario, plan


def _query_choice(column: Any, param: str, options: list[str | None], label: str,
                  format_func: Callable[[str | None], str]) -> str | None:
    """A selectbox bound to one query parameter; an unknown value in the URL is kept (the story explains it)."""
    current = st.query_params.get(param) or None
    if current is not None and current not in options:
        options = [*options, current]
    key = f"present.pick.{param}"
    if key not in st.session_state or st.session_state[key] != current:  # first draw, or a link changed the URL
        st.session_state[key] = current

    def _write() -> None:
        value = st.session_state[key]
        if value is None:
            st.query_params.pop(param, None)
        else:
            st.query_params[param] = value

    choice: str | None = column.selectbox(label, options, key=key, format_func=format_func, on_change=_write)
    return choice


def present_link(ctx: PageContext, *, scenario: str | None = None, plan: str | None = None) -> None:
    """A link that opens presentation mode on this scenario or plan (the same parameters the picker writes)."""
    params = {k: v for k, v in _carried_params().items() if k not in ("scenario", "plan")}
    if scenario:
        params["scenario"] = scenario
    if plan:
        params["plan"] = plan
    try:
        st.page_link(PRESENT_PAGE, label=ctx.t("present.open"), icon=":material/slideshow:", query_params=params)
    except st.errors.StreamlitPageNotFoundError:
        pass


def page_header(ctx: PageContext, title_key: str, question_key: str, *, sample_banner: bool = True) -> None:
    st.title(ctx.t(title_key))
    st.caption(ctx.t(question_key))
    if sample_banner and ctx.dataset and ctx.dataset.is_sample:
        st.info(ctx.t("sample.banner", name=dataset_label(ctx.dataset.name, ctx.datasets, ctx.t, tagged=False)),
                icon=":material/science:")


def require_orders(ctx: PageContext) -> Dataset:
    """Stop the page with a friendly next step when there is no dataset or no orders."""
    if ctx.dataset is None:
        st.info(ctx.t("empty.no_dataset"))
        st.page_link("pages/data.py", label=ctx.t("empty.go_import"), icon=":material/upload_file:")
        st.stop()
    if ctx.dataset.orders == 0:
        st.info(ctx.t("empty.no_orders", name=ctx.dataset.name))
        st.page_link("pages/data.py", label=ctx.t("empty.go_import"), icon=":material/upload_file:")
        st.stop()
    return ctx.dataset


@contextmanager
def friendly_errors(ctx: PageContext) -> Iterator[None]:
    """Turn any failure into one sentence in the user's language; details in an expander, no traceback."""
    try:
        yield
    except st.runtime.scriptrunner.StopException:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence before the browser
        if type(exc).__name__ in {"StopException", "RerunException"}:
            raise
        explain = getattr(exc, "message", None) if isinstance(exc, ValueError) else None
        if isinstance(exc, ImportFailed):
            st.error(import_error_text(exc, ctx.t))
        elif isinstance(exc, WorkspaceError):
            st.error(ctx.t("error.workspace", detail=str(exc)))
        elif callable(explain):
            st.error(str(explain(ctx.lang)))  # lib errors that explain themselves in the user's language
        else:
            st.error(ctx.t("error.unexpected"))
            with st.expander(ctx.t("error.details")):
                st.code(f"{type(exc).__name__}: {exc}", language=None)
            log_exception()


def import_error_text(exc: ImportFailed, t: Translator) -> str:
    """An importer error in the user's language, including the translated kind of file."""
    key = f"import.error.{exc.code}"
    if not _has(key):
        return str(exc)
    params = dict(exc.params)
    if "what" in params and _has(f"import.what.{params['what']}"):
        params["what"] = t(f"import.what.{params['what']}")
    return t(key, **params)


def _has(key: str) -> bool:
    from lib.i18n import has_key

    return has_key(key)


def log_exception() -> None:
    print(traceback.format_exc(), flush=True)  # server log only


def cached(func: Callable[..., Any], dataset: Dataset, *args: Any, given: Mapping[str, Any] | None = None,
           given_key: Any = None, **kwargs: Any) -> Any:
    """Call ``func(ws, dataset_id, *args, **kwargs)`` through a bounded cache keyed on the data version.

    An import bumps the dataset's version, so every cached result of it is
    invalidated; the workspace itself never enters the cache key.

    ``given`` are more keyword arguments that are passed but not hashed, for a large
    value that is itself a cached result (e.g. a fitted prediction: hashing its
    customers on every run cost a quarter of the Playbooks page's script). ``given_key``
    names them in the key instead (e.g. the fit's as-of date); it must identify them
    together with the other arguments and the data version.
    """
    path = f"{func.__module__}:{func.__qualname__}"
    if given is None:
        return _cached_call(path, dataset.cache_key, args, tuple(sorted(kwargs.items())))
    return _cached_call_given(path, dataset.cache_key, args, tuple(sorted(kwargs.items())), given_key, given)


@st.cache_data(ttl=3600, max_entries=512, show_spinner=False)
def _cached_call(path: str, cache_key: tuple[int, int, str], args: tuple[Any, ...], kwargs: tuple[Any, ...]) -> Any:
    return _call(path, cache_key, args, dict(kwargs))


@st.cache_data(ttl=3600, max_entries=128, show_spinner=False)
def _cached_call_given(path: str, cache_key: tuple[int, int, str], args: tuple[Any, ...], kwargs: tuple[Any, ...],
                       given_key: Any, _given: Mapping[str, Any]) -> Any:
    return _call(path, cache_key, args, {**dict(kwargs), **_given})


def _call(path: str, cache_key: tuple[int, int, str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    module_name, qualname = path.split(":")
    func = getattr(importlib.import_module(module_name), qualname)
    with formatting.use_currency(cache_key[2]):  # texts it formats are in the dataset's currency
        return func(workspace(), cache_key[0], *args, **kwargs)


def metric_delta(text: str | None, *, higher_is_better: bool = True) -> dict[str, Any]:
    """``st.metric`` keyword arguments for a change: arrow and colour, except for one that shows as zero.

    "↑ +0" in green says something changed for the better when nothing did; a change
    that rounds to zero reads "±0" with no arrow and no colour.
    """
    if text is None:
        return {"delta": None}
    if not any(ch in "123456789" for ch in text):
        return {"delta": "±" + text.lstrip("+-−"), "delta_arrow": "off", "delta_color": "off"}
    return {"delta": text, "delta_color": "normal" if higher_is_better else "inverse"}


def money_column(label: str, *, decimals: int = 0, **options: Any) -> Any:
    """A table column of amounts: the dataset's currency symbol, thousands separators, the same decimals on every row."""
    return st.column_config.NumberColumn(label, **{**formatting.money_column_options(decimals), **options})


def count_column(label: str, **options: Any) -> Any:
    """A table column of whole numbers with thousands separators (38,677, never 38677)."""
    return st.column_config.NumberColumn(label, format="%,.0f", **options)


def customer_value_table(frame: pd.DataFrame, value_column: str, horizon: int, t: Translator) -> None:
    """Customers with their predicted value (lib.value.prediction): the at-risk list and a tier's contact-first list."""
    columns = ["customer_id", "revenue", "days_since_last_order", "p_alive", value_column, "value_at_stake"]
    st.dataframe(frame[columns], hide_index=True, width="stretch", column_config={
        "customer_id": t("segments_page.col.customer_id"),
        "revenue": money_column(t("segments_page.col.revenue")),
        "days_since_last_order": count_column(t("segments_page.col.days_since_last_order")),
        "p_alive": st.column_config.ProgressColumn(t("predict.p_alive"), format="percent", min_value=0.0,
                                                   max_value=1.0),
        value_column: money_column(t("predict.col.clv", horizon=horizon)),
        "value_at_stake": money_column(t("predict.kpi.stake")),
    })


def lazy_tabs(labels: list[str], *, key: str) -> list[Any]:
    """Tabs whose content is computed only while open: check ``tab.open`` before filling one.

    Streamlit otherwise runs every tab's content on every rerun, so a page with five
    tabs pays for five charts to show one. Switching tabs reruns the page; results
    are cached, so that costs little. Widgets whose state must survive a tab switch
    belong outside the ``open`` check.
    """
    return list(st.tabs(labels, key=key, on_change="rerun"))


def keep_widget_values(prefix: str) -> None:
    """Keep the values of this page's widgets (keys starting with ``prefix``) while they are not drawn.

    Streamlit forgets a widget's value after a run that did not draw it, so a number
    typed on a lazy tab would be lost on a visit to another tab. A value written
    back through ``st.session_state`` is kept until the widget shows again. Only
    values a page can set are written: buttons (whose state is a bool trigger and
    cannot be set) are skipped, so keep toggles and checkboxes out of lazy tabs.
    """
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        value = st.session_state[key]
        if not isinstance(value, bool) and value is not None:
            st.session_state[key] = value


def lazy_expander(label: str, *, key: str, icon: str | None = None) -> Any:
    """An expander whose content is drawn only while open: check ``.open`` before filling it.

    For heavy content that few visits need (e.g. a row of download buttons, whose
    files the browser fetches as soon as they are drawn); opening it reruns the page.
    """
    return st.expander(label, key=key, icon=icon, on_change="rerun")


def date_param(name: str) -> date | None:
    """A date from the URL (``?as_of=2026-09-30``), or None when absent or not a date."""
    try:
        return date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return None


def set_param(name: str, value: str | None) -> None:
    """Keep a view's state in the URL so that a copied link reproduces it."""
    if value is None:
        st.query_params.pop(name, None)
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def file_digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def chart(build: Callable[..., Any], *args: Any, key: str | None = None,
          theme: Literal["streamlit"] | None = "streamlit",
          style: Callable[[dict[str, Any]], dict[str, Any]] | None = None, **kwargs: Any) -> None:
    """Draw ``build(*args, **kwargs)``, building and serialising it once per distinct input.

    Building an Altair chart (20–40 ms for the R×F heat map) and serialising it cost
    more than the queries behind it, and a page draws its charts again on every rerun.
    The arguments are hashed by Streamlit (data frames by content, a translator by
    its language), so new data, settings or language build a new chart. The spec is
    drawn at the container's width and the chart's own height (``chart_specs.vega_lite_spec``).
    ``theme=None`` keeps the chart's own fonts and colours (the Gantt's label column is measured in them);
    ``style`` rewrites the finished spec (presentation mode: ``review.projector_spec``'s projector fonts).
    """
    st.vega_lite_chart(chart_spec(build, *args, style=style, **kwargs), width="stretch", key=key, theme=theme)


def chart_spec(build: Callable[..., Any], *args: Any,
               style: Callable[[dict[str, Any]], dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
    """What :func:`chart` draws: the spec of ``build(*args, **kwargs)`` in the current currency, cached per input."""
    return _cached_spec(_path(build), args, tuple(sorted(kwargs.items())),
                        formatting.current_currency(), _path(style) if style else None)


@st.cache_data(ttl=3600, max_entries=256, show_spinner=False, hash_funcs={Translator: lambda tr: tr.lang})
def _cached_spec(path: str, args: tuple[Any, ...], kwargs: tuple[Any, ...], currency: str,
                 style: str | None = None) -> dict[str, Any]:
    build = _resolve(path)
    with formatting.use_currency(currency):  # labels and tooltips in the dataset's currency (part of the key)
        return streamlit_spec(build(*args, **dict(kwargs)), _resolve(style) if style else None)


def _path(func: Callable[..., Any]) -> str:
    """A module-level function as ``module:qualname`` (what the chart cache keys on and resolves)."""
    return f"{func.__module__}:{func.__qualname__}"


def _resolve(path: str) -> Any:
    module_name, qualname = path.split(":")
    return getattr(importlib.import_module(module_name), qualname)


def streamlit_spec(altair_chart: Any, style: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The chart's spec with each dataset already in the Arrow bytes Streamlit sends (what st.altair_chart does)."""
    spec = chart_specs.vega_lite_spec(altair_chart)
    if style is not None:
        spec = style(spec)
    spec["datasets"] = {
        name: dataframe_util.convert_anything_to_arrow_bytes(pd.DataFrame.from_records(rows))
        for name, rows in spec.get("datasets", {}).items()
    }
    return spec


def download(label: str, build: Callable[[], bytes], *, key: str, file_name: str, mime: str,
             signature: object = None, icon: str | None = None, primary: bool = False) -> None:
    """A two-step download: "Prepare …" builds the file (with a spinner), then a download button serves it.

    Why not ``download_button(data=callable)``: Streamlit 1.67 stores a file built on
    click without an owning session, and under load another session's rerun sweeps it
    before the browser fetches it (the load test saw 404s). Bytes kept in this
    session's state belong to it. ``signature`` names what the file was built from; a
    change (another dataset, date or language) drops the stale file.
    """
    state = f"{key}.payload"
    stored = st.session_state.get(state)
    if stored and stored[0] == (signature, file_name):
        st.download_button(label, data=stored[1], file_name=file_name, mime=mime, key=key, on_click="ignore",
                           icon=icon or ":material/download:", type="primary" if primary else "secondary")
        return
    t = Translator(st.session_state.get(LANG_KEY, "en"))
    if st.button(t("export.prepare", what=label), key=f"{key}.prepare", icon=icon,
                 type="primary" if primary else "secondary"):
        with st.spinner(t("export.preparing", what=label)):
            payload = build()
        st.session_state[state] = ((signature, file_name), payload)
        st.rerun()
