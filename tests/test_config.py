"""The shipped Streamlit config stays locked down (reliability checklist B.14)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_binds_to_loopback_only():
    assert CONFIG["server"]["address"] == "127.0.0.1"


def test_xsrf_and_cors_protection_stay_on():
    assert CONFIG["server"].get("enableXsrfProtection", True) is True
    assert CONFIG["server"].get("enableCORS", True) is True


def test_no_tracebacks_in_the_browser():
    assert CONFIG["client"]["showErrorDetails"] in (False, "none")


def test_limits_and_quiet_server():
    assert CONFIG["server"]["maxUploadSize"] <= 100
    assert CONFIG["server"]["maxMessageSize"] <= 200
    assert CONFIG["server"].get("enableStaticServing", False) is False
    assert CONFIG["server"]["fileWatcherType"] == "none"
    assert CONFIG["server"].get("runOnSave", False) is False
    assert CONFIG["browser"]["gatherUsageStats"] is False
    assert "cookieSecret" not in CONFIG["server"], "the cookie secret must come from the environment"


def test_upload_limit_matches_the_importer():
    from lib.importing import MAX_FILE_BYTES

    assert MAX_FILE_BYTES == CONFIG["server"]["maxUploadSize"] * 1024 * 1024


def test_streamlit_pinned_above_advisory_floor():
    pins = dict(
        line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    major, minor, *_ = (int(x) for x in pins["streamlit"].split("."))
    assert (major, minor) >= (1, 54)


def test_workbooks_are_parsed_with_defused_xml():
    """Checklist C.29: openpyxl only refuses entity bombs when defusedxml is installed (it is pinned)."""
    import openpyxl

    assert openpyxl.DEFUSEDXML is True
