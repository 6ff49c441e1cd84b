"""Shared AppTest fixtures for page tests.

``demo_db`` is a private copy of a small demo database (the demo sales plus
demo dossiers for the top 20 accounts), built once per run (``demo_db_template``
in ``tests/conftest.py``) and copied per test, so a test may write to it. ``app`` makes an ``AppTest`` of the whole
frame (``dashboard.py``) opened on one page, with ``KAM_AUTH=off`` (the local
director) unless a role is given (``KAM_AUTH_AS``, see kam_core/ui/signin.py).

    def test_x(app):
        at = app("app_pages/dossier.py", query={"account": "某某"}).run()   # the first run shows the Dossier
        assert not at.exception
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core_fixtures import app_factory


@pytest.fixture
def demo_db(demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database for one test (path to the file)."""
    path = tmp_path / "kam.duckdb"
    shutil.copyfile(demo_db_template, path)
    return path


@pytest.fixture
def app(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Factory: ``app(page=None, query=None, role=None) -> AppTest`` on the test's own ``demo_db``;
    call ``.run()`` on it (see ``core_fixtures.app_factory``)."""
    return app_factory(demo_db, monkeypatch)
