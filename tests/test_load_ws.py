"""The websocket load test still drives the app end to end, and its client still sees failures.

Why: ``bench/load_ws.py`` is a benchmark, and a benchmark whose client has drifted
from the app (a renamed button, a protocol change in a Streamlit upgrade) or that
no longer notices an error reports nonsense with a straight face. The first test
runs two concurrent sessions through the whole journey against a real server and
then checks the outcome independently of the client: the workspace file must hold
both imported datasets and the downloads must be workbooks openpyxl opens. The
others feed the client hand-made server messages to show that an exception element,
an error message or a lock text fails a session, and that widget values follow the
frontend's rules.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bench import load_ws
from bench.load_test import SessionResult
from bench.ws_client import StreamlitClient
from lib.i18n import t
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from tests.browser.driver import StreamlitServer

SESSIONS = 2


async def _warm_and_run(server: StreamlitServer, keep: Path) -> list[SessionResult]:
    await load_ws.first_visit(server.base_url)
    run_id = f"{int(time.time()) % 100000:05d}"
    return await load_ws.run_wave(server.base_url, SESSIONS, run_id, load_ws.Pacing(stagger_s=0.5), keep)


def test_two_concurrent_sessions_complete_the_journey(tmp_path):
    from lib.workspace import Workspace

    keep = tmp_path / "downloads"
    keep.mkdir()
    server = StreamlitServer("loadws-test", tmp_path / "server").start()
    try:
        # In its own thread: the browser tests' session-wide Playwright keeps an event loop running here.
        with ThreadPoolExecutor(max_workers=1) as pool:
            results = pool.submit(asyncio.run, _warm_and_run(server, keep)).result()
        log = server.log_tail(40)
    finally:
        server.stop()

    for result in results:
        assert result.ok, f"session {result.session} failed at {result.failed_step}: {result.error} " \
                          f"{result.trouble}\n{log}"
        assert [name for name, _ in load_ws.JOURNEY] == [s for s in result.steps if s != "connect"]
    workbooks = sorted(keep.glob("*.xlsx"))
    assert len(workbooks) == SESSIONS, [p.name for p in keep.iterdir()]
    for path in workbooks:
        assert path.read_bytes()[:2] == b"PK"
        assert load_workbook(path, read_only=True).sheetnames, path.name

    workspace = Workspace(server.db_path)  # the server has stopped: read what it wrote
    try:
        datasets = {d.name: d for d in workspace.list_datasets()}
    finally:
        workspace.close()
    for result in results:
        assert result.dataset in datasets, sorted(datasets)
        assert datasets[result.dataset].orders > 0
        assert datasets[result.dataset].channel_rows > 0


async def _two_reused_waves(server: StreamlitServer) -> list[SessionResult]:
    await load_ws.first_visit(server.base_url)
    pacing = load_ws.Pacing(stagger_s=0.5, reuse_datasets=True)
    first = await load_ws.run_wave(server.base_url, SESSIONS, "r1", pacing)
    return first + await load_ws.run_wave(server.base_url, SESSIONS, "r2", pacing)


def test_a_soak_with_reused_datasets_replaces_instead_of_growing(tmp_path):
    """--reuse-datasets: the second wave imports into the first wave's datasets, replacing their rows."""
    from lib.workspace import Workspace

    server = StreamlitServer("loadws-reuse", tmp_path / "server").start()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            results = pool.submit(asyncio.run, _two_reused_waves(server)).result()
        log = server.log_tail(40)
    finally:
        server.stop()
    assert all(r.ok for r in results), [(r.failed_step, r.error, r.trouble) for r in results if not r.ok] + [log]
    workspace = Workspace(server.db_path)
    try:
        reused = {d.name: d for d in workspace.list_datasets() if d.name.startswith(load_ws.REUSED_PREFIX)}
    finally:
        workspace.close()
    assert sorted(reused) == [load_ws.dataset_name("", i, load_ws.Pacing(reuse_datasets=True)) for i in range(SESSIONS)]
    one_import = len(load_ws.channel_csv(0).splitlines()) - 1
    assert all(d.channel_rows == one_import for d in reused.values()), "channel rows replaced, not appended"


