"""Shared test fixtures: a throw-away workspace, clean caches, the shared reference data.

Why: AppTest runs page files in this process, so Streamlit caches (and the
cached Workspace) would leak from one test to the next; every test that touches
the app gets a fresh workspace file and empty caches.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The repository root is on sys.path through pyproject.toml's pytest `pythonpath`, not patched in here.
ROOT = Path(__file__).resolve().parent.parent

# The app serialises charts without schema validation (lib.chart_specs.vega_lite_spec); under test every
# chart a page draws (AppTest, and the browser tests' server, which inherits this) is validated.
os.environ.setdefault("GROWTH_PLANNER_VALIDATE_CHARTS", "1")

SHARED_DATA = ROOT.parent / "shared" / "data"
CDNOW_PATH = SHARED_DATA / "cdnow" / "CDNOW_master.txt"
CDNOW_REFERENCE = SHARED_DATA / "cdnow" / "lifetimes_reference.csv"
ROBYN_PATH = SHARED_DATA / "robyn" / "robyn_dt_simulated_weekly.csv"


@pytest.fixture
def ws(tmp_path):
    """An empty workspace in a temporary file."""
    from lib.workspace import Workspace

    workspace = Workspace(tmp_path / "ws.duckdb")
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def sample_workspace_file(tmp_path_factory) -> Path:
    """A workspace with the sample store loaded, built once; tests copy it."""
    from lib.importing import load_sample_store
    from lib.workspace import Workspace

    path = tmp_path_factory.mktemp("template") / "sample.duckdb"
    workspace = Workspace(path)
    load_sample_store(workspace)
    workspace.close()
    return path


@pytest.fixture
def app_env(tmp_path, monkeypatch, sample_workspace_file):
    """Point the app at a fresh copy of the sample workspace and clear Streamlit's caches around the test."""
    import shutil

    import streamlit as st

    db = tmp_path / "app.duckdb"
    shutil.copyfile(sample_workspace_file, db)
    monkeypatch.setenv("GROWTH_PLANNER_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


def require(path: Path) -> Path:
    """Skip (with the reason) when shared reference data is absent."""
    if not path.exists():
        pytest.skip(f"reference data not found at {path}")
    return path
