"""A failure inside a page: the user sees a short message with an error id; the trace goes to the log."""
from __future__ import annotations

import logging
import re
import tomllib

from core_fixtures import ROOT, fixture_db, fixture_db_file, open_page  # noqa: F401

SECRET_DETAIL = "/srv/kam/internal/path.py line 42"


def _break_rankings(monkeypatch) -> None:
    from kam_core.ui import context

    def broken(ctx, year=None):
        raise RuntimeError(SECRET_DETAIL)

    monkeypatch.setattr(context, "tier_table", broken)


def test_a_failing_page_shows_an_error_id_in_the_users_language_and_logs_the_trace(fixture_db, monkeypatch,
                                                                                   caplog):
    at = open_page()
    _break_rankings(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="kam_core.dashboard"):
        at.switch_page("app_pages/rankings.py").run()
    assert not at.exception                                   # Streamlit itself shows nothing
    [message] = [e.value for e in at.error]
    found = re.search(r"错误编号：([0-9a-f]{8})", message)
    assert found, message
    assert SECRET_DETAIL not in message and "RuntimeError" not in message
    [record] = [r for r in caplog.records if r.name == "kam_core.dashboard"]
    assert found.group(1) in record.getMessage()
    assert record.exc_info and SECRET_DETAIL in str(record.exc_info[1])   # the trace is in the log


def test_the_error_message_follows_the_english_page(fixture_db, monkeypatch):
    at = open_page(lang="en")
    _break_rankings(monkeypatch)
    at.switch_page("app_pages/rankings.py").run()
    [message] = [e.value for e in at.error]
    assert re.search(r"Error id: [0-9a-f]{8}\.", message), message


def test_streamlit_is_configured_to_send_no_exception_details_to_the_browser():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
