"""A browser-less Streamlit client that speaks the frontend's websocket protocol, for load tests.

Why: on a small machine a load test that drives Chromium measures Chromium — the
browsers take most of the CPU and the server starves. To the server this client
looks like the frontend (a few hundred kilobytes of Python per session): it fetches
the XSRF cookie from ``/_stcore/health``, opens ``/_stcore/stream`` with the token
in the websocket subprotocol, sends the same ``BackMsg`` the frontend sends
(``rerun_script`` with a ``ClientState``: query string, page, *all* current widget
values, cached message hashes, browser context; ``file_urls_request`` followed by an
HTTP PUT for an upload) and fetches media files over HTTP for downloads. What it keeps of the app is what a widget click
needs: the element tree rebuilt from the deltas (to find widgets by type and label
and read the text a user would see) and the frontend's widget values (defaults,
values the script set, values the "user" changed), pruned after each run the way
the frontend prunes them.

Only the widget types the Growth Planner's pages use are modelled for default
values (data editors and dataframe selections are not); for any other widget no
value is sent and the server keeps its own (the same outcome for a widget the user
never touched). Not modelled either: the JavaScript bundles a browser fetches once,
and rows of lazily loaded dataframes (noted in ``unmodelled`` if a page uses one).

Typical use::

    async with StreamlitClient("http://127.0.0.1:8501") as app:
        await app.connect()
        await app.open("data", "lang=en")                 # a cold load of /data?lang=en
        await app.upload("Order file (CSV, XLSX, Parquet)", "x.csv", data)
        await app.click("Check the file")                 # each action returns seconds to the end of its run
        print(app.alerts(Alert.ERROR), app.exceptions())
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Block_pb2 import Block
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import FileURLs, FileURLsResponse
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
ROOTS = {"main": 0, "sidebar": 1}
#: script_finished statuses that end a run chain (an st.rerun() ends a run with FINISHED_EARLY_FOR_RERUN).
_CHAIN_ENDS = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
               ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
DEFAULT_CACHE_AGE = 2  # the frontend's ForwardMsg cache keeps a message this many runs after its last use


class ScriptTimeout(TimeoutError):
    """The app did not finish a run within the allowed time."""


class ProtocolError(RuntimeError):
    """The server said something the client cannot follow (an unknown cached message, an upload refused, …)."""


@dataclass
class Node:
    """One entry of the element tree: an element or a block, stamped with the run that drew it."""

    element: Element | None
    block: Block | None
    run_id: str
    script_hash: str


# ----------------------------------------------------------------------------------------------
# Widget values as the frontend keeps them
# ----------------------------------------------------------------------------------------------


def widget_of(element: Element) -> tuple[str, Any] | None:
    """(element type, widget proto) when the element is a widget with an id, else None."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind) if kind else None
    if proto is None or not getattr(proto, "id", ""):
        return None
    return kind, proto


def _choice_state(state: WidgetState, proto: Any) -> WidgetState | None:
    """selectbox / radio: the formatted option (what the script set, else the default)."""
    if proto.set_value and proto.HasField("raw_value"):
        state.string_value = proto.raw_value
    elif proto.HasField("default") and 0 <= proto.default < len(proto.options):
        state.string_value = proto.options[proto.default]
    else:
        return None
    return state


def _multi_state(state: WidgetState, proto: Any, labels: list[str]) -> WidgetState | None:
    """multiselect / button_group (pills, segmented_control): formatted options."""
    if proto.set_value:
        values = list(proto.raw_values)
    else:
        values = [labels[int(i)] for i in proto.default if 0 <= int(i) < len(labels)]
    if not values and not proto.set_value:
        return None  # nothing selected: the frontend sends no value, which is not an explicit deselection
    state.string_array_value.data.extend(values)
    return state


def _slider_state(state: WidgetState, proto: Any) -> WidgetState:
    if proto.options:  # select_slider: formatted options
        values = list(proto.raw_value) if proto.set_value else [proto.options[int(i)] for i in proto.default]
        state.string_array_value.data.extend(values)
    else:
        state.double_array_value.data.extend(proto.value if proto.set_value else proto.default)
    return state


def _scalar_state(state: WidgetState, kind: str, proto: Any) -> WidgetState | None:
    if kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    elif kind in ("text_input", "text_area", "number_input"):
        value = proto.value if proto.set_value and proto.HasField("value") else (
            proto.default if proto.HasField("default") else None)
        if value is None:
            return None
        if kind == "number_input":
            state.double_value = value
        else:
            state.string_value = value
    elif kind == "date_input":
        state.string_array_value.data.extend(proto.value if proto.set_value else proto.default)
    else:
        return None
    return state