# ---- the client notices trouble and keeps widget values as the frontend does -------------------------------


def _feed(client: StreamlitClient, path: list[int], fill) -> ForwardMsg:
    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    fill(msg.delta.new_element)
    client.handle(msg)
    return msg


def _start_run(client: StreamlitClient, run_id: str) -> None:
    msg = ForwardMsg()
    msg.metadata.run.script_run_id = run_id
    msg.new_session.initialize.session_id = "s1"
    client.handle(msg)


def _finish_run(client: StreamlitClient) -> None:
    msg = ForwardMsg()
    msg.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    client.handle(msg)


def _client() -> StreamlitClient:
    client = StreamlitClient("http://127.0.0.1:9")  # never connected
    _start_run(client, "run1")
    return client


def test_an_exception_element_fails_the_step():
    client = _client()
    _feed(client, [0, 0], lambda e: setattr(e.exception, "message", "boom"))
    with pytest.raises(RuntimeError, match="exception element"):
        load_ws.check_page(client, SessionResult(0, "x"), "segments")


def test_an_error_message_fails_the_step_and_a_lock_text_is_noted():
    client = _client()
    lock = "Conflicting lock is held in /data/workspace.duckdb"

    def error(element):
        element.alert.body = lock
        element.alert.format = Alert.ERROR

    _feed(client, [0, 0], error)
    result = SessionResult(0, "x")
    with pytest.raises(RuntimeError, match="error shown"):
        load_ws.check_page(client, result, "import")
    assert result.trouble == ["import: conflicting lock"]


def test_a_clean_page_passes():
    client = _client()
    _feed(client, [0, 0], lambda e: setattr(e.markdown, "body", t("data.check_hint", "en")))
    result = SessionResult(0, "x")
    load_ws.check_page(client, result, "check")
    assert result.trouble == []


def test_widget_values_follow_the_frontend():
    """Defaults on first sight, the user's value kept, a value the script sets wins, gone widgets forgotten."""
    client = _client()

    def selectbox(set_value: str | None):
        def fill(element):
            element.selectbox.id, element.selectbox.label = "w1", "Dataset"
            element.selectbox.options.extend(["a", "b", "c"])
            element.selectbox.default = 0
            if set_value is not None:
                element.selectbox.raw_value, element.selectbox.set_value = set_value, True
        return fill

    _feed(client, [1, 0], selectbox(None))
    assert client.value_of("w1").string_value == "a"
    client.values["w1"].string_value = "b"  # the user picked b
    _finish_run(client)
    _start_run(client, "run2")
    _feed(client, [1, 0], selectbox(None))
    assert client.value_of("w1").string_value == "b"
    _feed(client, [1, 0], selectbox("c"))  # the script set c through session state
    assert client.value_of("w1").string_value == "c"
    _feed(client, [0, 0], lambda e: setattr(e.markdown, "body", "x"))
    _finish_run(client)
    _start_run(client, "run3")
    _feed(client, [0, 0], lambda e: setattr(e.markdown, "body", "y"))  # the selectbox is not drawn any more
    _finish_run(client)
    assert client.value_of("w1") is None
    assert [n.element.markdown.body for n in client.nodes()] == ["y"]


def test_a_cached_message_is_resolved_from_the_clients_cache():
    client = _client()
    original = _feed(client, [0, 0], lambda e: setattr(e.markdown, "body", "big table"))
    original.hash, original.metadata.cacheable = "h1", True
    client.handle(original)
    assert "h1" in client.client_state(page_script_hash="", page_name="", widgets=[]).cached_message_hashes
    ref = ForwardMsg()
    ref.ref_hash = "h1"
    ref.metadata.delta_path.extend([0, 1])
    client.handle(ref)
    assert [n.element.markdown.body for n in client.nodes("main")] == ["big table", "big table"]
    assert client.cache_hits == 1 and not client.protocol_errors