def initial_state(kind: str, proto: Any) -> WidgetState | None:
    """The value the frontend registers for a widget when it is drawn (None: it registers none we model)."""
    state = WidgetState(id=proto.id)
    if kind in ("selectbox", "radio"):
        return _choice_state(state, proto)
    if kind == "multiselect":
        return _multi_state(state, proto, list(proto.options))
    if kind == "button_group":
        return _multi_state(state, proto, [option.content for option in proto.options])
    if kind == "slider":
        return _slider_state(state, proto)
    return _scalar_state(state, kind, proto)


def element_texts(element: Element) -> Iterator[str]:
    """The user-visible text of an element (labels included), for trouble-text scans."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind) if kind else None
    if proto is None:
        return
    for name in ("body", "label", "message", "code_text", "text"):
        value = getattr(proto, name, None) if name in proto.DESCRIPTOR.fields_by_name else None
        if isinstance(value, str) and value:
            yield value


# ----------------------------------------------------------------------------------------------
# The client
# ----------------------------------------------------------------------------------------------


class StreamlitClient:
    """One browser tab's worth of Streamlit session over the websocket protocol."""

    def __init__(self, base_url: str, *, locale: str = "en-US", timeout_s: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.locale = locale
        self.timeout_s = timeout_s
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)
        self.http_errors: list[str] = []
        self.session_id = ""
        self.query_string = ""
        self.page_script_hash = ""
        self.main_script_hash = ""
        self.run_id = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash, from st.navigation
        self.runs_started = 0
        self.compile_errors: list[str] = []
        self.protocol_errors: list[str] = []
        self.unmodelled: set[str] = set()  # things the frontend would do that this client does not (see _on_delta)
        self.tree: dict[tuple[int, ...], Node] = {}
        self.values: dict[str, WidgetState] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._xsrf = ""
        self._chain_end: asyncio.Future[int] | None = None
        self._url_requests: dict[str, asyncio.Future[FileURLsResponse]] = {}
        self._cache: dict[str, list[Any]] = {}  # hash -> [ForwardMsg, run count when last used]
        self._cache_age = DEFAULT_CACHE_AGE
        self._finished_runs = 0
        self.downloads: dict[str, bytes] = {}  # file name -> content, of every download fetched
        self.cache_hits = 0  # messages the server sent as a reference to one this client had cached
        self.bytes_received = 0
        self.closed_reason = ""

    async def __aenter__(self) -> StreamlitClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # ---- connection ------------------------------------------------------------------------
    async def connect(self, page_url: str = "/") -> None:
        """As a browser: the page's HTML, then as the frontend: health (sets the XSRF cookie), host config and the
        websocket. (The JavaScript bundles a browser would also fetch once are left out.)"""
        await self._get(page_url)
        await self._get("/_stcore/health")
        await self._get("/_stcore/host-config")
        self._xsrf = self.http.cookies.get(XSRF_COOKIE) or ""
        ws_url = "ws" + self.base_url[len("http"):] + "/_stcore/stream"
        headers = {"Cookie": f"{XSRF_COOKIE}={self._xsrf}"} if self._xsrf else {}
        protocols = ["streamlit", self._xsrf] if self._xsrf else ["streamlit"]
        self._ws = await connect(ws_url, origin=self.base_url, subprotocols=protocols,  # type: ignore[arg-type]
                                 additional_headers=headers, max_size=None, ping_interval=None,
                                 open_timeout=self.timeout_s, close_timeout=5)
        self._reader = asyncio.create_task(self._read_loop(), name="st-ws-reader")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.aclose()

    async def _get(self, path: str) -> httpx.Response:
        response = await self.http.get(path)
        self._note_http(response)
        return response

    def _note_http(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            self.http_errors.append(f"{response.status_code} {response.request.method} {response.url.path[-80:]}")

    # ---- user actions (each returns the seconds until the app finished the resulting run chain) ----
    async def open(self, page_name: str = "", query: str = "", timeout_s: float | None = None) -> float:
        """The first run after connecting: a cold load of ``/<page_name>?<query>``."""
        self.query_string = query
        return await self._rerun(page_name=page_name, widgets=[], timeout_s=timeout_s)

    async def rerun(self, *, page_script_hash: str | None = None, query: str | None = None) -> float:
        """Run a page again with every current value (the current page and URL unless given), as the menu's Rerun."""
        if query is not None:
            self.query_string = query
        return await self._rerun(page_script_hash=page_script_hash, widgets=list(self.values.values()))

    async def click(self, label: str, *, contains: bool = False, root: str = "main", key: str | None = None) -> float:
        """Press a button: all current values plus the button's trigger."""
        _, proto = self.find("button", label, contains=contains, root=root, key=key)
        return await self._rerun(widgets=[*self.values.values(), WidgetState(id=proto.id, trigger_value=True)])

    async def set_slider(self, label: str, values: list[float], *, root: str = "main") -> float:
        """Drag a (numeric) slider to ``values`` (one value, or two for a range)."""
        _, proto = self.find("slider", label, root=root)
        state = WidgetState(id=proto.id)
        state.double_array_value.data.extend(values)
        return await self._change(state)

    async def select(self, label: str, option: str, *, root: str = "main") -> float:
        """Pick an option of a selectbox or radio by its displayed text."""
        _, proto = self.find(("selectbox", "radio"), label, root=root)
        if option not in proto.options:
            raise LookupError(f"{label!r} has no option {option!r} (options: {list(proto.options)[:10]})")
        return await self._change(WidgetState(id=proto.id, string_value=option))

    async def go_to(self, label: str, *, root: str = "sidebar") -> float:
        """Follow an st.page_link: the target page, the link's query string, the main script's widgets only."""
        _, link = self.find("page_link", label, root=root)
        keep = self._widget_ids(lambda node: node.script_hash == self.main_script_hash)
        self.query_string = link.query_string
        return await self._rerun(page_script_hash=link.page_script_hash,
                                 widgets=[state for i, state in self.values.items() if i in keep])

    async def upload(self, label: str, file_name: str, data: bytes, mime: str = "text/csv") -> float:
        """As a file dropped on an st.file_uploader: ask for an upload URL, PUT the file, then rerun."""
        _, proto = self.find("file_uploader", label)
        started = time.perf_counter()
        urls = await self._file_urls([file_name])
        response = await self.http.put(urljoin(self.base_url + "/", urls.upload_url.lstrip("/")),
                                       files={"file": (file_name, data, mime)}, headers={"X-Xsrftoken": self._xsrf})
        self._note_http(response)
        if response.status_code >= 300:
            raise ProtocolError(f"upload refused: HTTP {response.status_code} {response.text[:200]}")
        state = WidgetState(id=proto.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = file_name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        await self._change(state)
        return time.perf_counter() - started

    async def download(self, label: str, *, root: str = "main") -> tuple[str, bytes]:
        """Fetch what an st.download_button serves (its media URL), as the browser does on click."""
        _, proto = self.find("download_button", label, root=root)
        if not proto.url:
            raise ProtocolError(f"download button {label!r} has no URL (deferred downloads are not modelled)")
        response = await self.http.get(urljoin(self.base_url + "/", proto.url.lstrip("/")))
        self._note_http(response)
        if response.status_code != 200:
            raise ProtocolError(f"download {proto.url} answered HTTP {response.status_code}")
        disposition = response.headers.get("content-disposition", "")
        name = disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else proto.url
        self.downloads[name] = response.content
        return name, response.content

    async def _change(self, state: WidgetState) -> float:
        """A widget the user changed: store its new value and rerun with all values."""
        self.values[state.id] = state
        return await self._rerun(widgets=list(self.values.values()))

    # ---- reading ---------------------------------------------------------------------------
    def nodes(self, root: str | None = None) -> Iterator[Node]:
        """The tree's entries in page order, optionally only under "main" or "sidebar"."""
        wanted = ROOTS.get(root) if root else None
        for path in sorted(self.tree):
            if wanted is None or path[0] == wanted:
                yield self.tree[path]

    def elements(self, kind: str | tuple[str, ...], root: str | None = None) -> Iterator[tuple[str, Any]]:
        """(type, proto) of every element of the given type(s), in page order."""
        kinds = (kind,) if isinstance(kind, str) else kind
        for node in self.nodes(root):
            found = node.element.WhichOneof("type") if node.element is not None else None
            if found in kinds:
                yield found, getattr(node.element, found)

    def find(self, kind: str | tuple[str, ...], label: str, *, contains: bool = False,
             root: str | None = "main", key: str | None = None) -> tuple[str, Any]:
        """(type, proto) of the first element of ``kind`` whose label is ``label`` (or contains it).

        ``key`` narrows the search to the widget created with that key (two panels may show the same label).
        """
        for found, proto in self.elements(kind, root):
            if key is not None and not getattr(proto, "id", "").endswith(f"-{key}"):
                continue
            if label in proto.label if contains else proto.label == label:
                return found, proto
        shown = [proto.label for _, proto in self.elements(kind, root)][:15]
        raise LookupError(f"no {kind} labelled {label!r} in {root or 'the app'} (there are: {shown})")

    def value_of(self, widget_id: str) -> WidgetState | None:
        """The value the client would send for a widget (None: it sends none)."""
        return self.values.get(widget_id)

    def texts(self) -> list[str]:
        """Every text the page shows (bodies, labels, messages, expander and tab labels), in page order."""
        out: list[str] = []
        for node in self.nodes():
            if node.element is not None:
                out.extend(element_texts(node.element))
            elif node.block is not None and node.block.WhichOneof("type") in ("expandable", "tab"):
                out.append(getattr(node.block, node.block.WhichOneof("type")).label)
        return out

    def alerts(self, fmt: int) -> list[str]:
        """Bodies of the st.error / st.warning / st.info / st.success boxes of one ``Alert.Format``."""
        return [alert.body for _, alert in self.elements("alert") if alert.format == fmt]

    def exceptions(self) -> list[str]:
        """Exception elements on the page and script compilation errors, as short lines."""
        found = [f"{e.type}: {e.message}"[:300] for _, e in self.elements("exception")]
        return found + self.compile_errors

    # ---- the protocol ----------------------------------------------------------------------
    async def _send(self, msg: BackMsg) -> None:
        if self._ws is None:
            raise ProtocolError("not connected")
        await self._ws.send(msg.SerializeToString())

    def client_state(self, *, page_script_hash: str, page_name: str, widgets: list[WidgetState]) -> ClientState:
        """What the frontend sends with a rerun: the URL, the page, the widget values and the cached messages."""
        state = ClientState(query_string=self.query_string, page_script_hash=page_script_hash, page_name=page_name)
        state.widget_states.widgets.extend(widgets)
        state.cached_message_hashes.extend(self._cache)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, self.locale
        path = page_name or next((p for p, h in self.pages.items() if h == page_script_hash), "")
        info.url = f"{self.base_url}/{path}" + (f"?{self.query_string}" if self.query_string else "")
        info.is_embedded, info.color_scheme = False, "light"
        return state

    async def _rerun(self, *, widgets: list[WidgetState], page_script_hash: str | None = None, page_name: str = "",
                     timeout_s: float | None = None) -> float:
        """Send rerun_script and wait for the run chain to end (through any st.rerun() follow-up runs)."""
        msg = BackMsg()
        msg.rerun_script.CopyFrom(self.client_state(
            page_script_hash=self.page_script_hash if page_script_hash is None else page_script_hash,
            page_name=page_name, widgets=widgets))
        self._chain_end = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        await self._send(msg)
        limit = timeout_s or self.timeout_s
        try:
            await asyncio.wait_for(asyncio.shield(self._chain_end), limit)
        except TimeoutError as exc:
            raise ScriptTimeout(f"the script did not finish within {limit:.0f} s") from exc
        return time.perf_counter() - started

    async def _file_urls(self, file_names: list[str]) -> FileURLs:
        request_id = uuid.uuid4().hex
        future = self._url_requests[request_id] = asyncio.get_running_loop().create_future()
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.session_id = self.session_id
        msg.file_urls_request.file_names.extend(file_names)
        await self._send(msg)
        response = await asyncio.wait_for(future, self.timeout_s)
        if response.error_msg or not response.file_urls:
            raise ProtocolError(f"no upload URL: {response.error_msg or 'empty answer'}")
        return response.file_urls[0]

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                data = frame if isinstance(frame, bytes) else frame.encode()
                self.bytes_received += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.handle(msg)
        except ConnectionClosed as exc:
            self.closed_reason = f"websocket closed: {exc}"
        except Exception as exc:  # noqa: BLE001 - a broken reader must fail the waiting action, not hang it
            self.closed_reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.closed_reason = self.closed_reason or "websocket closed"
            self._fail_waiters(ProtocolError(self.closed_reason))

    def _fail_waiters(self, error: Exception) -> None:
        for future in [self._chain_end, *self._url_requests.values()]:
            if future is not None and not future.done():
                future.set_exception(error)

    def handle(self, msg: ForwardMsg) -> None:
        """Apply one message from the server to this client's view of the page (the read loop's work; a test
        feeds hand-made messages through it)."""
        if msg.WhichOneof("type") == "ref_hash":
            msg = self._from_cache(msg)
        elif msg.metadata.cacheable:
            self._cache[msg.hash] = [msg, self._finished_runs]
        handler = self._HANDLERS.get(msg.WhichOneof("type") or "")
        if handler is not None:
            handler(self, msg)

    def _from_cache(self, ref: ForwardMsg) -> ForwardMsg:
        entry = self._cache.get(ref.ref_hash)
        if entry is None:
            self.protocol_errors.append(f"unknown cached message {ref.ref_hash}")
            return ForwardMsg()
        entry[1] = self._finished_runs
        self.cache_hits += 1
        msg = ForwardMsg()
        msg.CopyFrom(entry[0])
        msg.metadata.CopyFrom(ref.metadata)
        return msg

    def _on_new_session(self, msg: ForwardMsg) -> None:
        session = msg.new_session
        self.session_id = session.initialize.session_id or self.session_id
        self.main_script_hash = session.main_script_hash
        self.run_id = msg.metadata.run.script_run_id
        self._cache_age = session.config.max_cached_message_age or DEFAULT_CACHE_AGE
        self.runs_started += 1

    def _on_delta(self, msg: ForwardMsg) -> None:
        path = tuple(msg.metadata.delta_path)
        delta = msg.delta
        kind = delta.WhichOneof("type")
        if kind == "new_element":
            old = self.tree.get(path)
            if old is not None and old.block is not None:  # an element replaces a block and all it held
                self.tree = {p: n for p, n in self.tree.items() if p[:len(path)] != path}
            self.tree[path] = Node(delta.new_element, None, self.run_id, msg.metadata.active_script_hash)
            self._adopt_widget(delta.new_element)
            element = delta.new_element
            if element.WhichOneof("type") == "dataframe" and element.dataframe.HasField("lazy_data"):
                self.unmodelled.add("lazy dataframe: the frontend would fetch its rows, this client does not")
        elif kind == "add_block":
            self.tree[path] = Node(None, delta.add_block, self.run_id, msg.metadata.active_script_hash)

    def _adopt_widget(self, element: Element) -> None:
        """A widget drawn: the frontend takes a value the script set, else keeps its own, else the default."""
        found = widget_of(element)
        if found is None:
            return
        kind, proto = found
        if getattr(proto, "set_value", False) or proto.id not in self.values:
            state = initial_state(kind, proto)
            if state is not None:
                self.values[proto.id] = state

    def _on_script_finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        if status == ForwardMsg.FINISHED_SUCCESSFULLY:
            self._clear_stale()
        if status in _CHAIN_ENDS:
            self._finished_runs += 1
            self._cache = {h: e for h, e in self._cache.items() if self._finished_runs - e[1] <= self._cache_age}
            if self._chain_end is not None and not self._chain_end.done():
                self._chain_end.set_result(status)

    def _clear_stale(self) -> None:
        """After a full run: drop what this run did not draw, and the values of widgets no longer shown."""
        self.tree = {p: n for p, n in self.tree.items() if n.run_id == self.run_id}
        active = self._widget_ids(lambda _node: True)
        self.values = {i: state for i, state in self.values.items() if i in active}

    def _widget_ids(self, keep: Callable[[Node], bool]) -> set[str]:
        ids = set()
        for node in self.tree.values():
            found = widget_of(node.element) if node.element is not None and keep(node) else None
            if found is not None:
                ids.add(found[1].id)
        return ids

    def _on_navigation(self, msg: ForwardMsg) -> None:
        """st.navigation says which page this run shows: a plain rerun asks for that page again."""
        self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        self.pages = {page.url_pathname: page.page_script_hash for page in msg.navigation.app_pages}

    def _on_page_info(self, msg: ForwardMsg) -> None:
        self.query_string = msg.page_info_changed.query_string

    def _on_file_urls(self, msg: ForwardMsg) -> None:
        future = self._url_requests.pop(msg.file_urls_response.response_id, None)
        if future is not None and not future.done():
            future.set_result(msg.file_urls_response)

    def _on_session_event(self, msg: ForwardMsg) -> None:
        if msg.session_event.HasField("script_compilation_exception"):
            error = msg.session_event.script_compilation_exception
            self.compile_errors.append(f"{error.type}: {error.message}"[:300])

    def _on_page_not_found(self, msg: ForwardMsg) -> None:
        self.protocol_errors.append(f"page not found: {msg.page_not_found.page_name!r}")

    _HANDLERS: dict[str, Callable[[StreamlitClient, ForwardMsg], None]] = {
        "new_session": _on_new_session,
        "delta": _on_delta,
        "script_finished": _on_script_finished,
        "navigation": _on_navigation,
        "page_info_changed": _on_page_info,
        "file_urls_response": _on_file_urls,
        "session_event": _on_session_event,
        "page_not_found": _on_page_not_found,
    }
